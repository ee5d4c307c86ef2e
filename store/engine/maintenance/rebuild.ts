/**
 * Rebuilds the LevelDB index from the object store alone: pack trailers and standalone
 * chunks give object locations, commit objects give commits and branch heads, and the
 * ref journal gives repos and branch moves that are not commits. Replayed in time order,
 * this reproduces the index of every finished commit. Open write sessions are mutable
 * state that lives only in the index; a rebuild drops them.
 *
 * Damage is skipped and reported, never fatal: a journal file that is not an event, a
 * pack whose trailer is cut or garbled (its objects cannot be located, so they are left
 * out; fsck then names the commits that needed them), a commit object whose bytes no
 * longer hash to its id. A branch whose head was such a commit falls back to its last
 * head that could be read (or empty), and says so; a commit whose parent was lost keeps
 * the parent's id, so `pfs log` stops there with a not-found naming it.
 */
import type { CommitInfo, RebuildReport } from '../../api/meta.js'
import { type ProgressOptions, throttle } from '../../api/progress.js'
import { readPackIndex, type PackedObject } from '../../format/pack.js'
import { type BatchOp, type RepoRec, type BranchRec, type CommitRec, k, writeBatch } from '../index-db.js'
import { packOps } from '../node-store.js'
import { readJournal, type JournalEvent, type SkippedFile } from '../journal.js'
import type { Core } from '../core.js'
import { isPfsError } from '../../api/errors.js'

type Ev = JournalEvent | { op: 'commit', time: number, rec: CommitRec }

/** The caller holds the engine lock. */
export async function rebuildIndex (
  e: Pick<Core, 'db' | 'nodes' | 'objects'>, opts: ProgressOptions
): Promise<RebuildReport> {
  const tick = throttle(opts.onProgress)
  const objs: PackedObject[] = []
  const journal = await readJournal(e.objects)
  const skipped: SkippedFile[] = journal.skipped
  const events: Ev[] = journal.events
  // A retired pack's live objects were copied to another pack before it was retired.
  const retired = new Map<string, number>()
  for (const ev of events) if (ev.op === 'pack-retired') retired.set(ev.key, ev.time)
  for await (const key of e.objects.list('packs/')) {
    if (retired.has(key)) continue
    try {
      objs.push(...await readPackIndex(e.objects, key))
    } catch (err) {
      if (!isPfsError(err, 'CORRUPT')) throw err
      skipped.push({ key, problem: `pack left out, its objects cannot be located: ${messageOf(err)}` })
    }
    tick({ phase: 'packs', done: objs.length })
  }
  for await (const key of e.objects.list('chunks/')) {
    const st = await e.objects.stat(key)
    if (st !== undefined) {
      objs.push({ id: key.slice(key.lastIndexOf('/') + 1), type: 'chunk', loc: { key, offset: 0, length: st.size } })
    }
  }
  for (const o of objs) {
    if (o.type !== 'commit') continue
    let info: CommitInfo & { t?: string }
    try {
      info = await e.nodes.getCommitAt(o.id, o.loc) as CommitInfo & { t?: string }
    } catch (err) {
      if (!isPfsError(err, 'CORRUPT')) throw err
      skipped.push({ key: o.loc.key, problem: `commit object ${o.id} left out: ${messageOf(err)}` })
      continue
    }
    const { t: _t, ...rest } = info
    if (rest.finished !== null) events.push({ op: 'commit', time: rest.finished, rec: { ...rest, obj: o.id } })
  }
  events.sort((a, b) => a.time - b.time)
  const state = replay(events)
  skipped.push(...fallBack(state))
  const ops: BatchOp[] = packOps(objs)
  for (const r of state.repos.values()) ops.push({ type: 'put', key: k('repo', r.name), value: r })
  for (const [key, b] of state.branches) ops.push({ type: 'put', key, value: b })
  for (const c of state.commits.values()) {
    ops.push(
      { type: 'put', key: k('c', c.id), value: c },
      { type: 'put', key: k('cid', c.repo, c.id), value: '' },
      { type: 'put', key: k('ct', c.repo, c.started, c.id), value: '' }
    )
  }
  for (const [key, v] of state.reflog) ops.push({ type: 'put', key, value: v })
  for (const [key, time] of retired) {
    if (await e.objects.has(key)) ops.push({ type: 'put', key: k('rt', key), value: { since: time } })
  }
  await e.db.clear()
  for (let i = 0; i < ops.length; i += 10_000) await writeBatch(e.db, ops.slice(i, i + 10_000))
  e.nodes.clearCache()
  tick({ phase: 'index', done: ops.length }, true)
  return { commits: state.commits.size, objects: objs.length, repos: state.repos.size, skipped }
}

