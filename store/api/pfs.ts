/**
 * `Pfs`: the one interface the CLI, the mount and the runner use. It is the metadata API
 * (embedded engine or HTTP client, identical answers) plus the data plane: files are
 * chunked and their new chunks written straight to the object store by the caller, and
 * reads fetch chunk bytes straight from it. Only small metadata crosses the API.
 *
 * @example
 *   await using pfs = await openPfs({ store: '/tmp/s' })
 *   await pfs.createRepo('images')
 *   await pfs.putFile('images', 'master', 'a/cat.png', fs.createReadStream('cat.png'))
 *   const data = await pfs.readAll('images', 'master~1', 'a/cat.png')
 */
import type { Readable } from 'node:stream'
import type { EntryMeta, FileInfo, MetaApi, ModifyResult, WriteOp, StoreConfig } from './meta.js'
import type { ProgressOptions } from './progress.js'

/** `uid`/`gid`/`atime`... (EntryMeta): the owner and times to record with the file. */
export interface PutOptions extends ProgressOptions, EntryMeta {
  message?: string
  mode?: number
  mtime?: number
  /** Leave the write session open (as `pfs start` + put would). */
  keepOpen?: boolean
  /** The running job writing its pipeline's output repo. */
  job?: string
}

export interface ReadOptions {
  offset?: number
  length?: number
}

/** A file opened for positional reads: nothing is fetched until read. */
export interface OpenFile {
  readonly info: FileInfo
  readonly size: number
  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  read (offset: number, length: number): Promise<Buffer>
}

export interface Pfs extends MetaApi {
  readonly storeConfig: StoreConfig
  /** 'embedded' when this process owns the index, 'remote' when it talks to a server. */
  readonly mode: 'embedded' | 'remote'

  /** Writes one file (stream, buffer) into the branch: its open session, or a commit of its own. */
  putFile (
    repo: string, branch: string, path: string, data: AsyncIterable<Uint8Array> | Uint8Array, opts?: PutOptions
  ): Promise<ModifyResult>
  /**
   * Copies a local file, or a folder recursively, to `path` in the branch, as one change:
   * a folder's contents land at `path`. When it opens the session itself, a failure
   * leaves nothing behind.
   */
  putLocal (repo: string, branch: string, path: string, localPath: string, opts?: PutOptions): Promise<ModifyResult>
  /** Applies metadata-only ops (rm, cp, mkdir...) as one change. */
  apply (
    repo: string, branch: string, ops: WriteOp[], opts?: { message?: string, keepOpen?: boolean, job?: string }
  ): Promise<ModifyResult>

  openFile (repo: string, rev: string, path: string): Promise<OpenFile>
  /** Streams a file's bytes (or a range of them) from the object store. */
  readStream (repo: string, rev: string, path: string, opts?: ReadOptions): Promise<Readable>
  readAll (repo: string, rev: string, path: string, opts?: ReadOptions): Promise<Buffer>
  /** Writes a file or folder of a commit to a local path. */
  getLocal (
    repo: string, rev: string, path: string, dest: string, opts?: ProgressOptions
  ): Promise<{ files: number, bytes: number, skipped: number }>

  [Symbol.asyncDispose] (): Promise<void>
}
