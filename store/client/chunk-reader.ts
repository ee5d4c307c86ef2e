/**
 * Reading on the data plane: chunks are fetched by location straight from the object
 * store, cached by id (immutable, so a cached chunk is never stale), and streamed as
 * file ranges with read-ahead.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { LRUCache } from 'lru-cache'
import type { ObjectLoc } from '../api/meta.js'
import { corrupt, invalidArgument } from '../api/errors.js'
import { chunkKey } from '../format/pack.js'
import type { ObjectStore } from '../objects/object-store.js'

/** Chunk reads in flight per stream. */
const READ_AHEAD = 4

export interface PlannedChunk { id: string, size: number, loc: ObjectLoc }

export interface ReaderOptions {
  /** Bytes of chunks kept in memory, least recently used evicted first. Default 256 MiB; 0 keeps none. */
  cacheBytes?: number
}

/**
 * Reads chunks from the object store, with an LRU cache. Every fetched chunk is checked
 * against its id (SHA-256) before anyone sees it: damaged bytes are a CORRUPT error, never
 * data. Returned buffers are shared with the cache: callers must not modify them.
 */
export class ChunkReader {
  private readonly cache: LRUCache<string, Buffer> | undefined
  private readonly loading = new Map<string, Promise<Buffer>>()

  constructor (private readonly objects: ObjectStore, opts: ReaderOptions = {}) {
    const cacheBytes = opts.cacheBytes ?? 256 * 1024 * 1024
    // A chunk bigger than the whole cache is simply not kept.
    if (cacheBytes > 0) this.cache = new LRUCache({ maxSize: cacheBytes, sizeCalculation: b => Math.max(1, b.length) })
  }

  /** A chunk's bytes; concurrent reads of one chunk share a single fetch. */
  async read (id: string, loc: ObjectLoc): Promise<Buffer> {
    const hit = this.cache?.get(id)
    if (hit !== undefined) return hit
    let p = this.loading.get(id)
    if (p === undefined) {
      p = this.fetch(id, loc).finally(() => this.loading.delete(id))
      this.loading.set(id, p)
    }
    return await p
  }

  /**
   * Bytes [offset, offset + length) of a file made of `chunks`, fetched with read-ahead.
   * The stream pulls chunks only as fast as it is consumed.
   */
  stream (chunks: PlannedChunk[], opts: { offset?: number, length?: number } = {}): Readable {
    const total = chunks.reduce((n, c) => n + c.size, 0)
    const offset = opts.offset ?? 0
    const length = opts.length ?? Math.max(0, total - offset)
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw invalidArgument(`bad read range: offset ${offset}, length ${length}`, { offset, length })
    }
    return Readable.from(this.pieces(chunks, offset, Math.min(total, offset + length)), { objectMode: false })
  }

  private async * pieces (chunks: PlannedChunk[], start: number, end: number): AsyncGenerator<Buffer> {
    const sel = slices(chunks, start, end)
    const ahead: Array<Promise<Buffer>> = []
    let next = 0
    for (const s of sel) {
      while (next < sel.length && ahead.length < READ_AHEAD) {
        const p = this.read(sel[next].chunk.id, sel[next].chunk.loc)
        p.catch(() => {}) // awaited in order below; a stream closed early leaves it unobserved
        ahead.push(p)
        next++
      }
      const data = await (ahead.shift() as Promise<Buffer>)
      if (data.length !== s.chunk.size) {
        throw corrupt(`chunk ${s.chunk.id} has ${data.length} bytes but the file lists ${s.chunk.size}; ` +
          'run `pfs fsck`', { id: s.chunk.id })
      }
      yield data.subarray(s.from, s.to)
    }
  }

  private async fetch (id: string, loc: ObjectLoc): Promise<Buffer> {
    const whole = loc.offset === 0 && loc.key === chunkKey(id)
    const data = whole ? await this.objects.get(loc.key) : await this.objects.getRange(loc.key, loc.offset, loc.length)
    if (data.length !== loc.length) {
      throw corrupt(`chunk ${id} in ${loc.key} has ${data.length} bytes, expected ${loc.length}; run \`pfs fsck\``,
        { id, key: loc.key })
    }
    if (createHash('sha256').update(data).digest('hex') !== id) {
      throw corrupt(`chunk ${id} in ${loc.key} is damaged (its bytes do not match its SHA-256); ` +
        'run `pfs fsck`', { id, key: loc.key })
    }
    this.cache?.set(id, data)
    return data
  }
}

/** The part of each chunk that falls in [start, end) of the file. */
function slices (
  chunks: PlannedChunk[], start: number, end: number
): Array<{ chunk: PlannedChunk, from: number, to: number }> {
  const out = []
  let pos = 0
  for (const chunk of chunks) {
    const cs = pos
    pos += chunk.size
    if (pos <= start) continue
    if (cs >= end) break
    out.push({ chunk, from: Math.max(0, start - cs), to: Math.min(chunk.size, end - cs) })
  }
  return out
}

