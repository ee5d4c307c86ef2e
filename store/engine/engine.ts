/**
 * The embedded engine: MetaApi over a LevelDB index and an object store. It owns the
 * index, so exactly one process runs it per store (`pfs serve`, `pfs mount`, or a
 * one-off command when no server runs). State changes run one at a time under a lock;
 * each is one atomic LevelDB batch written after the objects it refers to are durable.
 * Reads (reads.ts), writes (writes.ts) and maintenance (maintenance/) get the engine's
 * `Core`, not the engine.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Stats } from 'node:fs'
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pLimit from 'p-limit'
import * as M from '../api/meta.js'
import type { ProgressOptions } from '../api/progress.js'
import { checkRefName } from '../api/names.js'
import { PfsError, exists, conflict, corrupt, invalidArgument, isPfsError } from '../api/errors.js'
import { Pins } from '../api/pins.js'
import type { ObjectStore } from '../objects/object-store.js'
import { LocalObjectStore } from '../objects/local.js'
import {
  type Db, type RepoRec, type BranchRec, type StageRec, type BatchOp,
  openDb, indexDamage, k, range, writeBatch, lastPart
} from './index-db.js'
import { NodeStore } from './node-store.js'
import { monotonicClock } from './clock.js'
import { type StoreFile, VERSION, loadConfig } from './config.js'
import { journal } from './journal.js'
import { repoRec, branchRec, commitRec, branchInfo } from './records.js'
import type { Core } from './core.js'
import { Reader } from './reads.js'
import { Writer } from './writes.js'
import { Pipelines } from './pipelines.js'
import { Logs } from './logs.js'
import { collectGarbage } from './maintenance/gc.js'
import { checkStore } from './maintenance/fsck.js'
import { rebuildIndex } from './maintenance/rebuild.js'
import { diskUsage } from './maintenance/du.js'

export interface EngineOptions {
  /** Object store to use instead of `<store>/objects` (e.g. S3, memory). */
  objects?: ObjectStore
  /** How clients reach `objects` (required with `objects`). */
  objectsConfig?: M.StoreConfig['objects']
  /** Strictly increasing ms (default: the wall clock, made strictly increasing). */
  clock?: () => number
  /** New commit ids (default: 16 random bytes, hex). */
  newCommitId?: () => string
  /** Settings for a new store; an existing store keeps its own. */
  chunking?: { min: number, avg: number, max: number }
  packThreshold?: number
  /** What to record as the index owner, for "store in use" messages. */
  command?: string
  /** Open even when the index is missing or unreadable (moved aside), to rebuild it. */
  repairIndex?: boolean
}

export async function openEngine (storeDir: string, opts: EngineOptions = {}): Promise<Engine> {
  const dir = path.resolve(storeDir)
  const { cfg, objects } = await prepareStore(dir, opts)
  const owner = path.join(dir, 'owner.json')
  const db = await openIndex(dir, objects, owner, opts.repairIndex === true)
  // Only words that look like the command's (`repo create`): no option, and no value of
  // one (a path, a URL, a token) is ever recorded.
  const command = opts.command ?? process.argv.slice(2).filter(a => /^[a-z][a-z-]*$/.test(a)).slice(0, 2).join(' ')
  await writeFile(owner, JSON.stringify({ pid: process.pid, command }), { mode: 0o600 })
  const storeConfig: M.StoreConfig = {
    objects: opts.objectsConfig ?? { kind: 'local', path: path.join(dir, 'objects') },
    chunking: cfg.chunking,
    packThreshold: cfg.packThreshold,
    version: VERSION
  }
  const clock = opts.clock ?? monotonicClock()
  const core: Core = {
    db,
    objects,
    nodes: new NodeStore(db, objects),
    pins: new Pins(clock),
    clock,
    lock: pLimit(1),
    newCommitId: opts.newCommitId ?? (() => randomBytes(16).toString('hex'))
  }
  return guardIndex(new Engine(core, storeConfig, owner), dir)
}

/**
 * The store folder, made or checked: a folder only its owner can enter, its settings,
 * and its object store. Anything that is not a usable folder is a one-line error.
 */
