/**
 * The embedded engine: MetaApi over a LevelDB index and an object store. It owns the
 * index, so exactly one process runs it per store (`pfs serve`, `pfs mount`, or a
 * one-off command when no server runs). State changes run one at a time under a mutex;
 * each is one atomic LevelDB batch written after the objects it refers to are durable.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { mkdir, readFile, writeFile, rm, rename } from 'node:fs/promises'
import path from 'node:path'
import type * as M from './meta.js'
import { type ObjectStore } from './objects/object-store.js'
import { LocalObjectStore } from './objects/local.js'
import { EMPTY_TREE } from './codec.js'
import { NodeStore } from './node-store.js'
import { type Db, type RepoRec, type BranchRec, type CommitRec, openDb, k, range, writeBatch } from './index-db.js'
import { Mutex, monotonicClock } from './lock.js'
import { checkRefName } from './names.js'
import { notFound, exists, conflict, corrupt } from './errors.js'
import { journal } from './journal.js'
import { Reader } from './engine-reads.js'
import { Writer } from './engine-writes.js'
import { collectGarbage } from './gc.js'
import { checkStore } from './fsck.js'
import { rebuildIndex } from './rebuild.js'
import { diskUsage } from './du.js'

export const VERSION = '0.1.0'

export interface EngineOptions {
  /** Object store to use instead of `<store>/objects` (e.g. S3). */
  objects?: ObjectStore
  objectsConfig?: M.StoreConfig['objects']
  clock?: () => number
  chunking?: { min: number, avg: number, max: number }
  packThreshold?: number
  /** What to record as the index owner, for "store in use" messages. */
  command?: string
}

interface StoreFile { version: 1, chunking: { min: number, avg: number, max: number }, packThreshold: number }

const DEFAULTS: StoreFile = { version: 1, chunking: { min: 512 << 10, avg: 1 << 20, max: 4 << 20 }, packThreshold: 256 << 10 }

export async function openEngine (storeDir: string, opts: EngineOptions = {}): Promise<Engine> {
  const dir = path.resolve(storeDir)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const cfgFile = path.join(dir, 'config.json')
  const cfg = await loadConfig(cfgFile, opts)
  const owner = path.join(dir, 'owner.json')
  const db = await openDb(path.join(dir, 'index'), owner)
  await writeFile(owner, JSON.stringify({ pid: process.pid, command: opts.command ?? process.argv.slice(2, 4).join(' ') }))
  const objects = opts.objects ?? new LocalObjectStore(path.join(dir, 'objects'))
  const objectsConfig = opts.objectsConfig ?? { kind: 'local', path: path.join(dir, 'objects') }
  return new Engine(dir, db, objects, {
    objects: objectsConfig, chunking: cfg.chunking, packThreshold: cfg.packThreshold, version: VERSION
  }, opts.clock ?? monotonicClock(), owner)
}

/**
 * The store's fixed settings, made on first use. A damaged file is an error, never
 * silently replaced: other chunking settings would stop deduplication against old data.
 */
async function loadConfig (file: string, opts: EngineOptions): Promise<StoreFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    const cfg: StoreFile = { ...DEFAULTS, chunking: opts.chunking ?? DEFAULTS.chunking, packThreshold: opts.packThreshold ?? DEFAULTS.packThreshold }
    const tmp = `${file}.tmp-${process.pid}`
    await writeFile(tmp, JSON.stringify(cfg, null, 2) + '\n')
    await rename(tmp, file)
    return cfg
  }
  let cfg: StoreFile
  try {
    cfg = JSON.parse(text) as StoreFile
  } catch {
    throw corrupt(`store settings ${file} are not valid JSON; restore the file (it holds the chunking settings) or move the store aside`, { file })
  }
  if (cfg.version !== 1) throw corrupt(`store settings ${file} have version ${String(cfg.version)}; this pfs reads version 1 — upgrade pfs`, { file })
  return cfg
}

export class Engine implements M.MetaApi {
  readonly nodes: NodeStore
  readonly lock = new Mutex()
  /** Serializes gc with fsck and du, which must not see a pack gc is replacing. */
  readonly maintenance = new Mutex()
  /** Chunk ids promised to a writer by `missing`, and when: gc keeps them for an hour. */
  readonly pins = new Map<string, number>()
  /** 'change' (repo) after every state change, for in-process caches (the mount's). */
  readonly events = new EventEmitter()
  /** Set while gc sweeps: `missing` waits for it, so it never promises a chunk being deleted. */
  sweepGate: Promise<void> | null = null
  /** `missing` calls under way, which gc lets finish (and pin) before it sweeps. */
  readonly missingCalls = new Set<Promise<unknown>>()
  readonly reader: Reader
  readonly writer: Writer
  private closed = false

