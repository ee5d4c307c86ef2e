/**
 * The metadata API: everything about repos, branches, commits and trees, with no chunk
 * bytes in it. Arguments and results are plain JSON, so the same interface is served
 * in-process (store/engine/) and over HTTP (store/rpc/). Chunk bytes travel on the data
 * plane (store/client/), straight between a client and the object store.
 *
 * Errors are PfsError: NOT_FOUND (repo, branch, rev, path), EXISTS, INVALID_NAME,
 * INVALID_ARGUMENT, AMBIGUOUS (commit prefix), CONFLICT (session already open / none
 * open), NOT_EMPTY, NOT_A_DIRECTORY, IS_A_DIRECTORY, BUSY, CORRUPT.
 *
 * Paths inside a repo are slash-separated without a leading slash; '' is the root.
 * Revs: see store/api/revs.ts (`master`, `master~2`, `master^`, `<id or prefix>`,
 * `master@{2026-11-20T10:00}`).
 */
import type { ProgressOptions } from './progress.js'
import type { DatumRecord, JobInfo, JobUpdate, LogEntry, LogLine, LogQuery, PipelineDef, PipelineInfo } from './jobs.js'

/**
 * What a path holds. fifo, socket, chardev and blockdev are special files (made with
 * mkfifo, a unix socket's bind, mknod): names with a mode, an owner and times, no content.
 */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev'
export type SpecialKind = 'fifo' | 'socket' | 'chardev' | 'blockdev'

/**
 * Owner and times beyond mode and mtime, as a write op may give them. An entry with no
 * owner belongs to whoever mounts or reads it (the mounting user). A uid or gid of null
 * gives "no owner" explicitly: setattr clears it, and a put does not keep the replaced
 * file's (absent, a put over a file keeps its owner). Absent atime: the mtime.
 * Nanoseconds are the part of a time below its millisecond (0..999999).
 */
export interface EntryMeta {
  uid?: number | null
  gid?: number | null
  atime?: number
  atimeNs?: number
  mtimeNs?: number
}

/** A change of attributes (chmod, chown, utimens), as a setattr op gives it; absent fields stay. */
export type AttrChange = EntryMeta & { mode?: number, mtime?: number }

/** A chunk of a file: its SHA-256 id (hex) and length in bytes. */
export type ChunkRef = [id: string, size: number]

/** Where an object's bytes are: a whole standalone object, or a range of a pack. */
export interface ObjectLoc {
  /** Object-store key holding the bytes. */
  key: string
  offset: number
  length: number
}

export interface FileInfo {
  /** Path inside the repo, '' for the root. */
  path: string
  name: string
  kind: EntryKind
  /** Bytes of a file; total bytes of every file below a folder; target length of a link. */
  size: number
  /** Permission bits only (e.g. 0o644). */
  mode: number
  /** Modification time, ms since the epoch. */
  mtime: number
  /** Symlink target. */
  target?: string
  /** Content hash: manifest or inline-chunk digest for files, tree hash for folders. */
  hash: string
  /** Folders: number of direct entries. */
  count?: number
  /** The commit this was read from (open or finished). */
  commit: string | null
  /** Owner; absent when the entry has none recorded (it belongs to the mounting user). */
  uid?: number
  gid?: number
  /** Access time (ms), when one was set apart from the mtime. */
  atime?: number
  /** Status-change time (ms), when it is not the mtime: it only ever moves forward. */
  ctime?: number
  /** Nanoseconds of the mtime and atime below their millisecond. */
  mtimeNs?: number
  atimeNs?: number
  /** Device number of a chardev or blockdev. */
  rdev?: number
}

export interface RepoInfo {
  name: string
  description: string
  created: number
  branches: string[]
  /** Logical bytes at the head of every branch, summed per distinct head. */
  size: number
}

export interface BranchInfo {
  repo: string
  name: string
  /** Last finished commit, or null for a branch with no commits yet. */
  head: string | null
  /** The open commit (write session), if any. */
  open: string | null
  created: number
}

export interface Provenance {
  /** Input commits that produced this commit (pipelines). Empty for user commits. */
  inputs: Array<{ repo: string, branch?: string, commit: string }>
  pipeline?: { name: string, version: number | string }
  job?: string
}

