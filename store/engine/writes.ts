/**
 * The write side: write sessions (open commits), `modify`, finishing and aborting.
 * Order inside every change: build objects -> make them durable (pack flush) -> one
 * atomic index batch. A crash before the batch leaves only unreferenced objects.
 */
import { randomBytes } from 'node:crypto'
import type * as M from '../api/meta.js'
import { checkRefName, normPath } from '../api/names.js'
import { conflict, invalidArgument, isPfsError, notFound } from '../api/errors.js'
import { type TreeEntry, INLINE_CHUNKS, chunksDigest, EMPTY_TREE, specialCode } from '../format/codec.js'
import { MutableTree, type EntryAttrs } from '../tree/mutable-tree.js'
import { entryAt, rootEntry } from '../tree/walk.js'
import {
  type BranchRec, type CommitRec, type BatchOp, type ObjRec, type StageRec, k, getMany, writeBatch
} from './index-db.js'
import { packOps } from './node-store.js'
import { registerObjects } from './registrations.js'
import { checkOps, checkOptions } from './op-checks.js'
import { journal, type JournalEvent } from './journal.js'
import { repoRec, branchRec, commitRec, publicCommit } from './records.js'
import type { Core } from './core.js'
import type { Reader } from './reads.js'
import type { Pipelines } from './pipelines.js'

const CHUNK_ID_RE = /^[0-9a-f]{64}$/
const STAGE_ID_RE = /^[0-9a-f]{32}$/
const STAGE_OPS: ReadonlySet<string> = new Set(['put', 'mkdir', 'symlink', 'mknod', 'setattr'])

export class Writer {
  constructor (private readonly core: Core, private readonly reader: Reader, private readonly pipelines: Pipelines) {}

  /** The branch record, creating the branch (empty) if it does not exist yet. */
  private async ensureBranch (
    repo: string, branch: string, ops: BatchOp[], events: JournalEvent[]
  ): Promise<BranchRec> {
    await repoRec(this.core.db, repo)
    const rec = await this.core.db.get(k('br', repo, branch)) as BranchRec | undefined
    if (rec !== undefined) return rec
    checkRefName('branch', branch)
    const now = this.core.clock()
    // Journaled only if the change that creates the branch goes through (see `commit`).
    events.push({ op: 'branch-set', time: now, repo, branch, head: null, created: now })
    ops.push({ type: 'put', key: k('rl', repo, branch, now, 0), value: { head: null } })
    return { head: null, open: null, created: now }
  }

  private async openCommit (
    repo: string, branch: string, br: BranchRec, message: string, ops: BatchOp[]
  ): Promise<CommitRec> {
    const parent = br.head === null ? null : await commitRec(this.core.db, br.head)
    const rec: CommitRec = {
      id: this.core.newCommitId(),
      repo,
      branch,
      parent: parent?.id ?? null,
      root: parent?.root ?? EMPTY_TREE,
      message,
      started: this.core.clock(),
      finished: null,
      size: parent?.size ?? 0,
      origin: 'user',
      provenance: { inputs: [] }
    }
    br.open = rec.id
    ops.push(
      { type: 'put', key: k('cid', repo, rec.id), value: '' },
      { type: 'put', key: k('ct', repo, rec.started, rec.id), value: '' }
    )
    return rec
  }

  async start (repo: string, branch: string, opts: { message?: string } & M.JobWriter): Promise<M.CommitInfo> {
    return await this.core.lock(async () => {
      await this.pipelines.checkWrite(repo, opts.job)
      const ops: BatchOp[] = []
      const events: JournalEvent[] = []
      const br = await this.ensureBranch(repo, branch, ops, events)
      if (br.open !== null) {
        throw conflict(`branch '${repo}@${branch}' already has an open write session ` +
          `(commit ${br.open.slice(0, 12)}); commit or abort it first`, { repo, branch, commit: br.open })
      }
      const rec = await this.openCommit(repo, branch, br, opts.message ?? '', ops)
      ops.push({ type: 'put', key: k('c', rec.id), value: rec }, { type: 'put', key: k('br', repo, branch), value: br })
      await this.commit(ops, events)
      return publicCommit(rec)
    })
  }

