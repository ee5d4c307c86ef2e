/** Rev resolution and the read-only calls of the engine. */
import type * as M from './meta.js'
import type { Engine } from './engine.js'
import { publicCommit } from './engine.js'
import { type CommitRec, type BranchRec, k, range } from './index-db.js'
import { parseRev, COMMIT_PREFIX_RE, TREE_REV_RE } from './revs.js'
import { normPath } from './names.js'
import { entryAt, listDir, walkDir, diffTrees, info, clampLimit } from './tree-walk.js'
import { EMPTY_TREE } from './codec.js'
import { PfsError, notFound, corrupt } from './errors.js'

export class Reader {
  constructor (private readonly e: Engine) {}

  async resolve (repo: string, rev: string): Promise<M.Resolved> {
    await this.e.repo(repo)
    const tree = TREE_REV_RE.exec(rev)
    if (tree !== null) return { repo, rev, commit: null, branch: null, root: tree[1], writable: false }
    const p = parseRev(rev)
    let rec: CommitRec | null
    let branch: string | null = null
    if (p.at !== undefined) {
      rec = await this.atTime(repo, p.base, p.at, rev)
    } else {
      const br = await this.e.db.get(k('br', repo, p.base)) as BranchRec | undefined
      if (br !== undefined) {
        const id = br.open ?? br.head
        rec = id === null ? null : await this.e.commit(id)
        if (p.back === 0) branch = p.base
      } else {
        rec = await this.byPrefix(repo, p.base, rev)
      }
    }
    for (let i = 0; i < p.back; i++) {
      if (rec === null || rec.parent === null) throw notFound('rev', `${repo}@${rev}`, 'it goes back past the first commit')
      rec = await this.e.commit(rec.parent)
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

  private async atTime (repo: string, branch: string, at: number, rev: string): Promise<CommitRec | null> {
    if (await this.e.db.get(k('br', repo, branch)) === undefined) throw notFound('branch', `${repo}@${branch}`)
    const hi = k('rl', repo, branch, at + 1)
    for await (const [, v] of range<{ head: string | null }>(this.e.db, k('rl', repo, branch), { reverse: true, after: hi, limit: 1 })) {
      return v.head === null ? null : await this.e.commit(v.head)
    }
    throw notFound('rev', `${repo}@${rev}`, `branch '${branch}' did not exist at ${new Date(at).toISOString()}`)
  }

  private async byPrefix (repo: string, prefix: string, rev: string): Promise<CommitRec> {
    if (!COMMIT_PREFIX_RE.test(prefix)) throw notFound('branch or commit', `${repo}@${rev}`, `see \`pfs branch list ${repo}\` and \`pfs log ${repo}\``)
    const found: string[] = []
    const lo = k('cid', repo, prefix)
    for await (const [key] of this.e.db.iterator({ gte: lo, lt: lo + '\uffff', limit: 2 })) found.push(key.slice(key.lastIndexOf('\x00') + 1))
    if (found.length === 0) throw notFound('branch or commit', `${repo}@${rev}`, `see \`pfs log ${repo}\``)
    if (found.length > 1) throw new PfsError('AMBIGUOUS', `commit prefix '${prefix}' is ambiguous in repo '${repo}' (${found.map(f => f.slice(0, 12)).join(', ')}...); give more characters`, { prefix })
    return await this.e.commit(found[0])
  }

  /** The finished commit a rev names; for a branch with an open session, its head. */
  async finishedCommit (repo: string, rev: string): Promise<M.CommitInfo | null> {
    const r = await this.resolve(repo, rev)
    if (r.commit === null || r.commit.finished !== null) return r.commit
    return r.commit.parent === null ? null : publicCommit(await this.e.commit(r.commit.parent))
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
      c = c.parent === null ? null : publicCommit(await this.e.commit(c.parent))
    }
    return out
  }

  async listCommits (repo: string, opts: { after?: string, limit?: number }): Promise<M.Page<M.CommitInfo>> {
    await this.e.repo(repo)
    const max = clampLimit(opts.limit)
    const entries: M.CommitInfo[] = []
    let next: string | undefined
    let after: string | undefined
    if (opts.after !== undefined) {
      const c = await this.e.commit(opts.after)
      after = k('ct', repo, c.started, c.id)
    }
    for await (const [key] of range(this.e.db, k('ct', repo), { reverse: true, after, limit: max + 1 })) {
      if (entries.length === max) { next = entries[max - 1].id; break }
      entries.push(publicCommit(await this.e.commit(key.slice(key.lastIndexOf('\x00') + 1))))
    }
    return next === undefined ? { entries } : { entries, next }
  }

  private async at (repo: string, rev: string, path: string): Promise<{ r: M.Resolved, path: string, id: string | null, mtime: number }> {
    const r = await this.resolve(repo, rev)
    const c = r.commit
    return { r, path: normPath(path), id: c?.id ?? null, mtime: c?.finished ?? c?.started ?? 0 }
  }

  async stat (repo: string, rev: string, path: string): Promise<M.FileInfo> {
    const a = await this.at(repo, rev, path)
    return info(await entryAt(this.e.nodes, a.r.root, a.path, a.mtime), a.path, a.id)
  }

  async list (repo: string, rev: string, path: string, opts: { after?: string, limit?: number }): Promise<M.Page<M.FileInfo>> {
    const a = await this.at(repo, rev, path)
    const dir = await entryAt(this.e.nodes, a.r.root, a.path, a.mtime)
    return await listDir(this.e.nodes, dir, a.path, a.id, opts.after, opts.limit)
  }

  async walk (repo: string, rev: string, path: string, opts: { after?: string, limit?: number }): Promise<M.Page<M.FileInfo>> {
    const a = await this.at(repo, rev, path)
    const dir = await entryAt(this.e.nodes, a.r.root, a.path, a.mtime)
    return await walkDir(this.e.nodes, dir, a.path, a.id, opts.after, opts.limit)
  }

  async readPlan (repo: string, rev: string, path: string): ReturnType<M.MetaApi['readPlan']> {
    const a = await this.at(repo, rev, path)
    const e = await entryAt(this.e.nodes, a.r.root, a.path, a.mtime)
    if (e.k === 'd') throw new PfsError('IS_A_DIRECTORY', `'${a.path}' is a folder; use \`pfs get\` or \`pfs ls\``, { path: a.path })
    if (e.k === 'l') throw new PfsError('INVALID_ARGUMENT', `'${a.path}' is a symbolic link to '${e.l ?? ''}'`, { path: a.path })
    const chunks = e.c ?? (await this.e.nodes.getManifest(e.h)).c
    const locs = await this.e.nodes.locateMany(chunks.map(c => c[0]))
    return {
      info: info(e, a.path, a.id),
      chunks: chunks.map(([id, size], i) => {
        const loc = locs[i]
        if (loc === undefined) throw corrupt(`chunk ${id.slice(0, 12)} of '${a.path}' is missing from the store; run \`pfs fsck\``, { id, path: a.path })
        return { id, size, loc }
      })
    }
  }

  async diff (repo: string, from: string | null, to: string, opts: { path?: string }): Promise<M.Change[]> {
    const b = await this.resolve(repo, to)
    let aRoot = EMPTY_TREE
    if (from !== null) aRoot = (await this.resolve(repo, from)).root
    else if (b.commit?.parent != null) aRoot = (await this.e.commit(b.commit.parent)).root
    const path = normPath(opts.path ?? '')
    const ea = await entryAt(this.e.nodes, aRoot, path, 0).catch(notFoundIsEmpty)
    const eb = await entryAt(this.e.nodes, b.root, path, 0).catch(notFoundIsEmpty)
    const out: M.Change[] = []
    await diffTrees(this.e.nodes, ea?.k === 'd' ? ea.h : EMPTY_TREE, eb?.k === 'd' ? eb.h : EMPTY_TREE, path, out)
    return out
  }
}

function notFoundIsEmpty (e: unknown): undefined {
  if (e instanceof PfsError && e.code === 'NOT_FOUND') return undefined
  throw e
}
