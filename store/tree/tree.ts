/**
 * Merkle trees of folders. A folder is one DirNode while it has at most SMALL_DIR
 * entries; above that it is a PagesNode over DirNode pages whose boundaries are chosen
 * by a hash of the entry name (a prolly tree, one level). Both forms are a pure function
 * of the folder's entries, so equal folders have equal hashes, and an edit rewrites only
 * the pages it touches: commit cost follows what changed, not the folder's size.
 */
import {
  type TreeEntry, type TreeNode, type DirNode, type PagesNode,
  EMPTY_DIR, cmpName
} from '../format/codec.js'
import { lastAtOrBefore } from '../format/bisect.js'

const SMALL_DIR = 512
/** A page ends after a name whose hash is 0 modulo this: ~256 entries a page. */
const PAGE_MASK = 0xff

export interface NodeIO {
  getNode (hash: string): Promise<TreeNode>
  /** Encodes and buffers a node for writing; returns its hash. */
  putNode (node: TreeNode): string
}

function isBoundary (name: string): boolean {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // murmur3 finalizer: FNV's low bits alone are poorly mixed
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
  return ((h >>> 0) & PAGE_MASK) === 0
}

export function dirStats (node: TreeNode): { count: number, bytes: number } {
  if (node.t === 'dir') return { count: node.e.length, bytes: node.e.reduce((a, e) => a + e.s, 0) }
  return { count: node.p.reduce((a, p) => a + p[2], 0), bytes: node.p.reduce((a, p) => a + p[3], 0) }
}

/** Index of the page that holds (or would hold) `name`. */
function pageFor (pages: PagesNode['p'], name: string): number {
  return Math.max(0, lastAtOrBefore(pages.length, i => cmpName(pages[i][0], name)))
}

export async function lookupEntry (io: NodeIO, dirHash: string, name: string): Promise<TreeEntry | undefined> {
  let node = await io.getNode(dirHash)
  if (node.t === 'pages') {
    if (node.p.length === 0) return undefined
    node = await io.getNode(node.p[pageFor(node.p, name)][1])
    if (node.t !== 'dir') return undefined
  }
  return findIn(node.e, name)
}

function findIn (entries: TreeEntry[], name: string): TreeEntry | undefined {
  const e = entries[lastAtOrBefore(entries.length, i => cmpName(entries[i].n, name))]
  return e?.n === name ? e : undefined
}

/** Entries of a folder with names after `after`, in order, reading only the pages needed. */
export async function * iterDir (
  io: NodeIO, dirHash: string, after?: string, inclusive = false
): AsyncGenerator<TreeEntry> {
  const node = await io.getNode(dirHash)
  const pages = node.t === 'dir' ? [node] : null
  if (pages) {
    yield * afterName(pages[0].e, after, inclusive)
    return
  }
  const p = (node as PagesNode).p
  for (let i = after === undefined ? 0 : pageFor(p, after); i < p.length; i++) {
    const page = await io.getNode(p[i][1]) as DirNode
    yield * afterName(page.e, after, inclusive)
  }
}

function * afterName (entries: TreeEntry[], after: string | undefined, inclusive: boolean): Generator<TreeEntry> {
  const min = inclusive ? 0 : 1
  for (const e of entries) if (after === undefined || cmpName(e.n, after) >= min) yield e
}

/**
 * Applies edits (name -> new entry, or null to remove) to a folder and writes the result.
 * Only pages whose content changes are rewritten.
 */
export async function editDir (
  io: NodeIO, dirHash: string | null, edits: Map<string, TreeEntry | null>
): Promise<{ hash: string, count: number, bytes: number }> {
  const node = dirHash === null ? EMPTY_DIR : await io.getNode(dirHash)
  if (edits.size === 0 && dirHash !== null) return { hash: dirHash, ...dirStats(node) }
  if (node.t === 'dir') return finish(io, applyEdits(node.e, edits))
  const sorted = [...edits.keys()].sort(cmpName)
  const byPage = new Map<number, string[]>()
  for (const name of sorted) {
    const i = pageFor(node.p, name)
    const list = byPage.get(i)
    if (list === undefined) byPage.set(i, [name])
    else list.push(name)
  }
  const out: PagesNode['p'] = []
  let pending: TreeEntry[] = []
  for (let i = 0; i < node.p.length; i++) {
    const names = byPage.get(i)
    if (names === undefined && pending.length === 0) {
      out.push(node.p[i])
      continue
    }
    const page = await io.getNode(node.p[i][1]) as DirNode
    const sub = new Map<string, TreeEntry | null>()
    for (const n of names ?? []) sub.set(n, edits.get(n) as TreeEntry | null)
    pending.push(...applyEdits(page.e, sub))
    pending = cutPages(io, pending, out)
  }
  if (pending.length > 0) out.push(writePage(io, pending))
  const count = out.reduce((a, p) => a + p[2], 0)
  if (count <= SMALL_DIR) {
    const all: TreeEntry[] = []
    for (const p of out) all.push(...(await io.getNode(p[1]) as DirNode).e)
    return finish(io, all)
  }
  return { hash: io.putNode({ t: 'pages', p: out }), count, bytes: out.reduce((a, p) => a + p[3], 0) }
}

function applyEdits (entries: TreeEntry[], edits: Map<string, TreeEntry | null>): TreeEntry[] {
  if (edits.size === 0) return entries
  const out: TreeEntry[] = []
  for (const e of entries) if (!edits.has(e.n)) out.push(e)
  for (const [name, e] of edits) if (e !== null) out.push({ ...e, n: name })
  return out.sort((a, b) => cmpName(a.n, b.n))
}

/** Emits full pages from `pending` into `out`; returns what is left after the last boundary. */
function cutPages (io: NodeIO, pending: TreeEntry[], out: PagesNode['p']): TreeEntry[] {
  let start = 0
  for (let j = 0; j < pending.length; j++) {
    if (isBoundary(pending[j].n)) {
      out.push(writePage(io, pending.slice(start, j + 1)))
      start = j + 1
    }
  }
  return start === 0 ? pending : pending.slice(start)
}

function writePage (io: NodeIO, entries: TreeEntry[]): [string, string, number, number] {
  const hash = io.putNode({ t: 'dir', e: entries })
  return [entries[0].n, hash, entries.length, entries.reduce((a, e) => a + e.s, 0)]
}

function finish (io: NodeIO, entries: TreeEntry[]): { hash: string, count: number, bytes: number } {
  const bytes = entries.reduce((a, e) => a + e.s, 0)
  if (entries.length <= SMALL_DIR) return { hash: io.putNode({ t: 'dir', e: entries }), count: entries.length, bytes }
  const out: PagesNode['p'] = []
  const rest = cutPages(io, entries, out)
  if (rest.length > 0) out.push(writePage(io, rest))
  return { hash: io.putNode({ t: 'pages', p: out }), count: entries.length, bytes }
}