  constructor (
    readonly storeDir: string,
    readonly db: Db,
    readonly objects: ObjectStore,
    readonly storeConfig: M.StoreConfig,
    readonly clock: () => number,
    private readonly ownerFile?: string
  ) {
    this.nodes = new NodeStore(db, objects)
    this.reader = new Reader(this)
    this.writer = new Writer(this)
  }

  async config (): Promise<M.StoreConfig> { return this.storeConfig }

  // ---- repos ----
  async createRepo (name: string, opts: { description?: string } = {}): Promise<M.RepoInfo> {
    checkRefName('repo', name)
    return await this.lock.run(async () => {
      if (await this.db.get(k('repo', name)) !== undefined) throw exists('repo', name)
      const rec: RepoRec = { name, description: opts.description ?? '', created: this.clock() }
      await journal(this.objects, { op: 'repo-create', time: rec.created, repo: name, description: rec.description })
      await writeBatch(this.db, [{ type: 'put', key: k('repo', name), value: rec }])
      this.events.emit('change', name)
      return await this.repoInfo(rec)
    })
  }

  async listRepos (): Promise<M.RepoInfo[]> {
    const out: M.RepoInfo[] = []
    for await (const [, rec] of range<RepoRec>(this.db, 'repo')) out.push(await this.repoInfo(rec))
    return out
  }

  async inspectRepo (name: string): Promise<M.RepoInfo> {
    return await this.repoInfo(await this.repo(name))
  }

  async deleteRepo (name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.lock.run(async () => {
      await this.repo(name)
      const ops: Array<{ type: 'del', key: string }> = []
      let commits = 0
      for await (const [key] of range(this.db, k('cid', name))) {
        commits++
        ops.push({ type: 'del', key }, { type: 'del', key: k('c', key.slice(key.lastIndexOf('\x00') + 1)) })
      }
      if (commits > 0 && opts.force !== true) {
        throw conflict(`repo '${name}' has ${commits} commit(s); delete it with --force to discard them`, { repo: name, commits })
      }
      for (const p of ['ct', 'rl', 'br']) for await (const [key] of range(this.db, k(p, name))) ops.push({ type: 'del', key })
      ops.push({ type: 'del', key: k('repo', name) })
      await journal(this.objects, { op: 'repo-delete', time: this.clock(), repo: name })
      await writeBatch(this.db, ops)
      this.events.emit('change', name)
    })
  }

  // ---- branches ----
  async createBranch (repo: string, name: string, opts: { from?: string } = {}): Promise<M.BranchInfo> {
    checkRefName('branch', name)
    return await this.lock.run(async () => {
      await this.repo(repo)
      if (await this.db.get(k('br', repo, name)) !== undefined) throw exists('branch', `${repo}@${name}`)
      let head: string | null = null
      if (opts.from !== undefined) head = (await this.reader.finishedCommit(repo, opts.from))?.id ?? null
      const now = this.clock()
      const rec: BranchRec = { head, open: null, created: now }
      await journal(this.objects, { op: 'branch-set', time: now, repo, branch: name, head, created: now })
      await writeBatch(this.db, [
        { type: 'put', key: k('br', repo, name), value: rec },
        { type: 'put', key: k('rl', repo, name, now, 0), value: { head } }
      ])
      this.events.emit('change', repo)
      return branchInfo(repo, name, rec)
    })
  }

  async listBranches (repo: string): Promise<M.BranchInfo[]> {
    await this.repo(repo)
    const out: M.BranchInfo[] = []
    for await (const [key, rec] of range<BranchRec>(this.db, k('br', repo))) out.push(branchInfo(repo, key.slice(key.lastIndexOf('\x00') + 1), rec))
    return out
  }

  async inspectBranch (repo: string, name: string): Promise<M.BranchInfo> {
    return branchInfo(repo, name, await this.branch(repo, name))
  }

  async deleteBranch (repo: string, name: string): Promise<void> {
    await this.lock.run(async () => {
      const rec = await this.branch(repo, name)
      if (rec.open !== null) throw conflict(`branch '${repo}@${name}' has an open write session; commit or abort it first`, { repo, branch: name })
      const ops: Array<{ type: 'del', key: string }> = [{ type: 'del', key: k('br', repo, name) }]
      for await (const [key] of range(this.db, k('rl', repo, name))) ops.push({ type: 'del', key })
      await journal(this.objects, { op: 'branch-delete', time: this.clock(), repo, branch: name })
      await writeBatch(this.db, ops)
      this.events.emit('change', repo)
    })
  }

  // ---- commits (write side lives in engine-writes.ts) ----
  async startCommit (repo: string, branch: string, opts: { message?: string } = {}): Promise<M.CommitInfo> {
    return this.changed(repo, await this.writer.start(repo, branch, opts))
  }

  async finishCommit (repo: string, branch: string, opts: { message?: string, provenance?: M.Provenance, origin?: 'user' | 'pipeline' } = {}): Promise<M.CommitInfo> {
    return this.changed(repo, await this.writer.finish(repo, branch, opts))
  }

