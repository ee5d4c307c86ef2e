/** Walking trees: entries by path, paged listings and walks, and diffs that skip equal subtrees. */
import { type TreeEntry, type TreeNode, kindOf } from '../format/codec.js'
import { type NodeIO, lookupEntry, iterDir, dirStats } from './tree.js'
import type { FileInfo, Page, Change } from '../api/meta.js'
import { PfsError, notFound } from '../api/errors.js'
import { joinPath } from '../api/names.js'

const MAX_PAGE = 10_000
const DEFAULT_PAGE = 1000

export function info (e: TreeEntry, path: string, commit: string | null): FileInfo {
  const f: FileInfo = { path, name: e.n, kind: kindOf(e.k), size: e.s, mode: e.m, mtime: e.t, hash: e.h, commit }
  if (e.l !== undefined) f.target = e.l
  if (e.x !== undefined) f.count = e.x
  if (e.u !== undefined) f.uid = e.u
  if (e.g !== undefined) f.gid = e.g
  if (e.a !== undefined) f.atime = e.a
  if (e.ct !== undefined) f.ctime = e.ct
  if (e.tn !== undefined) f.mtimeNs = e.tn
  if (e.an !== undefined) f.atimeNs = e.an
  if (e.r !== undefined) f.rdev = e.r
  return f
}

export async function rootEntry (io: NodeIO, root: string, mtime: number): Promise<TreeEntry> {
  const st = dirStats(await io.getNode(root))
  return { n: '', k: 'd', s: st.bytes, m: 0o755, t: mtime, h: root, x: st.count }
}

/** The entry at `path` (normalized), or NOT_FOUND / NOT_A_DIRECTORY. */
export async function entryAt (io: NodeIO, root: string, path: string, rootMtime: number): Promise<TreeEntry> {
  let e = await rootEntry(io, root, rootMtime)
  if (path === '') return e
  let sofar = ''
  for (const name of path.split('/')) {
    if (e.k !== 'd') throw new PfsError('NOT_A_DIRECTORY', `'${sofar}' is a file, not a folder`, { path: sofar })
    sofar = joinPath(sofar, name)
    const next = await lookupEntry(io, e.h, name)
    if (next === undefined) throw notFound('path', path)
    e = next
  }
  return e
}

export function clampLimit (limit?: number): number {
  if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return DEFAULT_PAGE
  return Math.min(Math.floor(limit), MAX_PAGE)
}

export async function listDir (
  io: NodeIO, dir: TreeEntry, path: string, commit: string | null, after?: string, limit?: number
): Promise<Page<FileInfo>> {
  if (dir.k !== 'd') throw new PfsError('NOT_A_DIRECTORY', `'${path}' is a file, not a folder`, { path })
  const max = clampLimit(limit)
  const entries: FileInfo[] = []
  for await (const e of iterDir(io, dir.h, after)) {
    if (entries.length === max) return { entries, next: entries[entries.length - 1].name }
    entries.push(info(e, joinPath(path, e.n), commit))
  }
  return { entries }
}

/** Depth-first, name-sorted walk below `dir`, resuming after the path `after`. */
export async function walkDir (
  io: NodeIO, dir: TreeEntry, path: string, commit: string | null, after?: string, limit?: number
): Promise<Page<FileInfo>> {
  if (dir.k !== 'd') throw new PfsError('NOT_A_DIRECTORY', `'${path}' is a file, not a folder`, { path })
  const max = clampLimit(limit)
  const entries: FileInfo[] = []
  const rel = after !== undefined && path !== '' && after.startsWith(path + '/') ? after.slice(path.length + 1) : after
  let more = false
  const visit = async (h: string, prefix: string, skip: string[] | undefined): Promise<boolean> => {
    for await (const e of iterDir(io, h, skip?.[0], true)) {
      const deeper = skip !== undefined && e.n === skip[0]
      if (!deeper) {
        if (entries.length === max) { more = true; return false }
        entries.push(info(e, joinPath(prefix, e.n), commit))
      }
      if (e.k === 'd' && !(await visit(e.h, joinPath(prefix, e.n), deeper ? skip?.slice(1) : undefined))) return false
      skip = undefined
    }
    return true
  }
  await visit(dir.h, path, rel?.split('/'))
  return more ? { entries, next: entries[entries.length - 1].path } : { entries }
}

/**
 * Changes between two trees, sorted by path; equal subtrees (equal hashes) are skipped
 * without reading. `levels` bounds how deep below `path` changes are reported: a folder at
 * the last level that differs is one 'changed' entry, an added or removed one is reported
 * without its contents (undefined: every level).
 */
export async function diffTrees (
  io: NodeIO, a: string, b: string, path: string, out: Change[], levels?: number
): Promise<void> {
  await diffLevel(io, a, b, path, out, levels ?? Infinity)
  out.sort((p, q) => p.path < q.path ? -1 : p.path > q.path ? 1 : 0)
}

async function diffLevel (
  io: NodeIO, a: string, b: string, path: string, out: Change[], levels: number
): Promise<void> {
  if (a === b || levels < 1) return
  const [na, nb] = await Promise.all([io.getNode(a), io.getNode(b)])
  const [ea, eb] = await Promise.all([changedEntries(io, na, nb), changedEntries(io, nb, na)])
  const mb = new Map(eb.map(e => [e.n, e]))
  for (const x of ea) {
    const y = mb.get(x.n)
    const p = joinPath(path, x.n)
    if (y === undefined) { await removedOrAdded(io, x, p, 'removed', out, levels); continue }
    mb.delete(x.n)
    if (x.k === 'd' && y.k === 'd' && levels > 1) { await diffLevel(io, x.h, y.h, p, out, levels - 1); continue }
    if (x.k !== y.k) {
      await removedOrAdded(io, x, p, 'removed', out, levels)
      await removedOrAdded(io, y, p, 'added', out, levels)
      continue
    }
    if (x.h !== y.h || x.m !== y.m || x.l !== y.l || x.u !== y.u || x.g !== y.g || x.r !== y.r) {
      out.push({ path: p, change: 'changed', kind: kindOf(y.k), sizeBefore: x.s, sizeAfter: y.s })
    }
  }
  for (const y of mb.values()) await removedOrAdded(io, y, joinPath(path, y.n), 'added', out, levels)
}

async function removedOrAdded (
  io: NodeIO, e: TreeEntry, path: string, change: 'added' | 'removed', out: Change[], levels: number
): Promise<void> {
  const size = change === 'added' ? { sizeAfter: e.s } : { sizeBefore: e.s }
  out.push({ path, change, kind: kindOf(e.k), ...size })
  if (e.k === 'd' && levels > 1) {
    for await (const c of iterDir(io, e.h)) {
      await removedOrAdded(io, c, joinPath(path, c.n), change, out, levels - 1)
    }
  }
}

/** Entries of `x` that are not in an identical page of `y`. */
async function changedEntries (io: NodeIO, x: TreeNode, y: TreeNode): Promise<TreeEntry[]> {
  if (x.t === 'dir') return x.e
  const shared = new Set(y.t === 'pages' ? y.p.map(p => p[1]) : [])
  const out: TreeEntry[] = []
  for (const p of x.p) {
    if (shared.has(p[1])) continue
    const page = await io.getNode(p[1])
    if (page.t === 'dir') out.push(...page.e)
  }
  return out
}