type State = ReturnType<typeof replay>

/**
 * Branches whose head is a commit the rebuild could not read go back to their last
 * readable head (from the reflog), or to empty; reflog entries naming a lost commit go.
 */
function fallBack (state: State): SkippedFile[] {
  const out: SkippedFile[] = []
  const known = (head: string | null): boolean => head === null || state.commits.has(head)
  for (const [key, v] of state.reflog) if (!known(v.head)) state.reflog.delete(key)
  for (const [key, b] of state.branches) {
    if (known(b.head)) continue
    const [, repo, branch] = key.split('\x00')
    let head: string | null = null
    for (const [rl, v] of state.reflog) if (rl.startsWith(k('rl', repo, branch) + '\x00')) head = v.head
    out.push({
      key: `${repo}@${branch}`,
      problem: `branch head ${String(b.head)} was lost; the branch now points at ` +
        (head === null ? 'nothing (empty)' : `${head}, its last head that could be read`)
    })
    b.head = head
  }
  return out
}

/** An error's message without the advice to run fsck: the report is fsck's. */
function messageOf (err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/; run `pfs fsck`$/, '')
}

function replay (events: readonly Ev[]): {
  repos: Map<string, RepoRec>
  branches: Map<string, BranchRec>
  commits: Map<string, CommitRec>
  reflog: Map<string, { head: string | null }>
} {
  const repos = new Map<string, RepoRec>()
  const branches = new Map<string, BranchRec>()
  const commits = new Map<string, CommitRec>()
  const reflog = new Map<string, { head: string | null }>()
  const dropRepo = (repo: string): void => {
    for (const m of [branches, reflog]) for (const key of m.keys()) if (key.split('\x00')[1] === repo) m.delete(key)
    for (const [id, c] of commits) if (c.repo === repo) commits.delete(id)
  }
  for (const ev of events) {
    switch (ev.op) {
      case 'repo-create':
        dropRepo(ev.repo)
        repos.set(ev.repo, { name: ev.repo, description: ev.description, created: ev.time })
        break
      case 'repo-delete': dropRepo(ev.repo); repos.delete(ev.repo); break
      case 'branch-set': {
        if (!repos.has(ev.repo)) break
        const key = k('br', ev.repo, ev.branch)
        const old = branches.get(key)
        branches.set(key, { head: ev.head, open: null, created: ev.created ?? old?.created ?? ev.time })
        reflog.set(k('rl', ev.repo, ev.branch, ev.time, 0), { head: ev.head })
        break
      }
      case 'pack-retired': break
      case 'branch-delete':
        branches.delete(k('br', ev.repo, ev.branch))
        for (const key of reflog.keys()) if (key.startsWith(k('rl', ev.repo, ev.branch) + '\x00')) reflog.delete(key)
        break
      case 'commit': {
        const c = ev.rec
        const repo = repos.get(c.repo)
        if (repo === undefined || c.started < repo.created) break
        commits.set(c.id, c)
        const key = k('br', c.repo, c.branch)
        const b = branches.get(key)
        // A failed job's output commit is kept but never moved its branch.
        if (b !== undefined && c.failed !== true) {
          b.head = c.id
          reflog.set(k('rl', c.repo, c.branch, ev.time, 0), { head: c.id })
        }
        break
      }
    }
  }
  return { repos, branches, commits, reflog }
}
