/**
 * A local folder, recursively, as one change: its contents land at `dest` in the branch,
 * in the branch's open session or in a commit of its own, all at once. A folder that fits
 * in one batch goes in one `modify`; a bigger one sends its batches (ops and the objects
 * they refer to) to a stage no branch shows, and one `modify` merges the stage at the end.
 * So a put that fails or is killed leaves nothing behind in the branch: no session, no
 * half folder, no new branch. Small files are read in groups with one index lookup each.
 */
import { createReadStream, promises as fsp } from 'node:fs'
import path from 'node:path'
import pLimit from 'p-limit'
import type { Stats } from 'node:fs'
import type { EntryMeta, MetaApi, ModifyResult, SpecialKind, StageOp, StoreConfig, WriteOp } from '../api/meta.js'
import type { PutOptions } from '../api/pfs.js'
import { joinPath } from '../api/names.js'
import { type Tick, throttle } from '../api/progress.js'
import type { ObjectStore } from '../objects/object-store.js'
import { ChunkWriter } from './chunk-writer.js'

/** Ops (and new objects) are sent to the metadata API in batches of this many files or bytes. */
const BATCH_FILES = 2000
const BATCH_BYTES = 256 << 20
/** Small files read at once, and per index lookup. */
const SMALL_READS = 32
/** lstat calls in flight while scanning a folder, and names stat'ed per slice. */
const SCAN_STATS = 32
const SCAN_SLICE = 1024
const SMALL_GROUP = 512

interface LocalEntry {
  rel: string
  kind: 'file' | 'dir' | 'link' | SpecialKind
  size: number
  mode: number
  mtime: number
  target?: string
  rdev?: number
  /** Owner, kept when root puts (as `tar` and `cp -a` keep owners only for root). */
  owner: EntryMeta
}

/**
 * A local file's owner, to record when the caller is root (others cannot give files
 * away, so theirs are theirs); like the mount, only what differs from the caller's own
 * uid and gid is recorded (absent: whoever mounts or reads the store).
 */
export function ownerOf (st: Stats): EntryMeta {
  if (process.getuid?.() !== 0) return {}
  // null: no owner, and not the owner of a file this one replaces
  return { uid: st.uid === 0 ? null : st.uid, gid: st.gid === process.getgid?.() ? null : st.gid }
}

/** The kind of a local special file, if pfs keeps that kind (devices: for root only). */
function specialOf (st: Stats): SpecialKind | undefined {
  if (st.isFIFO()) return 'fifo'
  if (st.isSocket()) return 'socket'
  if (process.getuid?.() !== 0) return undefined
  if (st.isCharacterDevice()) return 'chardev'
  if (st.isBlockDevice()) return 'blockdev'
  return undefined
}

export interface TreeTarget { meta: MetaApi, objects: ObjectStore, config: StoreConfig }

export async function putTree (
  s: TreeTarget, repo: string, branch: string, dest: string, local: string, opts: PutOptions
): Promise<ModifyResult> {
  await s.meta.inspectRepo(repo) // a missing repo is said before anything is read or written
  const files = await scanLocal(local)
  const put = new TreePut(s, repo, branch, dest, local, files, opts)
  try {
    return await put.run()
  } catch (e) {
    await put.abandon()
    throw e
  }
}

/** One folder put in progress: the ops and objects of the batch not sent yet. */
class TreePut {
  private readonly writer: ChunkWriter
  private readonly tick: Tick
  private readonly reads = pLimit(SMALL_READS)
  private ops: StageOp[] = []
  private small: LocalEntry[] = []
  /** The stage that holds the batches sent so far, once there are some. */
  private stageId: string | undefined
  private batchBytes = 0
  private bytes = 0
  private done = 0
  private readonly totalBytes: number

