/** Rev resolution and the read-only calls of the engine. */
import type * as M from '../api/meta.js'
import { parseRev, COMMIT_PREFIX_RE, TREE_REV_RE } from '../api/revs.js'
import { normPath } from '../api/names.js'
import { PfsError, notFound, corrupt, invalidArgument } from '../api/errors.js'
import { EMPTY_TREE, kindOf } from '../format/codec.js'
import { entryAt, listDir, walkDir, diffTrees, info, clampLimit } from '../tree/walk.js'
import { type CommitRec, type BranchRec, k, range, lastPart } from './index-db.js'
import { repoRec, commitRec, publicCommit } from './records.js'
import type { Core } from './core.js'

export class Reader {
  constructor (private readonly core: Pick<Core, 'db' | 'nodes'>) {}

  async resolve (repo: string, rev: string): Promise<M.Resolved> {
    await repoRec(this.core.db, repo)
    const tree = TREE_REV_RE.exec(rev)
    if (tree !== null) return { repo, rev, commit: null, branch: null, root: tree[1], writable: false }
    const p = parseRev(rev)
    let rec: CommitRec | null
    let branch: string | null = null
    if (p.at !== undefined) {
      rec = await this.atTime(repo, p.base, p.at, rev)
    } else {
      const br = await this.core.db.get(k('br', repo, p.base)) as BranchRec | undefined
      if (br !== undefined) {
        const id = br.open ?? br.head
        rec = id === null ? null : await this.commit(id)
        if (p.back === 0) branch = p.base
      } else {
        rec = await this.byPrefix(repo, p.base, rev)
      }
    }
    for (let i = 0; i < p.back; i++) {
      if (rec === null || rec.parent === null) {
        throw notFound('rev', `${repo}@${rev}`, 'it goes back past the first commit')
      }
      rec = await this.commit(rec.parent)
    }
    return {
      repo,
      rev,
      commit: rec === null ? null : publicCommit(rec),
      branch,
      root: rec?.root ?? EMPTY_TREE,
      writable: branch !== null
    }
  }

  private async commit (id: string): Promise<CommitRec> {
    return await commitRec(this.core.db, id)
  }

  private async atTime (repo: string, branch: string, at: number, rev: string): Promise<CommitRec | null> {
    if (await this.core.db.get(k('br', repo, branch)) === undefined) throw notFound('branch', `${repo}@${branch}`)
    const hi = k('rl', repo, branch, at + 1)
    const before = range<{ head: string | null }>(
      this.core.db, k('rl', repo, branch), { reverse: true, after: hi, limit: 1 }
    )
    for await (const [, v] of before) return v.head === null ? null : await this.commit(v.head)
    throw notFound('rev', `${repo}@${rev}`, `branch '${branch}' did not exist at ${new Date(at).toISOString()}`)
  }

  private async byPrefix (repo: string, prefix: string, rev: string): Promise<CommitRec> {
    if (!COMMIT_PREFIX_RE.test(prefix)) {
      throw notFound('branch or commit', `${repo}@${rev}`, `see \`pfs branch list ${repo}\` and \`pfs log ${repo}\``)
    }
    const found: string[] = []
    const lo = k('cid', repo, prefix)
    for await (const [key] of this.core.db.iterator({ gte: lo, lt: lo + '\uffff', limit: 2 })) found.push(lastPart(key))
    if (found.length === 0) throw notFound('branch or commit', `${repo}@${rev}`, `see \`pfs log ${repo}\``)
    if (found.length > 1) {
      const ids = found.map(f => f.slice(0, 12)).join(', ')
      throw new PfsError('AMBIGUOUS',
        `commit prefix '${prefix}' is ambiguous in repo '${repo}' (${ids}...); give more characters`, { prefix })
    }
    return await this.commit(found[0])
  }

  /** The finished commit a rev names; for a branch with an open session, its head. */
  async finishedCommit (repo: string, rev: string): Promise<M.CommitInfo | null> {
    const r = await this.resolve(repo, rev)
    if (r.commit === null || r.commit.finished !== null) return r.commit
    return r.commit.parent === null ? null : publicCommit(await this.commit(r.commit.parent))
  }

  async inspectCommit (repo: string, rev: string): Promise<M.CommitInfo> {
    const r = await this.resolve(repo, rev)
    if (r.commit === null) throw notFound('commit', `${repo}@${rev}`, 'the branch has no commits yet')
    return r.commit
  }

  async log (repo: string, rev: string, opts: { limit?: number }): Promise<M.CommitInfo[]> {
    const r = await this.resolve(repo, rev)
    const out: M.CommitInfo[] = []
    const limit = opts.limit ?? Infinity
    let c = r.commit
    while (c !== null && out.length < limit) {
      out.push(c)
      c = c.parent === null ? null : publicCommit(await this.commit(c.parent))
    }
    return out
  }

