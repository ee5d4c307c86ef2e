/**
 * Encodings of the content-addressed metadata objects (see docs/design.md).
 * Every object is canonical JSON (keys in a fixed order, no spaces); its id is the
 * SHA-256 of those bytes, so equal content always has an equal id.
 */
import { createHash } from 'node:crypto'
import type { ChunkRef, CommitInfo, EntryKind, SpecialKind } from '../api/meta.js'
import { corrupt } from '../api/errors.js'

/** A folder entry. Short keys: a folder of 100k entries is encoded often. */
export interface TreeEntry {
  /** name */
  n: string
  /** kind: file, dir, link; special files: p fifo, s socket, c chardev, b blockdev */
  k: 'f' | 'd' | 'l' | 'p' | 's' | 'c' | 'b'
  /** size: file bytes, total bytes below a folder, link target length */
  s: number
  /** permission bits */
  m: number
  /** mtime in ms */
  t: number
  /** dir: tree hash; file: manifest hash, or a digest of the inline chunk list */
  h: string
  /** file: inline chunk list (small files), absent when a manifest object holds it */
  c?: ChunkRef[]
  /** link target */
  l?: string
  /** dir: number of direct entries */
  x?: number
  // Added with owners and special files; absent in older stores (see docs/design.md).
  /** owner uid and gid; absent: the mounting user */
  u?: number
  g?: number
  /** mtime's nanoseconds below the millisecond */
  tn?: number
  /** atime in ms and its nanoseconds; absent: the mtime */
  a?: number
  an?: number
  /** ctime in ms; absent: the mtime */
  ct?: number
  /** chardev, blockdev: device number */
  r?: number
}

/** Keys of a TreeEntry in their canonical order. */
const ENTRY_KEYS = ['n', 'k', 's', 'm', 't', 'h', 'c', 'l', 'x', 'u', 'g', 'tn', 'a', 'an', 'ct', 'r'] as const
/** The keys an entry had before owners and special files (their order was always canonical). */
const LATER_KEYS = ['u', 'g', 'tn', 'a', 'an', 'ct', 'r'] as const

/** A folder (or one page of a large folder): entries sorted by name. */
export interface DirNode { t: 'dir', e: TreeEntry[] }
/** A large folder: its pages in name order, each [first name, page hash, entries, bytes]. */
export interface PagesNode { t: 'pages', p: Array<[string, string, number, number]> }
export type TreeNode = DirNode | PagesNode

export interface ManifestNode { t: 'manifest', s: number, c: ChunkRef[] }
export interface CommitNode extends CommitInfo { t: 'commit' }

/** Files with at most this many chunks keep their chunk list in the tree entry. */
export const INLINE_CHUNKS = 8

export function sha256 (data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export function encode (obj: TreeNode | ManifestNode | CommitNode): { id: string, bytes: Buffer } {
  if (obj.t === 'dir') obj = { t: 'dir', e: obj.e.map(canonEntry) }
  const bytes = Buffer.from(JSON.stringify(obj))
  return { id: sha256(bytes), bytes }
}

export function decode<T extends TreeNode | ManifestNode | CommitNode> (
  bytes: Uint8Array, id: string, expect: T['t'] | Array<T['t']>
): T {
  if (sha256(bytes) !== id) {
    throw corrupt(`object ${id.slice(0, 12)} does not match its SHA-256 (its bytes are damaged); run \`pfs fsck\``,
      { id })
  }
  let obj: unknown
  try {
    obj = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (e) {
    throw corrupt(`object ${id.slice(0, 12)} is not valid JSON; run \`pfs fsck\``, { id })
  }
  const kinds = Array.isArray(expect) ? expect : [expect]
  const t = (obj as { t?: string } | null)?.t
  if (typeof t !== 'string' || !(kinds as string[]).includes(t)) {
    throw corrupt(`object ${id.slice(0, 12)} is a '${String(t)}', expected ${kinds.join(' or ')}; run \`pfs fsck\``,
      { id })
  }
  return obj as T
}

export const EMPTY_DIR: DirNode = { t: 'dir', e: [] }
export const EMPTY_TREE = encode(EMPTY_DIR).id

/** Digest that names a file's content when its chunk list is inline. */
export function chunksDigest (chunks: ChunkRef[]): string {
  return sha256(JSON.stringify(chunks))
}

/**
 * An entry with its keys in canonical order, so equal entries encode to equal bytes
 * whichever edit built them. Entries without the later keys are already in order.
 */
function canonEntry (e: TreeEntry): TreeEntry {
  if (!LATER_KEYS.some(key => e[key] !== undefined)) return e
  const out: Record<string, unknown> = {}
  for (const key of ENTRY_KEYS) if (e[key] !== undefined) out[key] = e[key]
  return out as unknown as TreeEntry
}

const KINDS: Record<TreeEntry['k'], EntryKind> = {
  f: 'file', d: 'dir', l: 'symlink', p: 'fifo', s: 'socket', c: 'chardev', b: 'blockdev'
}
const CODES: Record<SpecialKind, TreeEntry['k']> = { fifo: 'p', socket: 's', chardev: 'c', blockdev: 'b' }

export function kindOf (k: TreeEntry['k']): EntryKind {
  return KINDS[k] ?? 'file'
}

export function specialCode (kind: SpecialKind): TreeEntry['k'] {
  return CODES[kind]
}

export function cmpName (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