export interface CommitInfo {
  /** 32 lowercase hex characters. */
  id: string
  repo: string
  branch: string
  parent: string | null
  /** Root tree hash. */
  root: string
  message: string
  started: number
  /** null while the commit is open (a write session). */
  finished: number | null
  /** Logical bytes of all files in the commit. */
  size: number
  origin: 'user' | 'pipeline'
  provenance: Provenance
  /** The output commit of a failed job: kept, but it did not move its branch. */
  failed?: boolean
}

export interface Resolved {
  repo: string
  rev: string
  /** The commit the rev names: a branch's open commit if it has one, else its head. */
  commit: CommitInfo | null
  /** The branch, when the rev is a plain branch name (writable view). */
  branch: string | null
  /** Root tree hash to read from (the empty tree for an empty branch). */
  root: string
  writable: boolean
}

/** Paging of listings: resume `after` a name, path or id; at most `limit` entries. */
export interface PageOptions { after?: string, limit?: number }

/** A running job of the repo's pipeline: the only writer of a pipeline's output repo. */
export interface JobWriter { job?: string }

export interface FinishOptions extends JobWriter {
  message?: string
  provenance?: Provenance
  origin?: 'user' | 'pipeline'
  /** Keep the commit (marked failed) without moving the branch: a failed job's output. */
  failed?: boolean
}

/** A file's chunks and where their bytes are. */
export interface ReadPlan {
  info: FileInfo
  chunks: Array<{ id: string, size: number, loc: ObjectLoc }>
}

export interface RebuildReport {
  commits: number
  objects: number
  repos: number
  /** Damaged files left out (a journal file, a pack, a commit object) and branches moved back, with why. */
  skipped: Array<{ key: string, problem: string }>
}

export interface Page<T> {
  entries: T[]
  /** Pass as `after` to get the next page; absent on the last page. */
  next?: string
}

/**
 * Changes to a branch's tree. setattr and rename stamp the entry with a ctime of now (a
 * new entry's ctime is its mtime); put keeps the owner and atime of the file it replaces
 * unless it gives its own.
 */
export type WriteOp =
  | { op: 'put', path: string, chunks: ChunkRef[], mode?: number, mtime?: number } & EntryMeta
  | { op: 'mkdir', path: string, mode?: number, mtime?: number, parents?: boolean } & EntryMeta
  | { op: 'symlink', path: string, target: string, mtime?: number } & EntryMeta
  /** A special file; `rdev` (the device number) for chardev and blockdev. */
  | { op: 'mknod', path: string, kind: SpecialKind, mode?: number, rdev?: number, mtime?: number } & EntryMeta
  /** `force`: a path that is not there is no error (as `rm -f`). */
  | { op: 'delete', path: string, recursive?: boolean, force?: boolean }
  | { op: 'copy', from: { repo: string, rev: string, path: string }, path: string }
  | { op: 'rename', from: string, path: string }
  | { op: 'setattr', path: string, mode?: number, mtime?: number } & EntryMeta
  /**
   * A stage's tree laid over the branch's: its folders merge with existing ones (which
   * keep their mode and time), its files and links replace what is at their path. The
   * stage is gone once the change lands. `owners: 'given'`: the stage's entries carry
   * their owners as they are (a put by root), so a replaced file's owner is not kept.
   */
  | { op: 'merge', stage: string, owners?: 'given' }

/** An object written by a client on the data plane, registered by `modify`. */
export interface NewObject { id: string, loc: ObjectLoc }

export interface ModifyOptions extends JobWriter {
  /** Message for the commit made when no session was open. */
  message?: string
  /**
   * Objects written by the caller that the ops refer to. An id the store has already keeps
   * its location; a new one must be where it says (docs/design.md, "The write path").
   */
  objects?: NewObject[]
  /** Leave the session open even if `modify` had to open it. */
  keepOpen?: boolean
}

/** What a stage accepts: ops that only add (a folder put's batches). */
export type StageOp = Extract<WriteOp, { op: 'put' | 'mkdir' | 'symlink' | 'mknod' | 'setattr' }>

export interface StageOptions {
  /** The stage to add to; a new one when absent. */
  stage?: string
  objects?: NewObject[]
}

export interface ModifyResult {
  /** The open commit the ops went into (still open unless `finished`). */
  commit: CommitInfo
  /** True when `modify` opened and finished a commit of its own. */
  finished: boolean
}

