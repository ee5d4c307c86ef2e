/**
 * Writing on the data plane: chunk bytes go from a client straight to the object store;
 * only chunk ids and locations go to the metadata API. `ChunkWriter` chunks a stream, asks
 * the index which chunks it lacks (store/api/pins.ts has the protocol), and writes only
 * those: big chunks as standalone objects (`chunks/ab/<id>`), small ones into packs.
 */
import { createHash } from 'node:crypto'
import pLimit from 'p-limit'
import type { ChunkRef, MetaApi, NewObject, StoreConfig } from '../api/meta.js'
import { invalidArgument } from '../api/errors.js'
import { TRUST_MS } from '../api/pins.js'
import { type Chunk, chunkStream } from '../format/chunker.js'
import { PackWriter, chunkKey } from '../format/pack.js'
import type { ObjectStore } from '../objects/object-store.js'

/** Chunks per `missing` round trip, and the bytes such a batch may hold. */
const BATCH_CHUNKS = 32
const BATCH_BYTES = 16 * 1024 * 1024
/** Object-store writes in flight per writer. */
const WRITES_IN_FLIGHT = 4

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
  /** Ids the store said it has, and when: trusted for TRUST_MS. */
  private readonly present = new Map<string, number>()
  private readonly limit = pLimit(WRITES_IN_FLIGHT)
  /** Writes under way (each settles, never rejects), for backpressure and `takeObjects`. */
  private readonly inflight = new Set<Promise<void>>()
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
   * Chunking of the next batch overlaps the index lookup and writes of the previous one;
   * memory holds at most those batches and WRITES_IN_FLIGHT chunks being written.
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
    const chunks: Chunk[] = files
      .filter(f => f.length > 0)
      .map(data => ({ id: createHash('sha256').update(data).digest('hex'), data }))
    const st: StreamWrites = { tasks: [] }
    await this.store(chunks, st)
    await Promise.all(st.tasks)
    let i = 0
    return files.map(f => f.length === 0 ? [] : [[chunks[i++].id, f.length] as ChunkRef])
  }

  /**
   * Flushes the pending pack and returns the objects written since the last call: register
   * them with `meta.modify(..., { objects })`. Call it once the `writeStream` calls whose
   * chunks the modify refers to have resolved.
   */
  async takeObjects (): Promise<NewObject[]> {
    // Failed writes were reported by their writeStream; a failed pack flush is retried below.
    await this.settle()
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

  /**
   * After a failure: lets the writes under way settle and gives up the deferred ones, so
   * no temp file of this writer stays behind. The writer is not used again.
   */
  async abandon (): Promise<void> {
    await this.settle()
    const deferred = this.deferred
    this.deferred = []
    await this.objects.discard?.(deferred)
  }

  /** Waits until no write is under way (each settles, never rejects). */
  private async settle (): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight)
  }

  /**
   * Asks the index which of the batch's chunks are new, then starts writing those; resolves
   * once the last has started (the writes are in `st.tasks`).
   */
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
        await this.start(st, async () => { await this.putStandalone(id, data) })
      } else {
        this.pack.add(id, 'chunk', data)
        if (this.pack.full) await this.start(st, async () => { await this.flushPack() })
      }
    }
  }

  /**
   * Starts a write once fewer than WRITES_IN_FLIGHT are under way (backpressure: the
   * chunks held stay bounded); `limit` runs it. Its failure is recorded in `st`.
   */
  private async start (st: StreamWrites, fn: () => Promise<void>): Promise<void> {
    while (this.inflight.size >= WRITES_IN_FLIGHT) await Promise.race(this.inflight)
    const done = this.limit(fn)
    st.tasks.push(done)
    const settled = done.then(() => {}, (e: unknown) => { st.error ??= e })
    this.inflight.add(settled)
    void settled.then(() => { this.inflight.delete(settled) })
  }

  /** True when this writer need not write or ask about the chunk. */
  private settled (id: string, now: number): boolean {
    const seen = this.present.get(id)
    return this.written.has(id) || (seen !== undefined && now - seen < TRUST_MS)
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
