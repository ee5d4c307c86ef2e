/**
 * The data plane: chunk bytes move between a client and the object store directly; only
 * chunk ids and locations go to the metadata API.
 *
 * Writing: `ChunkWriter` chunks a stream, asks the index which chunks it lacks, and writes
 * only those: big chunks as standalone objects (`chunks/ab/<id>`), small ones into packs.
 * Reading: `ChunkReader` fetches chunks by location, caches them, and streams file ranges.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { ChunkRef, MetaApi, NewObject, ObjectLoc, StoreConfig } from './meta.js'
import type { ObjectStore } from './objects/object-store.js'
import { type Chunk, chunkStream } from './chunker.js'
import { PackWriter, chunkKey } from './pack.js'
import { corrupt, invalidArgument } from './errors.js'

/** Chunks per `missing` round trip, and the bytes such a batch may hold. */
const BATCH_CHUNKS = 32
const BATCH_BYTES = 16 * 1024 * 1024
/** Object-store writes in flight per writer; reads in flight per stream. */
const WRITES_IN_FLIGHT = 4
const READ_AHEAD = 4
/** How long to trust "the store has this chunk": well inside the index's one-hour gc grace. */
const PRESENT_TTL = 30 * 60 * 1000

/** Runs at most `max` tasks at once; `start` waits for a free slot (backpressure). */
class Limiter {
  private active = 0
  private readonly waiters: Array<() => void> = []
  constructor (private readonly max: number) {}

  async start (fn: () => Promise<void>): Promise<{ done: Promise<void> }> {
    while (this.active >= this.max) await new Promise<void>(resolve => this.waiters.push(resolve))
    this.active++
    const done = fn().finally(() => {
      this.active--
      this.waiters.shift()?.()
    })
    done.catch(() => {}) // observed by whoever awaits `done`; never an unhandled rejection
    return { done }
  }
}

/** Writes started by one `writeStream` call, and the first that failed. */
interface StreamWrites { tasks: Array<Promise<void>>, error?: unknown }

/**
 * Writes files' chunks to the object store, each distinct chunk at most once.
 *
 * @example
 *   const w = new ChunkWriter(meta, objects, config)
 *   const chunks = await w.writeStream(fs.createReadStream(p))
 *   await meta.modify(repo, branch, [{ op: 'put', path, chunks }], { objects: await w.takeObjects() })
 */
export class ChunkWriter {
  private readonly pack: PackWriter
  /** Ids this writer has written or queued: never written twice. */
  private readonly written = new Set<string>()
  /** Ids the store said it has, and when: it keeps them from gc for an hour after asking. */
  private readonly present = new Map<string, number>()
  private readonly inflight = new Set<Promise<void>>()
  private readonly limiter = new Limiter(WRITES_IN_FLIGHT)
  private out: NewObject[] = []
  /** Keys this writer put deferred, made durable by `takeObjects`. */
  private deferred: string[] = []

  constructor (
    private readonly meta: Pick<MetaApi, 'missing'>,
    private readonly objects: ObjectStore,
    private readonly config: StoreConfig
  ) {
    this.pack = new PackWriter(objects)
  }

  /**
   * Chunks `src` and writes its new chunks; resolves to the file's chunk list. The chunks
   * are durable (and visible) once `takeObjects` resolves.
   * `onBytes` is told each chunk's size as the input is consumed.
   * Chunking of the next batch overlaps the index lookup and writes of the previous one.
   */
  async writeStream (src: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): Promise<ChunkRef[]> {
    const refs: ChunkRef[] = []
    const st: StreamWrites = { tasks: [] }
    let batch: Chunk[] = []
    let bytes = 0
    let previous: Promise<void> = Promise.resolve()
    try {
      for await (const c of chunkStream(src, this.config.chunking)) {
        refs.push([c.id, c.data.length])
        onBytes?.(c.data.length)
        batch.push(c)
        bytes += c.data.length
        if (batch.length < BATCH_CHUNKS && bytes < BATCH_BYTES) continue
        await previous // at most one batch waiting on the index, so memory stays bounded
        if (st.error !== undefined) throw st.error // a write failed: stop reading early
        previous = this.store(batch, st)
        previous.catch(() => {}) // awaited above or below
        batch = []
        bytes = 0
      }
      await previous
      await this.store(batch, st)
    } finally {
      // Never leave writes running behind a failure; `store` adds tasks until it settles.
      await Promise.allSettled([previous])
      await Promise.allSettled(st.tasks)
    }
    await Promise.all(st.tasks)
    return refs
  }

  /**
   * Many small files at once, each smaller than the minimum chunk size and so a single
   * chunk: one index lookup for the whole batch instead of one per file.
   */
  async writeSmall (files: Buffer[]): Promise<ChunkRef[][]> {
    const min = this.config.chunking.min
    if (files.some(f => f.length > min)) throw invalidArgument(`writeSmall takes files of at most ${min} bytes`)
    const chunks: Chunk[] = files.filter(f => f.length > 0).map(data => ({ id: createHash('sha256').update(data).digest('hex'), data }))
    const st: StreamWrites = { tasks: [] }
    await this.store(chunks, st)
    await Promise.all(st.tasks)
    let i = 0
    return files.map(f => f.length === 0 ? [] : [[chunks[i++].id, f.length] as ChunkRef])
  }