async function prepareStore (dir: string, opts: EngineOptions): Promise<{ cfg: StoreFile, objects: ObjectStore }> {
  const unusable = (why: string): PfsError => invalidArgument(`cannot use ${dir} as a pfs store: ${why}; ` +
    'point --store (or PFS_STORE) at a folder of your own', { store: dir })
  try {
    const st = await statIfAny(dir)
    if (st === undefined) await mkdir(dir, { recursive: true, mode: 0o700 })
    else if (!st.isDirectory()) throw unusable('it is not a folder')
    else await tighten(dir, st, unusable)
    const wanted = { chunking: opts.chunking, packThreshold: opts.packThreshold }
    const cfg = await loadConfig(path.join(dir, 'config.json'), wanted)
    if (opts.objects !== undefined) return { cfg, objects: opts.objects }
    const objDir = path.join(dir, 'objects')
    const ost = await statIfAny(objDir)
    if (ost !== undefined && !ost.isDirectory()) {
      throw corrupt(`store ${dir} is damaged: ${objDir} is not a folder; move it aside and restore the objects`,
        { store: dir })
    }
    return { cfg, objects: new LocalObjectStore(objDir) }
  } catch (e) {
    if (isPfsError(e)) throw e
    const err = e as NodeJS.ErrnoException
    if (typeof err.code === 'string') throw unusable(`${err.syscall ?? 'access'} ${err.path ?? dir}: ${err.code}`)
    throw e
  }
}

/** A store folder others can enter would let them read committed data from its packs. */
async function tighten (dir: string, st: Stats, unusable: (why: string) => PfsError): Promise<void> {
  if ((st.mode & 0o077) === 0) return
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw unusable(`it belongs to user ${st.uid} and others may enter it (mode ${(st.mode & 0o777).toString(8)})`)
  }
  await chmod(dir, 0o700)
}

/**
 * Opens the index. A store that has objects but no index (or an unreadable one) is
 * refused with the way out, unless `repair`: then a damaged index is moved aside and a
 * new one started, for `rebuildIndex` to fill.
 */
async function openIndex (dir: string, objects: ObjectStore, owner: string, repair: boolean): Promise<Db> {
  const index = path.join(dir, 'index')
  const lost = (why: string, cause?: unknown): PfsError => new PfsError('CORRUPT',
    `the index of store ${dir} ${why}, but the store holds data; ` +
    'run `pfs fsck --rebuild-index` to rebuild it from the objects', { store: dir }, cause)
  const hasIndex = await statIfAny(path.join(index, 'CURRENT')) !== undefined
  if (!hasIndex) {
    if (!repair && await holdsData(objects)) throw lost('is missing')
    if (repair) await moveAside(index)
  }
  try {
    return await openDb(index, owner)
  } catch (e) {
    if (isPfsError(e) || !repair) throw isPfsError(e) ? e : lost(`cannot be read (${(e as Error).message})`, e)
  }
  await moveAside(index)
  return await openDb(index, owner)
}

async function holdsData (objects: ObjectStore): Promise<boolean> {
  for (const prefix of ['journal/', 'packs/', 'chunks/']) {
    for await (const _ of objects.list(prefix)) return true
  }
  return false
}

async function moveAside (index: string): Promise<void> {
  if (await statIfAny(index) !== undefined) await rename(index, `${index}.damaged-${Date.now()}`)
}