export interface DiffOptions {
  /** Only below this folder. */
  path?: string
  /**
   * Report changes at most this many names below `path`: a folder at the last level that
   * differs is one 'changed' entry, an added or removed one comes without its contents.
   */
  levels?: number
}

export interface Change {
  path: string
  change: 'added' | 'changed' | 'removed'
  kind: EntryKind
  sizeBefore?: number
  sizeAfter?: number
}

export interface DuReport {
  repos: Array<{ name: string, size: number, commits: number }>
  /** Bytes of distinct chunks reachable from any commit or session. */
  uniqueBytes: number
  /** Bytes in the object store (chunks + packs), reachable or not. */
  storedBytes: number
  objects: number
}

export interface GcReport {
  deletedObjects: number
  freedBytes: number
  repackedPacks: number
  keptObjects: number
  dryRun: boolean
}

export interface FsckProblem { key: string, object?: string, problem: string, commits?: string[] }
export interface FsckReport {
  objectsChecked: number
  bytesChecked: number
  commitsChecked: number
  problems: FsckProblem[]
}

/** How a store's objects are reached; sent by a server so clients read chunks directly. */
export type ObjectStoreConfig =
  | { kind: 'local', path: string }
  | { kind: 's3', bucket: string, prefix?: string, endpoint?: string, region?: string, forcePathStyle?: boolean }
  /** In one process only (tests, embedding): a remote client cannot reach it. */
  | { kind: 'memory' }

export interface StoreConfig {
  objects: ObjectStoreConfig
  chunking: { min: number, avg: number, max: number }
  /** Objects smaller than this are packed rather than stored standalone. */
  packThreshold: number
  version: string
}

export interface MetaApi {
  config (): Promise<StoreConfig>

  createRepo (name: string, opts?: { description?: string }): Promise<RepoInfo>
  listRepos (): Promise<RepoInfo[]>
  inspectRepo (name: string): Promise<RepoInfo>
  /** Refuses a repo with commits unless `force`. */
  deleteRepo (name: string, opts?: { force?: boolean }): Promise<void>

  /** `from` is any rev of the same repo; default: an empty branch. */
  createBranch (repo: string, name: string, opts?: { from?: string }): Promise<BranchInfo>
  listBranches (repo: string): Promise<BranchInfo[]>
  inspectBranch (repo: string, name: string): Promise<BranchInfo>
  deleteBranch (repo: string, name: string): Promise<void>

  /** Opens the branch's write session. CONFLICT if one is open. */
  startCommit (repo: string, branch: string, opts?: { message?: string } & JobWriter): Promise<CommitInfo>
  /** Closes the session into an immutable commit. CONFLICT if none is open. */
  finishCommit (repo: string, branch: string, opts?: FinishOptions): Promise<CommitInfo>
  abortCommit (repo: string, branch: string, opts?: JobWriter): Promise<void>

  resolve (repo: string, rev: string): Promise<Resolved>
  inspectCommit (repo: string, rev: string): Promise<CommitInfo>
  /** Commits reachable from rev by parent links, newest first. */
  log (repo: string, rev: string, opts?: { limit?: number }): Promise<CommitInfo[]>
  /** Every commit of the repo (all branches, open ones too), newest first. */
  listCommits (repo: string, opts?: PageOptions): Promise<Page<CommitInfo>>

  stat (repo: string, rev: string, path: string): Promise<FileInfo>
  /** Direct entries of a folder, sorted by name, paged. */
  list (repo: string, rev: string, path: string, opts?: PageOptions): Promise<Page<FileInfo>>
  /** Every entry below a folder (depth first, sorted), paged; `after` is a path. */
  walk (repo: string, rev: string, path: string, opts?: PageOptions): Promise<Page<FileInfo>>
  /** A file's chunks and where their bytes are. */
  readPlan (repo: string, rev: string, path: string): Promise<ReadPlan>
  /** Changes from `from` to `to`, sorted by path; `from` null means the parent of `to`. */
  diff (repo: string, from: string | null, to: string, opts?: DiffOptions): Promise<Change[]>

