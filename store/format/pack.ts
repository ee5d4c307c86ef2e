/**
 * Packs: many small immutable objects (small chunks, manifests, trees, commits) stored as
 * one object-store object, so a commit of many small files is a few PUTs, not thousands.
 *
 * On-disk format (version 1), all of it covered by the pack's key:
 *
 *   [object bytes, concatenated, no padding]
 *   [trailer: UTF-8 JSON {"v":1,"entries":[[id, type, offset, length], ...]}]
 *   [trailer length: uint32 big-endian][magic: ASCII "PFSP"]
 *
 * - id: the object's id (SHA-256 hex for chunks); type: 'chunk' | 'manifest' | 'tree' | 'commit'.
 * - offset/length: byte range of the object from the start of the pack.
 * - Key: `packs/<h[0:2]>/<h>` where h = SHA-256 hex of the whole pack (so a pack is
 *   immutable and self-verifying, and writing it twice is harmless).
 * The trailer lets the index be rebuilt from the object store alone with two range reads
 * per pack (`readPackIndex`), without reading the objects.
 */
import { createHash } from 'node:crypto'
import type { ObjectLoc } from '../api/meta.js'
import type { ObjectStore } from '../objects/object-store.js'
import { type PfsError, corrupt, notFound } from '../api/errors.js'

export type ObjectType = 'chunk' | 'manifest' | 'tree' | 'commit'

const TYPES: ReadonlySet<string> = new Set<ObjectType>(['chunk', 'manifest', 'tree', 'commit'])
const MAGIC = 'PFSP'
const FOOTER = 8
/** A trailer entry is ~100 bytes; anything beyond this is not a pack we wrote. */
const MAX_TRAILER = 256 * 1024 * 1024

/** Key of a chunk stored as its own object. */
export const chunkKey = (id: string): string => `chunks/${id.slice(0, 2)}/${id}`

/** Key of a pack, from the SHA-256 hex of its bytes. */
export const packKey = (hash: string): string => `packs/${hash.slice(0, 2)}/${hash}`

export interface PackedObject { id: string, type: ObjectType, loc: ObjectLoc }

interface Pending { type: ObjectType, data: Uint8Array }

/**
 * Collects small objects and writes them as packs.
 *
 * `add` never writes; the owner decides when to `flush` (e.g. when `full`, and before
 * registering the objects with the index). Objects handed to `add` must not be modified
 * afterwards: they are kept by reference until flushed.
 *
 * @example
 *   const pw = new PackWriter(objects)
 *   pw.add(id, 'tree', bytes)
 *   const locs = await pw.flush()   // then register locs in the index
 */
export class PackWriter {
  readonly targetSize: number
  private pending = new Map<string, Pending>()
  /** Objects of flushes in progress, so `has`/`add` do not pack them a second time. */
  private readonly flushing = new Map<string, Pending>()
  private bytes = 0

  constructor (private readonly objects: ObjectStore, opts: { targetSize?: number } = {}) {
    this.targetSize = opts.targetSize ?? 16 * 1024 * 1024
  }

  /** Queues an object; an id already pending (or being flushed) is ignored. */
  add (id: string, type: ObjectType, data: Uint8Array): void {
    if (this.has(id)) return
    this.pending.set(id, { type, data })
    this.bytes += data.length
  }

  has (id: string): boolean {
    return this.pending.has(id) || this.flushing.has(id)
  }

  get pendingBytes (): number { return this.bytes }
  get pendingCount (): number { return this.pending.size }
  /** True when pending objects reach the target pack size: time to flush. */
  get full (): boolean { return this.bytes >= this.targetSize }

