/**
 * A local folder, recursively, as one change: its contents land at `dest` in the branch,
 * in the branch's open session or in a commit of its own. Files are sent to the metadata
 * API in batches (ops and the objects they refer to); small files are read in groups with
 * one index lookup per group. When the put opened the session itself, a failure aborts
 * it: nothing of the folder stays behind.
 */
import { createReadStream, promises as fsp } from 'node:fs'
import path from 'node:path'
import pLimit from 'p-limit'
import type { MetaApi, ModifyResult, NewObject, StoreConfig, WriteOp } from '../api/meta.js'
import type { PutOptions } from '../api/pfs.js'
import { PfsError, isPfsError } from '../api/errors.js'
import { joinPath } from '../api/names.js'
import { type Tick, throttle } from '../api/progress.js'
import type { ObjectStore } from '../objects/object-store.js'
import { ChunkWriter } from './chunk-writer.js'

/** Ops (and new objects) are sent to the metadata API in batches of this many files or bytes. */
const BATCH_FILES = 2000
const BATCH_BYTES = 256 << 20
/** Small files read at once, and per index lookup. */
const SMALL_READS = 16
const SMALL_GROUP = 512

interface LocalEntry {
  rel: string
  kind: 'file' | 'dir' | 'link'
  size: number
  mode: number
  mtime: number
  target?: string
}

export interface TreeTarget { meta: MetaApi, objects: ObjectStore, config: StoreConfig }

export async function putTree (
  s: TreeTarget, repo: string, branch: string, dest: string, local: string, opts: PutOptions
): Promise<ModifyResult> {
  const files = await scanLocal(local)
  const ownSession = await needsSession(s.meta, repo, branch)
  if (ownSession) await s.meta.startCommit(repo, branch, { message: opts.message })
  try {
    const result = await new TreePut(s, repo, branch, dest, local, files, opts).run()
    if (!ownSession) return result
    if (opts.keepOpen === true) return { commit: result.commit, finished: false }
    return { commit: await s.meta.finishCommit(repo, branch, { message: opts.message }), finished: true }
  } catch (e) {
    if (!ownSession) throw e
    try {
      await s.meta.abortCommit(repo, branch)
    } catch (abortError) {
      throw sessionLeftOpen(e, abortError, repo, branch)
    }
    throw e
  }
}

/** One folder put in progress: the ops and objects of the batch not sent yet. */
class TreePut {
  private readonly writer: ChunkWriter
  private readonly tick: Tick
  private readonly reads = pLimit(SMALL_READS)
  private ops: WriteOp[] = []
  private small: LocalEntry[] = []
  private batchBytes = 0
  private bytes = 0
  private done = 0
  private result: ModifyResult | undefined
  private readonly totalBytes: number

  constructor (
    private readonly s: TreeTarget,
    private readonly repo: string,
    private readonly branch: string,
    private readonly dest: string,
    private readonly local: string,
    private readonly files: LocalEntry[],
    opts: PutOptions
  ) {
    this.writer = new ChunkWriter(s.meta, s.objects, s.config)
    this.tick = throttle(opts.onProgress)
    this.totalBytes = files.reduce((a, f) => a + f.size, 0)
    if (dest !== '') this.ops.push({ op: 'mkdir', path: dest, parents: true })
  }

  async run (): Promise<ModifyResult> {
    const small = this.s.config.chunking.min
    for (const f of this.files) {
      const target = joinPath(this.dest, f.rel)
      if (f.kind === 'dir') this.ops.push({ op: 'mkdir', path: target, mode: f.mode, mtime: f.mtime, parents: true })
      else if (f.kind === 'link') this.ops.push({ op: 'symlink', path: target, target: f.target ?? '', mtime: f.mtime })
      else if (f.size <= small) {
        this.small.push(f)
        if (this.small.length >= SMALL_GROUP) await this.sendSmall()
      } else {
        await this.putLarge(f, target)
      }
      if (this.ops.length >= BATCH_FILES || this.batchBytes >= BATCH_BYTES) await this.send()
    }
    await this.send()
    this.progress(true)
    return this.result as ModifyResult
  }

  private progress (final = false): void {
    this.tick({
      phase: 'put', done: this.done, total: this.files.length, bytes: this.bytes, totalBytes: this.totalBytes
    }, final)
  }

  private async putLarge (f: LocalEntry, target: string): Promise<void> {
    const src = createReadStream(path.join(this.local, f.rel), { highWaterMark: 1 << 20 })
    const chunks = await this.writer.writeStream(src, n => { this.bytes += n; this.progress() })
    this.ops.push({ op: 'put', path: target, chunks, mode: f.mode, mtime: f.mtime })
    this.batchBytes += f.size
    this.done++
  }

  /** Small files in a group: read together, one index lookup for the group. */
  private async sendSmall (): Promise<void> {
    const group = this.small
    this.small = []
    const datas = await this.reads.map(group, async f => await fsp.readFile(path.join(this.local, f.rel)))
    // A file that grew since the scan is no longer small: chunk it as a stream.
    const min = this.s.config.chunking.min
    const refs = await this.writer.writeSmall(datas.map(d => d.length <= min ? d : Buffer.alloc(0)))
    for (const [i, d] of datas.entries()) if (d.length > min) refs[i] = await this.writer.writeStream(once(d))
    group.forEach((f, i) => {
      this.ops.push({ op: 'put', path: joinPath(this.dest, f.rel), chunks: refs[i], mode: f.mode, mtime: f.mtime })
      this.bytes += datas[i].length
      this.batchBytes += datas[i].length
      this.done++
    })
    this.progress()
  }

  private async send (): Promise<void> {
    await this.sendSmall()
    const objects: NewObject[] = await this.writer.takeObjects()
    this.result = await this.s.meta.modify(this.repo, this.branch, this.ops, { objects, keepOpen: true })
    this.ops = []
    this.batchBytes = 0
  }
}

async function needsSession (meta: MetaApi, repo: string, branch: string): Promise<boolean> {
  try {
    return (await meta.inspectBranch(repo, branch)).open === null
  } catch (e) {
    if (isPfsError(e, 'NOT_FOUND')) { await meta.inspectRepo(repo); return true }
    throw e
  }
}

/** The put failed and so did discarding its session: say both, and how to clean up. */
function sessionLeftOpen (e: unknown, abortError: unknown, repo: string, branch: string): PfsError {
  const why = (x: unknown): string => x instanceof Error ? x.message : String(x)
  return new PfsError(isPfsError(abortError) ? abortError.code : 'CONFLICT',
    `put into ${repo}@${branch} failed (${why(e)}), ` +
    `and its write session could not be discarded (${why(abortError)}); ` +
    `run \`pfs abort ${repo}@${branch}\` before putting again`, { repo, branch }, e)
}

/** Every entry below a local folder, parents before children, sorted. */
async function scanLocal (root: string): Promise<LocalEntry[]> {
  const out: LocalEntry[] = []
  const visit = async (rel: string): Promise<void> => {
    const names = (await fsp.readdir(path.join(root, rel))).sort()
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`
      const full = path.join(root, r)
      const st = await fsp.lstat(full)
      const base = { rel: r, size: st.size, mode: st.mode & 0o7777, mtime: st.mtimeMs }
      if (st.isDirectory()) {
        out.push({ ...base, kind: 'dir', size: 0 })
        await visit(r)
      } else if (st.isSymbolicLink()) {
        out.push({ ...base, kind: 'link', target: await fsp.readlink(full) })
      } else if (st.isFile()) {
        out.push({ ...base, kind: 'file' })
      }
    }
  }
  await visit('')
  return out
}

export async function * once (b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b
}