  /**
   * Which of these chunk ids the store lacks. Ids it has are protected from gc for an
   * hour, so a caller may refer to them in `modify` without writing them again.
   */
  missing (ids: string[]): Promise<string[]>
  /**
   * Applies ops, in order, to the branch's open commit, opening one if needed; when it
   * opened one and `keepOpen` is not set, finishes it (a commit per call). Atomic: all
   * ops apply or none.
   */
  modify (repo: string, branch: string, ops: WriteOp[], opts?: ModifyOptions): Promise<ModifyResult>
  /**
   * Applies ops to a stage of the repo: a tree no branch shows, for a change too big for
   * one `modify`. A `merge` op in `modify` lands it, all at once. A stage that is neither
   * merged nor dropped is removed by gc some hours after its last batch (store/api/pins.ts).
   */
  stage (repo: string, ops: StageOp[], opts?: StageOptions): Promise<{ stage: string }>
  /** Drops a stage and what it holds; a stage that is gone already is not an error. */
  dropStage (repo: string, stage: string): Promise<void>

  /**
   * Records a pipeline (a new version if it exists and `update`), makes its output repo,
   * and queues a job on its inputs' heads, in one batch. EXISTS if it exists and not `update`.
   */
  createPipeline (def: PipelineDef, opts?: { update?: boolean, reprocess?: boolean }): Promise<PipelineInfo>
  listPipelines (): Promise<PipelineInfo[]>
  inspectPipeline (name: string): Promise<PipelineInfo>
  /** Drops the pipeline and its jobs; its output repo goes too unless `keepRepo` (then it is a plain repo). */
  deletePipeline (name: string, opts?: { keepRepo?: boolean }): Promise<void>
  /** A stopped pipeline queues no jobs for new commits; `running` starts it again. */
  setPipelineState (name: string, state: 'running' | 'stopped'): Promise<PipelineInfo>
  /** Jobs newest first; of one pipeline, one commit set, or only those queued or running, when asked. */
  listJobs (opts?: { pipeline?: string, commitSet?: string, waiting?: boolean } & PageOptions): Promise<Page<JobInfo>>
  inspectJob (id: string): Promise<JobInfo>
  /** The runner's changes to a job: its state, times, output commit and counts. */
  updateJob (id: string, update: JobUpdate): Promise<JobInfo>
  /**
   * Records datums of a running job: each becomes its pipeline's current state for that
   * datum id, and a success enters the run cache under its key. `gone`: datum ids the
   * pipeline no longer has (their inputs are gone); their current state is dropped.
   */
  putDatums (job: string, datums: DatumRecord[], opts?: { gone?: string[] }): Promise<void>
  /** The datums of a job (as it left them), or the pipeline's current datums, by id. */
  listDatums (pipeline: string, opts?: { job?: string } & PageOptions): Promise<Page<DatumRecord>>
  /** For each key, the datum that succeeded with it in any job of the pipeline, or null. */
  cachedDatums (pipeline: string, keys: string[]): Promise<Array<DatumRecord | null>>

  /** Adds lines to a job's log (kept until the pipeline is deleted). */
  appendLogs (job: string, lines: LogEntry[]): Promise<void>
  /** Log lines, oldest first; `next` is always set, to ask again for lines added since. */
  readLogs (query: LogQuery): Promise<Page<LogLine>>

  du (opts?: { repo?: string }): Promise<DuReport>
  gc (opts?: { dryRun?: boolean } & ProgressOptions): Promise<GcReport>
  fsck (opts?: ProgressOptions): Promise<FsckReport>
  rebuildIndex (opts?: ProgressOptions): Promise<RebuildReport>

  close (): Promise<void>
}

/** Method names of MetaApi, for the RPC layer. */
export const META_METHODS = [
  'config', 'createRepo', 'listRepos', 'inspectRepo', 'deleteRepo',
  'createBranch', 'listBranches', 'inspectBranch', 'deleteBranch',
  'startCommit', 'finishCommit', 'abortCommit',
  'resolve', 'inspectCommit', 'log', 'listCommits',
  'stat', 'list', 'walk', 'readPlan', 'diff',
  'missing', 'modify', 'stage', 'dropStage',
  'createPipeline', 'listPipelines', 'inspectPipeline', 'deletePipeline', 'setPipelineState',
  'listJobs', 'inspectJob', 'updateJob', 'putDatums', 'listDatums', 'cachedDatums',
  'appendLogs', 'readLogs',
  'du', 'gc', 'fsck', 'rebuildIndex'
] as const satisfies ReadonlyArray<Exclude<keyof MetaApi, 'close'>>

export type * from './jobs.js'
