/**
 * The `Pfs` facade: metadata calls delegate to a MetaApi (engine or HTTP client); file
 * bytes go through the data plane, straight to and from the object store.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { type MetaApi, type StoreConfig, type ModifyResult, type WriteOp, type Progress, type NewObject, META_METHODS } from './meta.js'
import type { Pfs, PutOptions, ReadOptions } from './pfs.js'
import type { ObjectStore } from './objects/object-store.js'
import { ChunkWriter, ChunkReader } from './data-plane.js'
import { FileReader } from './file-reader.js'
import { PfsError, notFound, isPfsError } from './errors.js'
import { normPath, joinPath } from './names.js'
import { throttle } from './reachable.js'

/** Ops (and new objects) are sent to the metadata API in batches of this many files. */
const BATCH_FILES = 2000
const BATCH_BYTES = 256 << 20

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface PfsImpl extends MetaApi {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PfsImpl implements Pfs {
  private readonly reader: ChunkReader

  constructor (readonly meta: MetaApi, readonly objects: ObjectStore, readonly storeConfig: StoreConfig, readonly mode: 'embedded' | 'remote', opts: { cacheBytes?: number } = {}) {
    this.reader = new ChunkReader(objects, { cacheBytes: opts.cacheBytes })
    for (const m of META_METHODS) {
      (this as unknown as Record<string, unknown>)[m] = (meta[m] as (...a: unknown[]) => unknown).bind(meta)
    }
  }

  async putFile (repo: string, branch: string, p: string, data: AsyncIterable<Uint8Array> | Uint8Array, opts: PutOptions = {}): Promise<ModifyResult> {
    const path = normPath(p)
    const writer = new ChunkWriter(this.meta, this.objects, this.storeConfig)
    const tick = throttle(opts.onProgress)
    let bytes = 0
    const src = data instanceof Uint8Array ? once(data) : data
    const chunks = await writer.writeStream(src, n => { bytes += n; tick({ phase: 'put', done: 0, total: 1, bytes }) })
    const objects = await writer.takeObjects()
    tick({ phase: 'put', done: 1, total: 1, bytes }, true)
    return await this.meta.modify(repo, branch, [{ op: 'put', path, chunks, mode: opts.mode, mtime: opts.mtime }], { message: opts.message, objects, keepOpen: opts.keepOpen })
  }

  async putLocal (repo: string, branch: string, p: string, localPath: string, opts: PutOptions = {}): Promise<ModifyResult> {
    const dest = normPath(p)
    const st = await fsp.lstat(localPath).catch(e => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('local file', localPath)
      throw e
    })
    if (st.isFile()) {
      return await this.putFile(repo, branch, dest, createReadStream(localPath, { highWaterMark: 1 << 20 }), { mode: st.mode & 0o7777, mtime: st.mtimeMs, ...opts })
    }
    if (!st.isDirectory()) throw new PfsError('INVALID_ARGUMENT', `local path '${localPath}' is not a file or folder`, { path: localPath })
    return await this.putTree(repo, branch, dest, localPath, opts)
  }

  /** A local folder, recursively, as one commit (or into the open session). */
  private async putTree (repo: string, branch: string, dest: string, local: string, opts: PutOptions): Promise<ModifyResult> {
    const files = await scanLocal(local)
    const totalBytes = files.reduce((a, f) => a + f.size, 0)
    const tick = throttle(opts.onProgress)
    const ownSession = await this.needsSession(repo, branch)
    if (ownSession) await this.meta.startCommit(repo, branch, { message: opts.message })
    try {
      const writer = new ChunkWriter(this.meta, this.objects, this.storeConfig)
      let ops: WriteOp[] = dest === '' ? [] : [{ op: 'mkdir', path: dest, parents: true }]
      let batchBytes = 0; let bytes = 0; let done = 0
      let result: ModifyResult | undefined
      const send = async (): Promise<void> => {
        const objects: NewObject[] = await writer.takeObjects()
        result = await this.meta.modify(repo, branch, ops, { objects, keepOpen: true })
        ops = []; batchBytes = 0
      }
      const small = this.storeConfig.chunking.min
      let pending: LocalEntry[] = []
      // Small files go in groups: read together, one index lookup for the group.
      const sendSmall = async (): Promise<void> => {
        const group = pending
        pending = []
        const datas = await mapLimit(group, 16, async f => await fsp.readFile(path.join(local, f.rel)))
        // A file that grew since the scan is no longer small: chunk it as a stream.
        const refs = await writer.writeSmall(datas.map(d => d.length <= small ? d : Buffer.alloc(0)))
        for (const [i, d] of datas.entries()) if (d.length > small) refs[i] = await writer.writeStream(once(d))
        group.forEach((f, i) => {
          ops.push({ op: 'put', path: joinPath(dest, f.rel), chunks: refs[i], mode: f.mode, mtime: f.mtime })
          bytes += datas[i].length
          batchBytes += datas[i].length
          done++
        })
        tick({ phase: 'put', done, total: files.length, bytes, totalBytes })
      }
      for (const f of files) {
        const target = joinPath(dest, f.rel)
        if (f.kind === 'dir') ops.push({ op: 'mkdir', path: target, mode: f.mode, mtime: f.mtime, parents: true })
        else if (f.kind === 'link') ops.push({ op: 'symlink', path: target, target: f.target ?? '', mtime: f.mtime })
        else if (f.size <= small) {
          pending.push(f)
          if (pending.length >= 512) await sendSmall()
        } else {
          const chunks = await writer.writeStream(createReadStream(path.join(local, f.rel), { highWaterMark: 1 << 20 }), n => { bytes += n; tick({ phase: 'put', done, total: files.length, bytes, totalBytes }) })
          ops.push({ op: 'put', path: target, chunks, mode: f.mode, mtime: f.mtime })
          batchBytes += f.size
          done++
        }
        if (ops.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) { await sendSmall(); await send() }
      }
      await sendSmall()
      await send()
      tick({ phase: 'put', done, total: files.length, bytes, totalBytes }, true)
      if (!ownSession) return result as ModifyResult
      if (opts.keepOpen === true) return { commit: (result as ModifyResult).commit, finished: false }
      return { commit: await this.meta.finishCommit(repo, branch, { message: opts.message }), finished: true }
    } catch (e) {
      if (ownSession) await this.meta.abortCommit(repo, branch).catch(() => {})
      throw e
    }
  }

  private async needsSession (repo: string, branch: string): Promise<boolean> {
    try {
      return (await this.meta.inspectBranch(repo, branch)).open === null
    } catch (e) {
      if (isPfsError(e, 'NOT_FOUND')) { await this.meta.inspectRepo(repo); return true }
      throw e
    }
  }

  async apply (repo: string, branch: string, ops: WriteOp[], opts: { message?: string, keepOpen?: boolean } = {}): Promise<ModifyResult> {
    return await this.meta.modify(repo, branch, ops, opts)
  }

  async openFile (repo: string, rev: string, p: string): Promise<FileReader> {
    const plan = await this.meta.readPlan(repo, rev, p)
    return new FileReader(plan.info, plan.chunks, this.reader)
  }

  async readStream (repo: string, rev: string, p: string, opts: ReadOptions = {}): Promise<Readable> {
    const plan = await this.meta.readPlan(repo, rev, p)
    return this.reader.stream(plan.chunks, opts)
  }

  async readAll (repo: string, rev: string, p: string, opts: ReadOptions = {}): Promise<Buffer> {
    const parts: Buffer[] = []
    for await (const b of await this.readStream(repo, rev, p, opts)) parts.push(b as Buffer)
    return Buffer.concat(parts)
  }

  async getLocal (repo: string, rev: string, p: string, dest: string, opts: { onProgress?: (p: Progress) => void } = {}): Promise<{ files: number, bytes: number }> {
    const src = normPath(p)
    const root = await this.meta.stat(repo, rev, src)
    const tick = throttle(opts.onProgress)
    const out = { files: 0, bytes: 0 }
    const total = root.size
    const fetch = async (rel: string, info: { kind: string, mode: number, mtime: number, target?: string }, to: string): Promise<void> => {
      if (info.kind === 'dir') {
        await fsp.mkdir(to, { recursive: true })
      } else if (info.kind === 'symlink') {
        await fsp.rm(to, { force: true })
        await fsp.symlink(info.target ?? '', to)
        return
      } else {
        const tmp = `${to}.pfs-tmp-${randomBytes(4).toString('hex')}`
        try {
          await pipeline(await this.readStream(repo, rev, rel), createWriteStream(tmp, { mode: info.mode }))
          await fsp.rename(tmp, to)
        } catch (e) {
          await fsp.rm(tmp, { force: true })
          throw e
        }
        out.files++
      }
      await fsp.chmod(to, info.mode)
    }
    if (root.kind !== 'dir') {
      await fetch(src, root, dest)
      out.bytes = root.size
      await fsp.utimes(dest, new Date(), new Date(root.mtime))
      return out
    }
    await fsp.mkdir(dest, { recursive: true })
    const dirs: Array<{ to: string, mtime: number }> = []
    let after: string | undefined
    do {
      const page = await this.meta.walk(repo, rev, src, { after, limit: 1000 })
      for (const f of page.entries) {
        const rel = src === '' ? f.path : f.path.slice(src.length + 1)
        const to = path.join(dest, ...rel.split('/'))
        await fetch(f.path, f, to)
        if (f.kind === 'dir') dirs.push({ to, mtime: f.mtime })
        else if (f.kind === 'file') { out.bytes += f.size; await fsp.utimes(to, new Date(), new Date(f.mtime)) }
        tick({ phase: 'get', done: out.files, bytes: out.bytes, totalBytes: total })
      }
      after = page.next
    } while (after !== undefined)
    // Folder times last: writing into a folder changes its mtime.
    for (const d of dirs.reverse()) await fsp.utimes(d.to, new Date(), new Date(d.mtime))
    tick({ phase: 'get', done: out.files, bytes: out.bytes, totalBytes: total }, true)
    return out
  }

  async close (): Promise<void> {
    await this.meta.close()
    // An embedded engine closes its own object store; a remote client opened this one.
    if (this.mode === 'remote') await this.objects.close()
  }
  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }
}

export function createPfs (meta: MetaApi, objects: ObjectStore, config: StoreConfig, mode: 'embedded' | 'remote', opts: { cacheBytes?: number } = {}): Pfs {
  return new PfsImpl(meta, objects, config, mode, opts)
}

/** Runs fn over items with at most `limit` at once; results in input order. */
async function mapLimit<T, R> (items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i])
  }))
  return out
}

interface LocalEntry { rel: string, kind: 'file' | 'dir' | 'link', size: number, mode: number, mtime: number, target?: string }

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
      if (st.isDirectory()) { out.push({ ...base, kind: 'dir', size: 0 }); await visit(r) } else if (st.isSymbolicLink()) out.push({ ...base, kind: 'link', target: await fsp.readlink(full) })
      else if (st.isFile()) out.push({ ...base, kind: 'file' })
    }
  }
  await visit('')
  return out
}

async function * once (b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b
}
