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
import type {
  MetaApi, ModifyResult, WriteOp, Progress, StoreConfig
} from './meta.js'
import type { ObjectStore } from './objects/object-store.js'
import type { FileReader } from './file-reader.js'

export interface PutOptions {
  message?: string
  mode?: number
  mtime?: number
  /** Leave the write session open (as `pfs start` + put would). */
  keepOpen?: boolean
  onProgress?: (p: Progress) => void
}

export interface ReadOptions {
  offset?: number
  length?: number
}

export interface Pfs extends MetaApi {
  readonly objects: ObjectStore
  readonly storeConfig: StoreConfig
  /** 'embedded' when this process owns the index, 'remote' when it talks to a server. */
  readonly mode: 'embedded' | 'remote'

  /** Writes one file (stream, buffer) into the branch: its open session, or a commit of its own. */
  putFile (repo: string, branch: string, path: string, data: AsyncIterable<Uint8Array> | Uint8Array, opts?: PutOptions): Promise<ModifyResult>
  /** Copies a local file or folder (recursively) to `path` in the branch, as one change. */
  putLocal (repo: string, branch: string, path: string, localPath: string, opts?: PutOptions): Promise<ModifyResult>
  /** Applies metadata-only ops (rm, cp, mkdir...) as one change. */
  apply (repo: string, branch: string, ops: WriteOp[], opts?: { message?: string, keepOpen?: boolean }): Promise<ModifyResult>

  /** A file opened for positional reads (nothing is fetched until read). */
  openFile (repo: string, rev: string, path: string): Promise<FileReader>
  /** Streams a file's bytes (or a range of them) from the object store. */
  readStream (repo: string, rev: string, path: string, opts?: ReadOptions): Promise<Readable>
  readAll (repo: string, rev: string, path: string, opts?: ReadOptions): Promise<Buffer>
  /** Writes a file or folder of a commit to a local path. */
  getLocal (repo: string, rev: string, path: string, dest: string, opts?: { onProgress?: (p: Progress) => void }): Promise<{ files: number, bytes: number }>

  [Symbol.asyncDispose] (): Promise<void>
}