  async finish (repo: string, branch: string, opts: M.FinishOptions): Promise<M.CommitInfo> {
    return await this.core.lock(async () => {
      const br = await branchRec(this.core.db, repo, branch)
      if (br.open === null) {
        throw conflict(`branch '${repo}@${branch}' has no open write session: ` +
          'nothing to commit (`pfs start` or a put opens one)', { repo, branch })
      }
      await this.pipelines.checkWrite(repo, opts.job)
      if (opts.failed === true && opts.job === undefined) {
        throw invalidArgument('only a job marks its output commit failed', { repo, branch })
      }
      const rec = await commitRec(this.core.db, br.open)
      const ops: BatchOp[] = []
      await this.seal(rec, br, opts, ops)
      ops.push(...packOps(await this.core.nodes.flush()))
      await writeBatch(this.core.db, ops)
      return publicCommit(rec)
    })
  }

  /**
   * Makes an open commit immutable: writes its object, moves the branch head and queues
   * the jobs of the pipelines it feeds, all in the caller's batch. A failed job's output
   * (`failed`) is kept and marked, and moves nothing.
   */
  private async seal (rec: CommitRec, br: BranchRec, opts: M.FinishOptions, ops: BatchOp[]): Promise<void> {
    rec.finished = this.core.clock()
    if (opts.message !== undefined) rec.message = opts.message
    if (opts.provenance !== undefined) rec.provenance = opts.provenance
    if (opts.origin !== undefined) rec.origin = opts.origin
    if (opts.failed === true) rec.failed = true
    const info = publicCommit(rec)
    rec.obj = this.core.nodes.putCommit({ t: 'commit', ...info })
    br.open = null
    ops.push({ type: 'put', key: k('c', rec.id), value: rec })
    if (rec.failed !== true) {
      br.head = rec.id
      ops.push({ type: 'put', key: k('rl', rec.repo, rec.branch, rec.finished, 0), value: { head: rec.id } })
      ops.push(...await this.pipelines.onCommit(rec, opts.job))
    }
    ops.push({ type: 'put', key: k('br', rec.repo, rec.branch), value: br })
  }

  async abort (repo: string, branch: string, opts: M.JobWriter): Promise<void> {
    await this.core.lock(async () => {
      await this.pipelines.checkWrite(repo, opts.job)
      const br = await branchRec(this.core.db, repo, branch)
      if (br.open === null) {
        throw conflict(`branch '${repo}@${branch}' has no open write session to abort`, { repo, branch })
      }
      const rec = await commitRec(this.core.db, br.open)
      br.open = null
      await writeBatch(this.core.db, [
        { type: 'del', key: k('c', rec.id) },
        { type: 'del', key: k('cid', repo, rec.id) },
        { type: 'del', key: k('ct', repo, rec.started, rec.id) },
        { type: 'put', key: k('br', repo, branch), value: br }
      ])
    })
  }

  /** Journal events first (durable), then the index batch: rebuild sees what the index saw. */
  private async commit (ops: BatchOp[], events: JournalEvent[]): Promise<void> {
    for (const ev of events) await journal(this.core.objects, ev)
    await writeBatch(this.core.db, ops)
  }

  /** See store/api/pins.ts for the protocol. */
  async missing (ids: string[]): Promise<string[]> {
    if (!Array.isArray(ids)) throw invalidArgument('missing() takes a list of chunk ids')
    return await this.core.pins.missing(ids, async ids => {
      const recs = await getMany<ObjRec>(this.core.db, ids.map(id => k('o', id)))
      return recs.map(r => r !== undefined)
    })
  }

  async modify (repo: string, branch: string, wops: M.WriteOp[], opts: M.ModifyOptions): Promise<M.ModifyResult> {
    if (!Array.isArray(wops)) throw invalidArgument('modify() takes a list of operations')
    checkOps(wops)
    checkOptions(opts)
    return await this.core.lock(async () => {
      await this.pipelines.checkWrite(repo, opts.job)
      const ops: BatchOp[] = []
      const events: JournalEvent[] = []
      const br = await this.ensureBranch(repo, branch, ops, events)
      const opened = br.open === null
      const rec = br.open === null
        ? await this.openCommit(repo, branch, br, opts.message ?? '', ops)
        : await commitRec(this.core.db, br.open)
      try {
        ops.push(...await registerObjects(this.core, opts.objects ?? []))
        await this.checkChunks(wops, opts.objects ?? [])
        const now = this.core.clock()
        const tree = new MutableTree(this.core.nodes, rec.root, now)
        for (const op of wops) {
          if (op.op === 'merge') ops.push(await this.merge(tree, repo, op.stage, op.owners !== 'given'))
          else await this.apply(tree, op, now)
        }
        const root = await tree.flush()
        rec.root = root.hash
        rec.size = root.bytes
        const finished = opened && opts.keepOpen !== true
        if (finished) {
          await this.seal(rec, br, { message: opts.message, job: opts.job }, ops)
        } else {
          ops.push(
            { type: 'put', key: k('c', rec.id), value: rec },
            { type: 'put', key: k('br', repo, branch), value: br }
          )
        }
        ops.push(...packOps(await this.core.nodes.flush()))
        await this.commit(ops, events)
        return { commit: publicCommit(rec), finished }
      } catch (err) {
        this.core.nodes.discard()
        throw err
      }
    })
  }