  async abortCommit (repo: string, branch: string): Promise<void> { this.changed(repo, await this.writer.abort(repo, branch)) }
  async missing (ids: string[]): Promise<string[]> { return await this.writer.missing(ids) }
  async modify (repo: string, branch: string, ops: M.WriteOp[], opts: M.ModifyOptions = {}): Promise<M.ModifyResult> {
    return this.changed(repo, await this.writer.modify(repo, branch, ops, opts))
  }

  // ---- reads (engine-reads.ts) ----
  async resolve (repo: string, rev: string): Promise<M.Resolved> { return await this.reader.resolve(repo, rev) }
  async inspectCommit (repo: string, rev: string): Promise<M.CommitInfo> { return await this.reader.inspectCommit(repo, rev) }
  async log (repo: string, rev: string, opts: { limit?: number } = {}): Promise<M.CommitInfo[]> { return await this.reader.log(repo, rev, opts) }
  async listCommits (repo: string, opts: { after?: string, limit?: number } = {}): Promise<M.Page<M.CommitInfo>> { return await this.reader.listCommits(repo, opts) }
  async stat (repo: string, rev: string, p: string): Promise<M.FileInfo> { return await this.reader.stat(repo, rev, p) }
  async list (repo: string, rev: string, p: string, opts: { after?: string, limit?: number } = {}): Promise<M.Page<M.FileInfo>> { return await this.reader.list(repo, rev, p, opts) }
  async walk (repo: string, rev: string, p: string, opts: { after?: string, limit?: number } = {}): Promise<M.Page<M.FileInfo>> { return await this.reader.walk(repo, rev, p, opts) }
  async readPlan (repo: string, rev: string, p: string): ReturnType<M.MetaApi['readPlan']> { return await this.reader.readPlan(repo, rev, p) }
  async diff (repo: string, from: string | null, to: string, opts: { path?: string } = {}): Promise<M.Change[]> { return await this.reader.diff(repo, from, to, opts) }

  // ---- maintenance ----
  async du (opts: { repo?: string } = {}): Promise<M.DuReport> { return await this.maintenance.run(async () => await diskUsage(this, opts)) }
  async gc (opts: { dryRun?: boolean } & M.ProgressOptions = {}): Promise<M.GcReport> { return await this.maintenance.run(async () => await collectGarbage(this, opts)) }
  async fsck (opts: M.ProgressOptions = {}): Promise<M.FsckReport> { return await this.maintenance.run(async () => await checkStore(this, opts)) }
  async rebuildIndex (opts: M.ProgressOptions = {}): Promise<{ commits: number, objects: number, repos: number }> {
    return await this.lock.run(async () => await rebuildIndex(this, opts))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.lock.run(async () => {
      await this.db.close()
      await this.objects.close()
      if (this.ownerFile !== undefined) await rm(this.ownerFile, { force: true })
    })
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }

  // ---- helpers shared with the read/write modules ----
  async repo (name: string): Promise<RepoRec> {
    const rec = await this.db.get(k('repo', name)) as RepoRec | undefined
    if (rec === undefined) throw notFound('repo', name, 'see `pfs repo list`')
    return rec
  }

  async branch (repo: string, name: string): Promise<BranchRec> {
    await this.repo(repo)
    const rec = await this.db.get(k('br', repo, name)) as BranchRec | undefined
    if (rec === undefined) throw notFound('branch', `${repo}@${name}`, `see \`pfs branch list ${repo}\``)
    return rec
  }

  async commit (id: string): Promise<CommitRec> {
    const rec = await this.db.get(k('c', id)) as CommitRec | undefined
    if (rec === undefined) throw notFound('commit', id)
    return rec
  }

  private async repoInfo (rec: RepoRec): Promise<M.RepoInfo> {
    const branches: string[] = []
    const heads = new Set<string>()
    for await (const [key, b] of range<BranchRec>(this.db, k('br', rec.name))) {
      branches.push(key.slice(key.lastIndexOf('\x00') + 1))
      if (b.head !== null) heads.add(b.head)
    }
    let size = 0
    for (const h of heads) size += (await this.commit(h)).size
    return { name: rec.name, description: rec.description, created: rec.created, branches, size }
  }

  newCommitId (): string { return randomBytes(16).toString('hex') }

  /** Tells listeners a repo changed; returns `value` so calls can wrap a result. */
  changed<T> (repo: string, value: T): T {
    this.events.emit('change', repo)
    return value
  }
  emptyTree (): string { return EMPTY_TREE }
}

export function branchInfo (repo: string, name: string, rec: BranchRec): M.BranchInfo {
  return { repo, name, head: rec.head, open: rec.open, created: rec.created }
}

export function publicCommit (rec: CommitRec): M.CommitInfo {
  const { obj: _obj, ...info } = rec
  return info
}