  async listCommits (repo: string, opts: M.PageOptions): Promise<M.Page<M.CommitInfo>> {
    await repoRec(this.core.db, repo)
    const max = clampLimit(opts.limit)
    const entries: M.CommitInfo[] = []
    let next: string | undefined
    let after: string | undefined
    if (opts.after !== undefined) {
      const c = await this.commit(opts.after)
      after = k('ct', repo, c.started, c.id)
    }
    for await (const [key] of range(this.core.db, k('ct', repo), { reverse: true, after, limit: max + 1 })) {
      if (entries.length === max) { next = entries[max - 1].id; break }
      entries.push(publicCommit(await this.commit(lastPart(key))))
    }
    return next === undefined ? { entries } : { entries, next }
  }

  private async at (
    repo: string, rev: string, path: string
  ): Promise<{ root: string, path: string, id: string | null, mtime: number }> {
    const r = await this.resolve(repo, rev)
    const c = r.commit
    return { root: r.root, path: normPath(path), id: c?.id ?? null, mtime: c?.finished ?? c?.started ?? 0 }
  }

  async stat (repo: string, rev: string, path: string): Promise<M.FileInfo> {
    const a = await this.at(repo, rev, path)
    return info(await entryAt(this.core.nodes, a.root, a.path, a.mtime), a.path, a.id)
  }

  async list (repo: string, rev: string, path: string, opts: M.PageOptions): Promise<M.Page<M.FileInfo>> {
    const a = await this.at(repo, rev, path)
    const dir = await entryAt(this.core.nodes, a.root, a.path, a.mtime)
    return await listDir(this.core.nodes, dir, a.path, a.id, opts.after, opts.limit)
  }

  async walk (repo: string, rev: string, path: string, opts: M.PageOptions): Promise<M.Page<M.FileInfo>> {
    const a = await this.at(repo, rev, path)
    const dir = await entryAt(this.core.nodes, a.root, a.path, a.mtime)
    return await walkDir(this.core.nodes, dir, a.path, a.id, opts.after, opts.limit)
  }

  async readPlan (repo: string, rev: string, path: string): Promise<M.ReadPlan> {
    const a = await this.at(repo, rev, path)
    const e = await entryAt(this.core.nodes, a.root, a.path, a.mtime)
    if (e.k === 'd') {
      throw new PfsError('IS_A_DIRECTORY', `'${a.path}' is a folder; use \`pfs get\` or \`pfs ls\``, { path: a.path })
    }
    if (e.k === 'l') {
      throw new PfsError('INVALID_ARGUMENT', `'${a.path}' is a symbolic link to '${e.l ?? ''}'`, { path: a.path })
    }
    if (e.k !== 'f') {
      const what = `'${a.path}' is a ${kindOf(e.k)}, which has no content to read`
      throw new PfsError('INVALID_ARGUMENT', what, { path: a.path })
    }
    const chunks = e.c ?? (await this.core.nodes.getManifest(e.h)).c
    const locs = await this.core.nodes.locateMany(chunks.map(c => c[0]))
    return {
      info: info(e, a.path, a.id),
      chunks: chunks.map(([id, size], i) => {
        const loc = locs[i]
        if (loc === undefined) {
          throw corrupt(`chunk ${id.slice(0, 12)} of '${a.path}' is missing from the store; run \`pfs fsck\``,
            { id, path: a.path })
        }
        return { id, size, loc }
      })
    }
  }

  async diff (
    repo: string, from: string | null, to: string, opts: M.DiffOptions
  ): Promise<M.Change[]> {
    const levels = opts.levels
    if (levels !== undefined && !(Number.isSafeInteger(levels) && levels >= 1)) {
      throw invalidArgument(`diff levels must be a whole number from 1, not ${JSON.stringify(levels)}`)
    }
    const b = await this.resolve(repo, to)
    let aRoot = EMPTY_TREE
    if (from !== null) aRoot = (await this.resolve(repo, from)).root
    else if (b.commit?.parent != null) aRoot = (await this.commit(b.commit.parent)).root
    const path = normPath(opts.path ?? '')
    const ea = await entryAt(this.core.nodes, aRoot, path, 0).catch(notFoundIsEmpty)
    const eb = await entryAt(this.core.nodes, b.root, path, 0).catch(notFoundIsEmpty)
    const out: M.Change[] = []
    const [a, b2] = [ea?.k === 'd' ? ea.h : EMPTY_TREE, eb?.k === 'd' ? eb.h : EMPTY_TREE]
    await diffTrees(this.core.nodes, a, b2, path, out, levels)
    return out
  }
}

function notFoundIsEmpty (e: unknown): undefined {
  if (e instanceof PfsError && e.code === 'NOT_FOUND') return undefined
  throw e
}