  /** Lays a stage over the tree; returns the batch op that removes the stage. */
  private async merge (tree: MutableTree, repo: string, id: string, keep: boolean): Promise<BatchOp> {
    const rec = await this.stageRec(repo, id)
    await tree.merge(rec.root, '', { u: keep, g: keep })
    return { type: 'del', key: k('stg', id) }
  }

  private async stageRec (repo: string, id: unknown): Promise<StageRec> {
    if (typeof id !== 'string' || !STAGE_ID_RE.test(id)) {
      throw invalidArgument(`bad stage id ${JSON.stringify(id)?.slice(0, 40)}; expected 32 hex digits`)
    }
    const rec = await this.core.db.get(k('stg', id)) as StageRec | undefined
    if (rec === undefined || rec.repo !== repo) {
      throw notFound('stage', id, 'it was merged or dropped, or gc removed it after hours unused; put again')
    }
    return rec
  }

  async stage (repo: string, wops: M.StageOp[], opts: M.StageOptions): Promise<{ stage: string }> {
    if (!Array.isArray(wops)) throw invalidArgument('stage() takes a list of operations')
    for (const op of wops) {
      if (!STAGE_OPS.has((op as { op?: unknown } | null)?.op as string)) {
        const what = JSON.stringify(op)?.slice(0, 60)
        throw invalidArgument(`a stage takes only put, mkdir, symlink, mknod and setattr, not ${what}`)
      }
    }
    checkOps(wops)
    checkOptions(opts)
    return await this.core.lock(async () => {
      await repoRec(this.core.db, repo)
      const now = this.core.clock()
      const id = opts.stage ?? randomBytes(16).toString('hex')
      const rec: StageRec = opts.stage === undefined
        ? { repo, root: EMPTY_TREE, created: now, touched: now }
        : await this.stageRec(repo, opts.stage)
      try {
        const ops = await registerObjects(this.core, opts.objects ?? [])
        await this.checkChunks(wops, opts.objects ?? [])
        const tree = new MutableTree(this.core.nodes, rec.root, now)
        for (const op of wops) await this.apply(tree, op, now)
        rec.root = (await tree.flush()).hash
        rec.touched = now
        ops.push({ type: 'put', key: k('stg', id), value: rec }, ...packOps(await this.core.nodes.flush()))
        await writeBatch(this.core.db, ops)
        return { stage: id }
      } catch (err) {
        this.core.nodes.discard()
        throw err
      }
    })
  }

  async dropStage (repo: string, id: string): Promise<void> {
    await this.core.lock(async () => {
      try {
        await this.stageRec(repo, id)
      } catch (e) {
        if (isPfsError(e, 'NOT_FOUND')) return
        throw e
      }
      await writeBatch(this.core.db, [{ type: 'del', key: k('stg', id) }])
    })
  }

  /** Every chunk a put names is registered in this call (checked by registerObjects) or indexed. */
  private async checkChunks (wops: M.WriteOp[], objs: M.NewObject[]): Promise<void> {
    const known = new Set(objs.map(o => o.id))
    const want = new Set<string>()
    for (const op of wops) {
      if (op.op !== 'put') continue
      if (!Array.isArray(op.chunks)) throw invalidArgument(`put '${op.path}': chunks must be a list`)
      for (const c of op.chunks) {
        const bad = !Array.isArray(c) || typeof c[0] !== 'string' || !CHUNK_ID_RE.test(c[0]) ||
          !Number.isSafeInteger(c[1]) || c[1] < 0
        if (bad) {
          throw invalidArgument(`put '${op.path}': bad chunk reference ${JSON.stringify(c)?.slice(0, 100)}; ` +
            'expected [sha256 hex, size]')
        }
        if (!known.has(c[0])) want.add(c[0])
      }
    }
    const ids = [...want]
    const recs = await getMany<ObjRec>(this.core.db, ids.map(id => k('o', id)))
    const lost = ids.filter((_, i) => recs[i] === undefined)
    if (lost.length > 0) {
      throw conflict(`chunk ${lost[0].slice(0, 12)} is not in the store ` +
        '(it may have been garbage-collected during the upload); retry the put', { chunks: lost.slice(0, 10) })
    }
    this.core.pins.release(ids)
  }

