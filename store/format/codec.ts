/**
 * Encodings of the content-addressed metadata objects (see docs/design.md).
 * Every object is canonical JSON (keys in a fixed order, no spaces); its id is the
 * SHA-256 of those bytes, so equal content always has an equal id.
 */
import { createHash } from 'node:crypto'
import type { ChunkRef, CommitInfo, EntryKind } from '../api/meta.js'
import { corrupt } from '../api/errors.js'

/** A folder entry. Short keys: a folder of 100k entries is encoded often. */
export interface TreeEntry {
  /** name */
  n: string
  /** kind: file, dir, link */
  k: 'f' | 'd' | 'l'
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
}

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

export function kindOf (k: TreeEntry['k']): EntryKind {
  return k === 'f' ? 'file' : k === 'd' ? 'dir' : 'symlink'
}

export function cmpName (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
