/**
 * The store's one door: bin/, fs/ and runner/ import this module and nothing else of
 * store/. What it offers: how to get a `Pfs` (open.ts), the `Pfs` and metadata types,
 * `PfsError` and its factories, the names and revs every layer parses the same way, and
 * where a TCP server's token comes from (never a command line: rpc/credentials.ts).
 * Opening a store in this process loads the engine (and LevelDB) on demand; importing
 * this module does not.
 */
export {
  openPfs, ownStore, serveOpenStore, shareStore, storeDir, socketPath,
  type OpenOptions, type OwnOptions, type SharedStore
} from './open.js'
export type { Pfs, PutOptions, ReadOptions, OpenFile } from './api/pfs.js'
export type * from './api/meta.js'
export type { Progress, ProgressOptions } from './api/progress.js'
export {
  PfsError, isPfsError, notFound, invalidArgument, busy, corrupt, printable, type PfsErrorCode
} from './api/errors.js'
export { normPath, joinPath, checkRefName } from './api/names.js'
export { isCommitId, isCommitPrefix } from './api/revs.js'
export type { RunningServer } from './rpc/server.js'
export { readTokenFile, envToken, checkServerUrl } from './rpc/credentials.js'