/** A path's stat, or undefined when nothing is there; other failures are thrown. */
async function statIfAny (p: string): Promise<Stats | undefined> {
  try {
    return await stat(p)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

/**
 * Every engine call, with LevelDB failures (bit rot in the index, say) turned into one
 * CORRUPT error that says what to do, instead of a stack trace.
 */
function guardIndex (engine: Engine, dir: string): Engine {
  const calls: ReadonlySet<string | symbol> = new Set(M.META_METHODS)
  return new Proxy(engine, {
    get (target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown
      if (!calls.has(prop) || typeof v !== 'function') return v
      return async (...args: unknown[]) => {
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        } catch (e) {
          throw indexDamage(e, dir) ?? e
        }
      }
    }
  })
}

export class Engine implements M.MetaApi {
  /** The object store chunk bytes live in (clients in this process write it directly). */
  readonly objects: ObjectStore
  private readonly db: Db
  private readonly reader: Reader
  private readonly writer: Writer
  private readonly pipelines: Pipelines
  private readonly logs: Logs
  /** Serializes gc with fsck and du, which must not see a pack gc is replacing. */
  private readonly maintenance = pLimit(1)
  private readonly events = new EventEmitter()
  private closed = false

  constructor (private readonly core: Core, readonly storeConfig: M.StoreConfig, private readonly ownerFile?: string) {
    this.objects = core.objects
    this.db = core.db
    this.reader = new Reader(core)
    this.pipelines = new Pipelines(core, repo => { this.changed(repo, undefined) })
    this.logs = new Logs(core.db, async id => await this.pipelines.job(id))
    this.writer = new Writer(core, this.reader, this.pipelines)
  }

  /**
   * Calls `listener(repo)` after every state change of a repo, in this process: for
   * in-process caches (the mount's). Returns the function that stops it.
   */
  onChange (listener: (repo: string) => void): () => void {
    this.events.on('change', listener)
    return () => { this.events.off('change', listener) }
  }

  async config (): Promise<M.StoreConfig> { return this.storeConfig }

  // ---- repos ----
  async createRepo (name: string, opts: { description?: string } = {}): Promise<M.RepoInfo> {
    checkRefName('repo', name)
    return await this.core.lock(async () => {
      if (await this.db.get(k('repo', name)) !== undefined) throw exists('repo', name)
      const rec: RepoRec = { name, description: opts.description ?? '', created: this.core.clock() }
      await journal(this.objects, { op: 'repo-create', time: rec.created, repo: name, description: rec.description })
      await writeBatch(this.db, [{ type: 'put', key: k('repo', name), value: rec }])
      return this.changed(name, await this.repoInfo(rec))
    })
  }

  async listRepos (): Promise<M.RepoInfo[]> {
    const out: M.RepoInfo[] = []
    for await (const [, rec] of range<RepoRec>(this.db, 'repo')) out.push(await this.repoInfo(rec))
    return out
  }

  async inspectRepo (name: string): Promise<M.RepoInfo> {
    return await this.repoInfo(await repoRec(this.db, name))
  }

  async deleteRepo (name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.core.lock(async () => {
      const rec = await repoRec(this.db, name)
      if (rec.pipeline !== undefined) {
        throw conflict(`repo '${name}' is the output of pipeline ${rec.pipeline}; ` +
          `\`pfs pipeline delete ${rec.pipeline}\` deletes both`, { repo: name, pipeline: rec.pipeline })
      }
      const ops: BatchOp[] = []
      await this.repoDeleteOps(name, opts.force === true, ops)
      await writeBatch(this.db, ops)
      this.changed(name, undefined)
    })
  }

  /** The ops that delete a repo, journaled; refuses a repo with commits unless `force`, or one a pipeline reads. */
  private async repoDeleteOps (name: string, force: boolean, ops: BatchOp[]): Promise<void> {
    for await (const [key] of range(this.db, 'pin')) {
      const [, repo, branch, pipeline] = key.split('\x00')
      if (repo === name && pipeline !== name) {
        throw conflict(`repo '${name}' is an input of pipeline ${pipeline} (branch ${branch}); ` +
          'delete or update the pipeline first', { repo: name, pipeline })
      }
    }
    let commits = 0
    const mine: BatchOp[] = []
    for await (const [key] of range(this.db, k('cid', name))) {
      commits++
      mine.push({ type: 'del', key }, { type: 'del', key: k('c', lastPart(key)) })
    }
    if (commits > 0 && !force) {
      throw conflict(`repo '${name}' has ${commits} commit(s); delete it with --force to discard them`,
        { repo: name, commits })
    }
    for (const p of ['ct', 'rl', 'br']) {
      for await (const [key] of range(this.db, k(p, name))) mine.push({ type: 'del', key })
    }
    for await (const [key, st] of range<StageRec>(this.db, 'stg')) {
      if (st.repo === name) mine.push({ type: 'del', key })
    }
    mine.push({ type: 'del', key: k('repo', name) })
    await journal(this.objects, { op: 'repo-delete', time: this.core.clock(), repo: name })
    ops.push(...mine)
  }

  // ---- pipelines and jobs (pipelines.ts) ----
  async createPipeline (def: M.PipelineDef, opts?: { update?: boolean, reprocess?: boolean }): Promise<M.PipelineInfo> {
    return await this.pipelines.create(def, opts ?? {})
  }

  async listPipelines (): Promise<M.PipelineInfo[]> { return await this.pipelines.list() }

  async inspectPipeline (name: string): Promise<M.PipelineInfo> { return await this.pipelines.inspect(name) }

  async deletePipeline (name: string, opts?: { keepRepo?: boolean }): Promise<void> {
    // Under the engine lock already (Pipelines.delete takes it): the output repo goes in the same batch.
    await this.pipelines.delete(name, opts ?? {}, async ops => {
      if (await this.db.get(k('repo', name)) !== undefined) await this.repoDeleteOps(name, true, ops)
    }, async () => await this.logs.dropOps(name))
  }

  async setPipelineState (name: string, state: 'running' | 'stopped'): Promise<M.PipelineInfo> {
    return await this.pipelines.setState(name, state)
  }

  async listJobs (
    opts?: { pipeline?: string, commitSet?: string, waiting?: boolean } & M.PageOptions
  ): Promise<M.Page<M.JobInfo>> {
    return await this.pipelines.listJobs(opts ?? {})
  }

  async inspectJob (id: string): Promise<M.JobInfo> { return await this.pipelines.job(id) }

  async updateJob (id: string, update: M.JobUpdate): Promise<M.JobInfo> {
    return await this.pipelines.updateJob(id, update)
  }

  async putDatums (job: string, datums: M.DatumRecord[], opts?: { gone?: string[] }): Promise<void> {
    await this.pipelines.putDatums(job, datums, opts ?? {})
  }

  async listDatums (pipeline: string, opts?: { job?: string } & M.PageOptions): Promise<M.Page<M.DatumRecord>> {
    return await this.pipelines.listDatums(pipeline, opts ?? {})
  }

  async cachedDatums (pipeline: string, keys: string[]): Promise<Array<M.DatumRecord | null>> {
    return await this.pipelines.cachedDatums(pipeline, keys)
  }

  async appendLogs (job: string, lines: M.LogEntry[]): Promise<void> {
    await this.logs.append(job, lines)
  }

  async readLogs (query: M.LogQuery): Promise<M.Page<M.LogLine>> {
    return await this.logs.read(query)
  }

  // ---- branches ----
  async createBranch (repo: string, name: string, opts: { from?: string } = {}): Promise<M.BranchInfo> {
    checkRefName('branch', name)
    return await this.core.lock(async () => {
      await repoRec(this.db, repo)
      if (await this.db.get(k('br', repo, name)) !== undefined) throw exists('branch', `${repo}@${name}`)
      let head: string | null = null
      if (opts.from !== undefined) head = (await this.reader.finishedCommit(repo, opts.from))?.id ?? null
      const now = this.core.clock()
      const rec: BranchRec = { head, open: null, created: now }
      await journal(this.objects, { op: 'branch-set', time: now, repo, branch: name, head, created: now })
      await writeBatch(this.db, [
        { type: 'put', key: k('br', repo, name), value: rec },
        { type: 'put', key: k('rl', repo, name, now, 0), value: { head } }
      ])
      return this.changed(repo, branchInfo(repo, name, rec))
    })
  }

  async listBranches (repo: string): Promise<M.BranchInfo[]> {
    await repoRec(this.db, repo)
    const out: M.BranchInfo[] = []
    for await (const [key, rec] of range<BranchRec>(this.db, k('br', repo))) {
      out.push(branchInfo(repo, lastPart(key), rec))
    }
    return out
  }

  async inspectBranch (repo: string, name: string): Promise<M.BranchInfo> {
    return branchInfo(repo, name, await branchRec(this.db, repo, name))
  }

  async deleteBranch (repo: string, name: string): Promise<void> {
    await this.core.lock(async () => {
      const rec = await branchRec(this.db, repo, name)
      if (rec.open !== null) {
        throw conflict(`branch '${repo}@${name}' has an open write session; commit or abort it first`,
          { repo, branch: name })
      }
      const ops: Array<{ type: 'del', key: string }> = [{ type: 'del', key: k('br', repo, name) }]
      for await (const [key] of range(this.db, k('rl', repo, name))) ops.push({ type: 'del', key })
      await journal(this.objects, { op: 'branch-delete', time: this.core.clock(), repo, branch: name })
      await writeBatch(this.db, ops)
      this.changed(repo, undefined)
    })
  }

  // ---- commits (writes.ts) ----
  async startCommit (
    repo: string, branch: string, opts: { message?: string } & M.JobWriter = {}
  ): Promise<M.CommitInfo> {
    return this.changed(repo, await this.writer.start(repo, branch, opts))
  }

  async finishCommit (repo: string, branch: string, opts: M.FinishOptions = {}): Promise<M.CommitInfo> {
    return this.changed(repo, await this.writer.finish(repo, branch, opts))
  }

  async abortCommit (repo: string, branch: string, opts?: M.JobWriter): Promise<void> {
    this.changed(repo, await this.writer.abort(repo, branch, opts ?? {}))
  }

  async missing (ids: string[]): Promise<string[]> {
    return await this.writer.missing(ids)
  }

  async modify (repo: string, branch: string, ops: M.WriteOp[], opts: M.ModifyOptions = {}): Promise<M.ModifyResult> {
    return this.changed(repo, await this.writer.modify(repo, branch, ops, opts))
  }

  async stage (repo: string, ops: M.StageOp[], opts: M.StageOptions = {}): Promise<{ stage: string }> {
    return await this.writer.stage(repo, ops, opts)
  }

  async dropStage (repo: string, stage: string): Promise<void> {
    await this.writer.dropStage(repo, stage)
  }

  // ---- reads (reads.ts) ----
  async resolve (repo: string, rev: string): Promise<M.Resolved> {
    return await this.reader.resolve(repo, rev)
  }

  async inspectCommit (repo: string, rev: string): Promise<M.CommitInfo> {
    return await this.reader.inspectCommit(repo, rev)
  }

  async log (repo: string, rev: string, opts: { limit?: number } = {}): Promise<M.CommitInfo[]> {
    return await this.reader.log(repo, rev, opts)
  }

  async listCommits (repo: string, opts: M.PageOptions = {}): Promise<M.Page<M.CommitInfo>> {
    return await this.reader.listCommits(repo, opts)
  }

  async stat (repo: string, rev: string, p: string): Promise<M.FileInfo> {
    return await this.reader.stat(repo, rev, p)
  }

  async list (repo: string, rev: string, p: string, opts: M.PageOptions = {}): Promise<M.Page<M.FileInfo>> {
    return await this.reader.list(repo, rev, p, opts)
  }

  async walk (repo: string, rev: string, p: string, opts: M.PageOptions = {}): Promise<M.Page<M.FileInfo>> {
    return await this.reader.walk(repo, rev, p, opts)
  }

  async readPlan (repo: string, rev: string, p: string): Promise<M.ReadPlan> {
    return await this.reader.readPlan(repo, rev, p)
  }

  async diff (repo: string, from: string | null, to: string, opts?: M.DiffOptions): Promise<M.Change[]> {
    return await this.reader.diff(repo, from, to, opts ?? {})
  }

  // ---- maintenance (maintenance/) ----
  async du (opts?: { repo?: string }): Promise<M.DuReport> {
    // `?? {}`, not a default: a remote client's absent options arrive as JSON null.
    return await this.maintenance(async () => await diskUsage(this.core, opts ?? {}))
  }

  async gc (opts: { dryRun?: boolean } & ProgressOptions = {}): Promise<M.GcReport> {
    return await this.maintenance(async () => await this.core.lock(async () => await collectGarbage(this.core, opts)))
  }

  async fsck (opts: ProgressOptions = {}): Promise<M.FsckReport> {
    return await this.maintenance(async () => await checkStore(this.core, opts))
  }

  async rebuildIndex (opts: ProgressOptions = {}): Promise<M.RebuildReport> {
    return await this.core.lock(async () => await rebuildIndex(this.core, opts))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.core.lock(async () => {
      await this.db.close()
      await this.objects.close()
      if (this.ownerFile !== undefined) await rm(this.ownerFile, { force: true })
    })
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }

  private async repoInfo (rec: RepoRec): Promise<M.RepoInfo> {
    const branches: string[] = []
    const heads = new Set<string>()
    for await (const [key, b] of range<BranchRec>(this.db, k('br', rec.name))) {
      branches.push(lastPart(key))
      if (b.head !== null) heads.add(b.head)
    }
    let size = 0
    for (const h of heads) size += (await commitRec(this.db, h)).size
    return { name: rec.name, description: rec.description, created: rec.created, branches, size }
  }

  /** Tells listeners a repo changed; returns `value` so calls can wrap a result. */
  private changed<T> (repo: string, value: T): T {
    this.events.emit('change', repo)
    return value
  }
}