  /**
   * Writes pending objects as one durable pack and returns their locations ([] when
   * nothing is pending). Objects added while it runs go to the next pack. On failure the
   * objects stay pending, so a later flush retries them.
   */
  async flush (): Promise<PackedObject[]> {
    if (this.pending.size === 0) return []
    const batch = this.pending
    this.pending = new Map()
    this.bytes = 0
    for (const [id, p] of batch) this.flushing.set(id, p)
    try {
      const { bytes, entries } = encodePack(batch)
      const key = packKey(createHash('sha256').update(bytes).digest('hex'))
      await this.objects.put(key, bytes)
      return entries.map(([id, type, offset, length]) => ({ id, type, loc: { key, offset, length } }))
    } catch (e) {
      for (const [id, p] of batch) {
        if (!this.pending.has(id)) {
          this.pending.set(id, p)
          this.bytes += p.data.length
        }
      }
      throw e
    } finally {
      for (const id of batch.keys()) this.flushing.delete(id)
    }
  }
}

type Entry = [id: string, type: ObjectType, offset: number, length: number]

function encodePack (batch: Map<string, Pending>): { bytes: Buffer, entries: Entry[] } {
  const entries: Entry[] = []
  const parts: Uint8Array[] = []
  let offset = 0
  for (const [id, { type, data }] of batch) {
    entries.push([id, type, offset, data.length])
    parts.push(data)
    offset += data.length
  }
  const trailer = Buffer.from(JSON.stringify({ v: 1, entries }), 'utf8')
  const footer = Buffer.alloc(FOOTER)
  footer.writeUInt32BE(trailer.length, 0)
  footer.write(MAGIC, 4, 'ascii')
  parts.push(trailer, footer)
  return { bytes: Buffer.concat(parts), entries }
}

/**
 * The objects in a pack, read from its trailer only (two range reads).
 * Throws NOT_FOUND for a missing pack and CORRUPT when the footer or trailer is damaged.
 */
export async function readPackIndex (objects: ObjectStore, key: string): Promise<PackedObject[]> {
  const st = await objects.stat(key)
  if (st === undefined) throw notFound('pack', key, 'the store may be damaged; run `pfs fsck`')
  const bad = (why: string): PfsError => corrupt(`pack ${key} is damaged (${why}); run \`pfs fsck\``, { key })
  if (st.size < FOOTER) throw bad(`only ${st.size} bytes, too short for a pack footer`)
  const footer = await objects.getRange(key, st.size - FOOTER, FOOTER)
  if (footer.length !== FOOTER || footer.toString('latin1', 4, 8) !== MAGIC) throw bad('no PFSP magic at the end')
  const tlen = footer.readUInt32BE(0)
  const dataEnd = st.size - FOOTER - tlen
  if (tlen > MAX_TRAILER || dataEnd < 0) throw bad(`trailer length ${tlen} does not fit in ${st.size} bytes`)
  const raw = await objects.getRange(key, dataEnd, tlen)
  let trailer: unknown
  try {
    trailer = JSON.parse(raw.toString('utf8'))
  } catch {
    throw bad('trailer is not valid JSON')
  }
  return parseEntries(trailer, dataEnd, bad)
    .map(([id, type, offset, length]) => ({ id, type, loc: { key, offset, length } }))
}

function parseEntries (trailer: unknown, dataEnd: number, bad: (why: string) => PfsError): Entry[] {
  const t = trailer as { v?: unknown, entries?: unknown }
  if (t === null || typeof t !== 'object' || t.v !== 1 || !Array.isArray(t.entries)) {
    throw bad('trailer is not a version 1 pack index')
  }
  for (const e of t.entries as unknown[]) {
    const ok = Array.isArray(e) && e.length === 4 && typeof e[0] === 'string' && TYPES.has(e[1]) &&
      Number.isSafeInteger(e[2]) && Number.isSafeInteger(e[3]) && e[2] >= 0 && e[3] >= 0 && e[2] + e[3] <= dataEnd
    if (!ok) throw bad(`bad trailer entry ${JSON.stringify(e).slice(0, 120)}`)
  }
  return t.entries as Entry[]
}
