/**
 * The `Pfs` facade: metadata calls delegate to a MetaApi (engine or HTTP client); file
 * bytes go through the data plane, straight to and from the object store.
 */
import { createReadStream, promises as fsp } from 'node:fs'
import type { Readable } from 'node:stream'
import {
  type ChunkRef, type MetaApi, type NewObject, type StoreConfig, type ModifyResult, type WriteOp, META_METHODS
} from '../api/meta.js'
import type { Pfs, PutOptions, ReadOptions } from '../api/pfs.js'
import { notFound, invalidArgument } from '../api/errors.js'
import { normPath } from '../api/names.js'
import { type ProgressOptions, throttle } from '../api/progress.js'
import type { ObjectStore } from '../objects/object-store.js'
import { ChunkWriter } from './chunk-writer.js'
import { ChunkReader } from './chunk-reader.js'
import { FileReader } from './file-reader.js'
import { putTree, once, ownerOf } from './put-tree.js'
import { getLocal } from './get-local.js'

// The MetaApi methods are bound from META_METHODS in the constructor; this declaration
// tells TypeScript they are there.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
interface PfsImpl extends MetaApi {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class PfsImpl implements Pfs {
  private readonly reader: ChunkReader

  constructor (
    private readonly meta: MetaApi,
    private readonly objects: ObjectStore,
    readonly storeConfig: StoreConfig,
    readonly mode: 'embedded' | 'remote',
    opts: { cacheBytes?: number } = {}
  ) {
    this.reader = new ChunkReader(objects, { cacheBytes: opts.cacheBytes })
    for (const m of META_METHODS) {
      (this as unknown as Record<string, unknown>)[m] = (meta[m] as (...a: unknown[]) => unknown).bind(meta)
    }
  }

  async putFile (
    repo: string, branch: string, p: string, data: AsyncIterable<Uint8Array> | Uint8Array, opts: PutOptions = {}
  ): Promise<ModifyResult> {
    const path = normPath(p)
    const writer = new ChunkWriter(this.meta, this.objects, this.storeConfig)
    const tick = throttle(opts.onProgress)
    let bytes = 0
    const src = data instanceof Uint8Array ? once(data) : data
    let chunks: ChunkRef[], objects: NewObject[]
    try {
      chunks = await writer.writeStream(src, n => { bytes += n; tick({ phase: 'put', done: 0, total: 1, bytes }) })
      objects = await writer.takeObjects()
    } catch (e) {
      await writer.abandon()
      throw e
    }
    tick({ phase: 'put', done: 1, total: 1, bytes }, true)
    const op: WriteOp = {
      op: 'put', path, chunks, mode: opts.mode, mtime: opts.mtime,
      uid: opts.uid, gid: opts.gid, atime: opts.atime, atimeNs: opts.atimeNs, mtimeNs: opts.mtimeNs
    }
    return await this.meta.modify(repo, branch, [op], {
      message: opts.message, objects, keepOpen: opts.keepOpen, job: opts.job
    })
  }

  async putLocal (
    repo: string, branch: string, p: string, localPath: string, opts: PutOptions = {}
  ): Promise<ModifyResult> {
    const dest = normPath(p)
    const st = await fsp.lstat(localPath).catch(e => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('local file', localPath)
      throw e
    })
    if (st.isFile()) {
      const src = createReadStream(localPath, { highWaterMark: 1 << 20 })
      const attrs = { mode: st.mode & 0o7777, mtime: st.mtimeMs, ...ownerOf(st) }
      return await this.putFile(repo, branch, dest, src, { ...attrs, ...opts })
    }
    if (!st.isDirectory()) {
      throw invalidArgument(`local path '${localPath}' is not a file or folder`, { path: localPath })
    }
    const target = { meta: this.meta, objects: this.objects, config: this.storeConfig }
    return await putTree(target, repo, branch, dest, localPath, opts)
  }

  async apply (
    repo: string, branch: string, ops: WriteOp[], opts: { message?: string, keepOpen?: boolean, job?: string } = {}
  ): Promise<ModifyResult> {
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

  async getLocal (
    repo: string, rev: string, p: string, dest: string, opts: ProgressOptions = {}
  ): Promise<{ files: number, bytes: number, skipped: number }> {
    return await getLocal(
      { meta: this.meta, read: async (r, v, f) => await this.readStream(r, v, f) },
      repo, rev, p, dest, opts
    )
  }

  async close (): Promise<void> {
    await this.meta.close()
    // An embedded engine closes its own object store; a remote client opened this one.
    if (this.mode === 'remote') await this.objects.close()
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }
}

export function createPfs (
  meta: MetaApi,
  objects: ObjectStore,
  config: StoreConfig,
  mode: 'embedded' | 'remote',
  opts: { cacheBytes?: number } = {}
): Pfs {
  return new PfsImpl(meta, objects, config, mode, opts)
}