  /**
   * Waits for every write, flushes the pending pack, and returns the objects written since
   * the last call: register them with `meta.modify(..., { objects })`. Call it once the
   * `writeStream` calls whose chunks the modify refers to have resolved.
   */
  async takeObjects (): Promise<NewObject[]> {
    // Failed writes were reported by their writeStream; a failed pack flush is retried below.
    while (this.inflight.size > 0) await Promise.allSettled(this.inflight)
    // Standalone chunks were written deferred: one round of fsyncs makes them durable.
    const deferred = this.deferred
    this.deferred = []
    await this.objects.sync?.(deferred)
    const packed = await this.pack.flush()
    for (const p of packed) this.out.push({ id: p.id, loc: p.loc })
    const out = this.out
    this.out = []
    return out
  }

  /** Asks the index which of the batch's chunks are new, then writes those. */
  private async store (batch: Chunk[], st: StreamWrites): Promise<void> {
    const fresh = new Map<string, Buffer>()
    const now = Date.now()
    for (const c of batch) if (!this.settled(c.id, now)) fresh.set(c.id, c.data)
    if (fresh.size === 0) return
    const missing = new Set(await this.meta.missing([...fresh.keys()]))
    for (const [id, data] of fresh) {
      if (!missing.has(id)) {
        this.present.set(id, now)
        continue
      }
      if (this.written.has(id)) continue // another stream took it meanwhile
      this.written.add(id)
      if (data.length >= this.config.packThreshold) {
        await this.track(st, () => this.putStandalone(id, data))
      } else {
        this.pack.add(id, 'chunk', data)
        if (this.pack.full) await this.track(st, () => this.flushPack())
      }
    }
  }

  /** True when this writer need not write or ask about the chunk. */
  private settled (id: string, now: number): boolean {
    const seen = this.present.get(id)
    return this.written.has(id) || (seen !== undefined && now - seen < PRESENT_TTL)
  }

  private async track (st: StreamWrites, fn: () => Promise<void>): Promise<void> {
    const { done } = await this.limiter.start(fn)
    st.tasks.push(done)
    done.catch(e => { st.error ??= e })
    this.inflight.add(done)
    done.finally(() => this.inflight.delete(done)).catch(() => {})
  }

  private async putStandalone (id: string, data: Buffer): Promise<void> {
    const key = chunkKey(id)
    try {
      await this.objects.put(key, data, { defer: true })
      this.deferred.push(key)
    } catch (e) {
      this.written.delete(id) // not written after all: a later stream may retry it
      throw e
    }
    this.out.push({ id, loc: { key, offset: 0, length: data.length } })
  }

  private async flushPack (): Promise<void> {
    for (const p of await this.pack.flush()) this.out.push({ id: p.id, loc: p.loc })
  }
}

export interface ReaderOptions {
  /** Bytes of chunks kept in memory, least recently used evicted first. Default 256 MiB. */
  cacheBytes?: number
  /** Check each fetched chunk's SHA-256 against its id. */
  verify?: boolean
}

export interface PlannedChunk { id: string, size: number, loc: ObjectLoc }

/**
 * Reads chunks from the object store, with an LRU cache. Returned buffers are shared with
 * the cache: callers must not modify them.
 */
export class ChunkReader {
  private readonly cache = new Map<string, Buffer>()
  private cached = 0
  private readonly loading = new Map<string, Promise<Buffer>>()
  private readonly cacheBytes: number
  private readonly verify: boolean

  constructor (private readonly objects: ObjectStore, opts: ReaderOptions = {}) {
    this.cacheBytes = opts.cacheBytes ?? 256 * 1024 * 1024
    this.verify = opts.verify ?? false
  }

  /** A chunk's bytes; concurrent reads of one chunk share a single fetch. */
  async read (id: string, loc: ObjectLoc): Promise<Buffer> {
    const hit = this.cache.get(id)
    if (hit !== undefined) {
      this.cache.delete(id) // re-insert: Map order is the LRU order
      this.cache.set(id, hit)
      return hit
    }
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
        throw corrupt(`chunk ${s.chunk.id} has ${data.length} bytes but the file lists ${s.chunk.size}; run \`pfs fsck\``, { id: s.chunk.id })
      }
      yield data.subarray(s.from, s.to)
    }
  }

  private async fetch (id: string, loc: ObjectLoc): Promise<Buffer> {
    const whole = loc.offset === 0 && loc.key === chunkKey(id)
    const data = whole ? await this.objects.get(loc.key) : await this.objects.getRange(loc.key, loc.offset, loc.length)
    if (data.length !== loc.length) {
      throw corrupt(`chunk ${id} in ${loc.key} has ${data.length} bytes, expected ${loc.length}; run \`pfs fsck\``, { id, key: loc.key })
    }
    if (this.verify && createHash('sha256').update(data).digest('hex') !== id) {
      throw corrupt(`chunk ${id} in ${loc.key} does not match its SHA-256; run \`pfs fsck\``, { id, key: loc.key })
    }
    this.remember(id, data)
    return data
  }

  private remember (id: string, data: Buffer): void {
    if (data.length > this.cacheBytes) return
    this.cache.set(id, data)
    this.cached += data.length
    for (const [old, buf] of this.cache) {
      if (this.cached <= this.cacheBytes) break
      this.cache.delete(old)
      this.cached -= buf.length
    }
  }
}

/** The part of each chunk that falls in [start, end) of the file. */
function slices (chunks: PlannedChunk[], start: number, end: number): Array<{ chunk: PlannedChunk, from: number, to: number }> {
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