  constructor (
    private readonly s: TreeTarget,
    private readonly repo: string,
    private readonly branch: string,
    private readonly dest: string,
    private readonly local: string,
    private readonly files: LocalEntry[],
    private readonly opts: PutOptions
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
      if (f.kind === 'dir') {
        this.ops.push({ op: 'mkdir', path: target, mode: f.mode, mtime: f.mtime, parents: true, ...f.owner })
      } else if (f.kind === 'link') {
        this.ops.push({ op: 'symlink', path: target, target: f.target ?? '', mtime: f.mtime, ...f.owner })
      } else if (f.kind !== 'file') {
        const node = { op: 'mknod' as const, path: target, kind: f.kind, mode: f.mode, rdev: f.rdev, mtime: f.mtime }
        this.ops.push({ ...node, ...f.owner })
      } else if (f.size <= small) {
        this.small.push(f)
        if (this.small.length >= SMALL_GROUP) await this.sendSmall()
      } else {
        await this.putLarge(f, target)
      }
      if (this.ops.length >= BATCH_FILES || this.batchBytes >= BATCH_BYTES) await this.stageBatch()
    }
    await this.sendSmall()
    // Folder times last, deepest first: putting into a folder makes its mtime now. A put
    // big enough for a stage sets them in the stage (folders that were already in the
    // branch keep theirs, as a merge does), in batches like the rest.
    const times: StageOp[] = this.files.filter(f => f.kind === 'dir').reverse()
      .map(f => ({ op: 'setattr', path: joinPath(this.dest, f.rel), mtime: f.mtime }))
    if (this.stageId !== undefined || this.ops.length + times.length > BATCH_FILES) {
      for (const op of times) {
        this.ops.push(op)
        if (this.ops.length >= BATCH_FILES) await this.stageBatch()
      }
      await this.stageBatch()
    } else {
      this.ops.push(...times)
    }
    const objects = await this.writer.takeObjects()
    // Run by root, the stage's owners are as given: a replaced file's owner is not kept.
    const owners = process.getuid?.() === 0 ? 'given' as const : undefined
    const ops: WriteOp[] = this.stageId === undefined ? this.ops : [{ op: 'merge', stage: this.stageId, owners }]
    const result = await this.s.meta.modify(this.repo, this.branch, ops, {
      objects, message: this.opts.message, keepOpen: this.opts.keepOpen, job: this.opts.job
    })
    this.progress(true)
    return result
  }

  /** After a failure: nothing of this put may stay, not even unsynced temp files. */
  async abandon (): Promise<void> {
    await this.writer.abandon()
    // Left behind if this fails too, the stage is invisible, and gc drops it in time.
    if (this.stageId !== undefined) await this.s.meta.dropStage(this.repo, this.stageId).catch(() => {})
  }

  private progress (final = false): void {
    this.tick({
      phase: 'put', done: this.done, total: this.files.length, bytes: this.bytes, totalBytes: this.totalBytes
    }, final)
  }

  private async putLarge (f: LocalEntry, target: string): Promise<void> {
    const src = createReadStream(path.join(this.local, f.rel), { highWaterMark: 1 << 20 })
    const chunks = await this.writer.writeStream(src, n => { this.bytes += n; this.progress() })
    this.ops.push({ op: 'put', path: target, chunks, mode: f.mode, mtime: f.mtime, ...f.owner })
    this.batchBytes += f.size
    this.done++
  }

  /** Small files in a group: read together, one index lookup for the group. */
  private async sendSmall (): Promise<void> {
    const group = this.small
    this.small = []
    const datas = await this.reads.map(group, async f => await readSmall(path.join(this.local, f.rel), f.size))
    // A file that grew since the scan is no longer small: chunk it as a stream.
    const min = this.s.config.chunking.min
    const refs = await this.writer.writeSmall(datas.map(d => d.length <= min ? d : Buffer.alloc(0)))
    for (const [i, d] of datas.entries()) if (d.length > min) refs[i] = await this.writer.writeStream(once(d))
    group.forEach((f, i) => {
      const target = joinPath(this.dest, f.rel)
      this.ops.push({ op: 'put', path: target, chunks: refs[i], mode: f.mode, mtime: f.mtime, ...f.owner })
      this.bytes += datas[i].length
      this.batchBytes += datas[i].length
      this.done++
    })
    this.progress()
  }

  private async stageBatch (): Promise<void> {
    await this.sendSmall()
    const objects = await this.writer.takeObjects()
    this.stageId = (await this.s.meta.stage(this.repo, this.ops, { stage: this.stageId, objects })).stage
    this.ops = []
    this.batchBytes = 0
  }
}

/**
 * A small file's bytes with the size the scan's lstat gave: open, one read, close (no
 * fstat, no read to find the end). A file that grew since is read whole.
 */
async function readSmall (file: string, size: number): Promise<Buffer> {
  const fh = await fsp.open(file, 'r')
  try {
    const buf = Buffer.allocUnsafe(size + 1)
    const { bytesRead } = await fh.read(buf, 0, size + 1, 0)
    if (bytesRead <= size) return buf.subarray(0, bytesRead)
    return await fh.readFile()
  } finally {
    await fh.close()
  }
}

/** Every entry below a local folder, parents before children, sorted. */
async function scanLocal (root: string): Promise<LocalEntry[]> {
  const out: LocalEntry[] = []
  const stats = pLimit(SCAN_STATS)
  const visit = async (rel: string): Promise<void> => {
    const names = (await fsp.readdir(path.join(root, rel))).sort()
    // lstat a slice at a time, many in flight (a folder of a million holds no million Stats)
    for (let at = 0; at < names.length; at += SCAN_SLICE) {
      const rels = names.slice(at, at + SCAN_SLICE).map(name => rel === '' ? name : `${rel}/${name}`)
      const sts = await stats.map(rels, async r => await fsp.lstat(path.join(root, r)))
      for (const [i, r] of rels.entries()) await add(r, sts[i])
    }
  }
  const add = async (r: string, st: Stats): Promise<void> => {
    const base = { rel: r, size: st.size, mode: st.mode & 0o7777, mtime: st.mtimeMs, owner: ownerOf(st) }
    if (st.isDirectory()) {
      out.push({ ...base, kind: 'dir', size: 0 })
      await visit(r)
    } else if (st.isSymbolicLink()) {
      out.push({ ...base, kind: 'link', target: await fsp.readlink(path.join(root, r)) })
    } else if (st.isFile()) {
      out.push({ ...base, kind: 'file' })
    } else {
      const kind = specialOf(st)
      const device = kind === 'chardev' || kind === 'blockdev'
      if (kind !== undefined) out.push({ ...base, kind, size: 0, rdev: device ? st.rdev : undefined })
    }
  }
  await visit('')
  return out
}

export async function * once (b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b
}
