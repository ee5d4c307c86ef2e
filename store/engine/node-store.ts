/**
 * Reads and writes the engine's own metadata objects (tree nodes, manifests, commits).
 * New objects wait in memory until `flush`, which packs those the index does not have yet,
 * makes them durable and returns their index records; until then they are served from
 * memory. An object is stored once: writing it again would leave two copies, and which
 * one the index names could not be told again by `rebuildIndex`. Decoded nodes are kept in
 * a bounded LRU: they are immutable, so a cached node is never stale.
 */
import { LRUCache } from 'lru-cache'
import type { ObjectLoc } from '../api/meta.js'
import { corrupt } from '../api/errors.js'
import {
  type TreeNode, type ManifestNode, type CommitNode, encode, decode, EMPTY_TREE, EMPTY_DIR
} from '../format/codec.js'
import { PackWriter, type ObjectType, type PackedObject } from '../format/pack.js'
import type { ObjectStore } from '../objects/object-store.js'
import type { NodeIO } from '../tree/tree.js'
import { type Db, type ObjRec, k, getMany } from './index-db.js'

type Obj = TreeNode | ManifestNode | CommitNode

export class NodeStore implements NodeIO {
  private readonly cache: LRUCache<string, Obj>
  private readonly pending = new Map<string, { obj: Obj, type: ObjectType, bytes: Buffer }>()
  private writer: PackWriter

  constructor (private readonly db: Db, private readonly objects: ObjectStore, cacheSize = 50_000) {
    this.writer = new PackWriter(objects)
    // Bounded by count through maxSize, not max: `max` preallocates its slots, and a big
    // live heap makes V8 answer the mount's Buffer churn with full GCs (measured).
    this.cache = new LRUCache({ maxSize: cacheSize, sizeCalculation: () => 1 })
  }

  async getNode (hash: string): Promise<TreeNode> {
    return await this.get<TreeNode>(hash, ['dir', 'pages'])
  }

  async getManifest (hash: string): Promise<ManifestNode> {
    return await this.get<ManifestNode>(hash, 'manifest')
  }

  /** A commit object read from a known location (the index may not list it yet). */
  async getCommitAt (id: string, loc: ObjectLoc): Promise<CommitNode> {
    return decode<CommitNode>(await this.objects.getRange(loc.key, loc.offset, loc.length), id, 'commit')
  }

  putNode (node: TreeNode): string {
    return this.put(node, 'tree')
  }

  putManifest (m: ManifestNode): string {
    return this.put(m, 'manifest')
  }

  putCommit (c: CommitNode): string {
    return this.put(c, 'commit')
  }

  private put (obj: Obj, type: ObjectType): string {
    const { id, bytes } = encode(obj)
    if (!this.pending.has(id)) this.pending.set(id, { obj, type, bytes })
    return id
  }

  private async get<T extends Obj> (id: string, expect: T['t'] | Array<T['t']>): Promise<T> {
    // The empty tree is never stored: every store has it.
    if (id === EMPTY_TREE) return decodeCheck<T>(EMPTY_DIR, id, expect)
    const hit = this.cache.get(id) ?? this.pending.get(id)?.obj
    if (hit !== undefined) return decodeCheck<T>(hit, id, expect)
    const loc = await this.locate(id)
    const bytes = await this.objects.getRange(loc.key, loc.offset, loc.length)
    const obj = decode<T>(bytes, id, expect)
    this.cache.set(id, obj)
    return obj
  }

  async locate (id: string): Promise<ObjectLoc> {
    const rec = await this.db.get(k('o', id)) as ObjRec | undefined
    if (rec === undefined) {
      throw corrupt(`object ${id.slice(0, 12)} is missing from the index; run \`pfs fsck\``, { id })
    }
    return { key: rec[0], offset: rec[1], length: rec[2] }
  }

  async locateMany (ids: string[]): Promise<Array<ObjectLoc | undefined>> {
    const recs = await getMany<ObjRec>(this.db, ids.map(id => k('o', id)))
    return recs.map(r => r === undefined ? undefined : { key: r[0], offset: r[1], length: r[2] })
  }

  /**
   * Makes pending objects durable; returns what the index must record for them. Objects
   * the index already has are not written again. Callers hold the engine lock, so gc
   * cannot drop such an object before their batch refers to it.
   */
  async flush (): Promise<PackedObject[]> {
    if (this.pending.size === 0) return []
    const ids = [...this.pending.keys()]
    const known = await this.locateMany(ids)
    ids.forEach((id, i) => {
      const p = this.pending.get(id)
      if (known[i] === undefined && p !== undefined) this.writer.add(id, p.type, p.bytes)
    })
    const written = await this.writer.flush()
    for (const id of ids) {
      const p = this.pending.get(id)
      if (p !== undefined) this.cache.set(id, p.obj)
      this.pending.delete(id)
    }
    return written
  }

  /** Drops objects made by a batch that failed, so they never reach the index. */
  discard (): void {
    this.pending.clear()
    // A fresh writer: nothing of the failed batch is written, and nothing of it stays
    // queued or "being flushed" to be skipped by the next batch's `add`.
    this.writer = new PackWriter(this.objects)
  }

  clearCache (): void {
    this.cache.clear()
  }
}

function decodeCheck<T extends Obj> (obj: Obj, id: string, expect: T['t'] | Array<T['t']>): T {
  const kinds = Array.isArray(expect) ? expect : [expect]
  if (!(kinds as string[]).includes(obj.t)) {
    throw corrupt(`object ${id.slice(0, 12)} is a '${obj.t}', expected ${kinds.join(' or ')}`, { id })
  }
  return obj as T
}

/** Index batch ops that record packed objects and their pack. */
export function packOps (objs: PackedObject[]): Array<{ type: 'put', key: string, value: unknown }> {
  const ops: Array<{ type: 'put', key: string, value: unknown }> = []
  const packs = new Map<string, { bytes: number, count: number }>()
  for (const o of objs) {
    const rec = [o.loc.key, o.loc.offset, o.loc.length, o.type] satisfies ObjRec
    ops.push({ type: 'put', key: k('o', o.id), value: rec })
    if (o.loc.key.startsWith('packs/')) {
      const p = packs.get(o.loc.key) ?? { bytes: 0, count: 0 }
      p.bytes = Math.max(p.bytes, o.loc.offset + o.loc.length); p.count++
      packs.set(o.loc.key, p)
    }
  }
  for (const [key, p] of packs) ops.push({ type: 'put', key: k('pk', key), value: p })
  return ops
}