  private async apply (tree: MutableTree, op: Exclude<M.WriteOp, { op: 'merge' }>, now: number): Promise<void> {
    const path = normPath(op.path)
    switch (op.op) {
      case 'put': {
        if (path === '') throw invalidArgument('put needs a file path, not the repository root')
        const e = this.fileEntry(op.chunks, op.mode ?? 0o644, op.mtime ?? now)
        await tree.put(path, withMeta(e, op), { keep: { u: op.uid === undefined, g: op.gid === undefined } }); return
      }
      case 'mkdir': {
        const attrs = withMeta({ m: (op.mode ?? 0o755) & 0o7777, t: op.mtime ?? now }, op)
        await tree.mkdir(path, attrs, op.parents ?? false); return
      }
      case 'symlink': {
        const link: TreeEntry = {
          n: '', k: 'l', s: Buffer.byteLength(op.target), m: 0o777, t: op.mtime ?? now,
          h: chunksDigest([]), l: op.target
        }
        await tree.put(path, withMeta(link, op)); return
      }
      case 'mknod': {
        if (path === '') throw invalidArgument('mknod needs a path, not the repository root')
        const node: TreeEntry = {
          n: '', k: specialCode(op.kind), s: 0, m: (op.mode ?? 0o644) & 0o7777, t: op.mtime ?? now, h: chunksDigest([])
        }
        if (op.rdev !== undefined) node.r = op.rdev
        await tree.put(path, withMeta(node, op)); return
      }
      case 'delete': {
        try {
          await tree.delete(path, op.recursive ?? false)
        } catch (e) {
          if (op.force !== true || !isPfsError(e, 'NOT_FOUND')) throw e
        }
        return
      }
      case 'rename': await tree.rename(normPath(op.from), path); return
      case 'setattr': await tree.setattr(path, op); return
      case 'copy': {
        const src = await this.reader.resolve(op.from.repo, op.from.rev)
        const from = normPath(op.from.path)
        const e = from === ''
          ? await rootEntry(this.core.nodes, src.root, now)
          : await entryAt(this.core.nodes, src.root, from, now)
        if (path === '') throw invalidArgument('cannot copy over the repository root')
        await tree.put(path, e); return
      }
      default: throw invalidArgument(`unknown operation '${(op as { op: string }).op}'`)
    }
  }

  private fileEntry (chunks: M.ChunkRef[], mode: number, mtime: number): TreeEntry {
    let size = 0
    // Shapes were checked by checkChunks before any op ran.
    for (const c of chunks) size += c[1]
    const base = { n: '', k: 'f' as const, s: size, m: mode & 0o7777, t: mtime }
    if (chunks.length <= INLINE_CHUNKS) return { ...base, h: chunksDigest(chunks), c: chunks }
    return { ...base, h: this.core.nodes.putManifest({ t: 'manifest', s: size, c: chunks }) }
  }
}

/**
 * An entry made by an op, with the owner and times the op gives. Its ctime is its mtime
 * (no `ct`): equal entries hash equal whenever they were written, and what a new entry
 * replaces is the tree's to check (MutableTree.put keeps ctimes from going back).
 */
function withMeta<T extends EntryAttrs> (e: T, op: M.EntryMeta & { mtime?: number }): T {
  if (op.mtimeNs !== undefined && op.mtimeNs !== 0 && op.mtime !== undefined) e.tn = op.mtimeNs
  if (op.uid != null) e.u = op.uid
  if (op.gid != null) e.g = op.gid
  if (op.atime !== undefined && !(op.atime === e.t && (op.atimeNs ?? 0) === (e.tn ?? 0))) {
    e.a = op.atime
    if (op.atimeNs !== undefined && op.atimeNs !== 0) e.an = op.atimeNs
  }
  return e
}
