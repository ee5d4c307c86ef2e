import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { LocalObjectStore } from '../store/objects/local.js'
import { bytes } from './helpers/store-checks.js'
import { ChunkReader, type PlannedChunk } from '../store/client/chunk-reader.js'
import { ChunkWriter } from '../store/client/chunk-writer.js'
import { chunkKey } from '../store/format/pack.js'
import { DEFAULT_CHUNKING } from '../store/format/chunker.js'
import type { NewObject, StoreConfig } from '../store/api/meta.js'
import type { ObjectStore } from '../store/objects/object-store.js'

const KiB = 1024
const MiB = 1024 * KiB
const SMALL = { min: 4 * KiB, avg: 16 * KiB, max: 64 * KiB }
const config = (chunking = SMALL, packThreshold = 16 * KiB): StoreConfig =>
  ({ objects: { kind: 'local', path: '/unused' }, chunking, packThreshold, version: 'test' })

/** A stand-in for the index: knows the objects registered from takeObjects(). */
class FakeIndex {
  readonly locs = new Map<string, NewObject['loc']>()
  asked = 0
  async missing (ids: string[]): Promise<string[]> {
    this.asked += ids.length
    return ids.filter(id => !this.locs.has(id))
  }

  register (objs: NewObject[]): void {
    for (const o of objs) this.locs.set(o.id, o.loc)
  }
}

/** An object store that counts puts, over a real folder. */
function counting (s: ObjectStore): ObjectStore & { puts: string[] } {
  const puts: string[] = []
  return Object.assign(Object.create(s) as ObjectStore, {
    puts,
    put: async (key: string, data: Uint8Array, opts?: { defer?: boolean }) => {
      puts.push(key)
      await s.put(key, data, opts)
    },
    sync: async () => { await s.sync?.() }
  })
}

async function * pieces (buf: Buffer, size = 64 * KiB): AsyncGenerator<Buffer> {
  for (let o = 0; o < buf.length; o += size) yield buf.subarray(o, o + size)
}

async function drain (r: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts = []
  for await (const p of r) parts.push(p)
  return Buffer.concat(parts)
}

function plan (index: FakeIndex, refs: Array<[string, number]>): PlannedChunk[] {
  return refs.map(([id, size]) => {
    const loc = index.locs.get(id)
    if (loc === undefined) throw new Error(`chunk ${id} was never registered`)
    return { id, size, loc }
  })
}

interface Setup { objects: ObjectStore & { puts: string[] }, index: FakeIndex, writer: ChunkWriter }

async function setup (t: Test, cfg = config()): Promise<Setup> {
  const objects = counting(new LocalObjectStore(t.testdir()))
  const index = new FakeIndex()
  return { objects, index, writer: new ChunkWriter(index, objects, cfg) }
}

t.test('writing the same file twice writes nothing new the second time', async t => {
  const { objects, index, writer } = await setup(t)
  const data = randomBytes(3 * MiB)
  let reported = 0
  const refs = await writer.writeStream(pieces(data), n => { reported += n })
  t.equal(reported, data.length, 'onBytes reports every byte')
  t.equal(refs.reduce((n, [, size]) => n + size, 0), data.length)
  const objs = await writer.takeObjects()
  t.equal(new Set(objs.map(o => o.id)).size, new Set(refs.map(([id]) => id)).size, 'every distinct chunk is a new object')
  index.register(objs)
  const putsAfterFirst = objects.puts.length

  const again = new ChunkWriter(index, objects, config())
  t.same(await again.writeStream(pieces(data, 1000)), refs, 'same chunk list')
  t.same(await again.takeObjects(), [], 'no new objects')
  t.equal(objects.puts.length, putsAfterFirst, 'no puts')
})

t.test('one writer never writes a chunk twice, even before it is registered', async t => {
  const { objects, index, writer } = await setup(t)
  const data = randomBytes(MiB)
  const twice = Buffer.concat([data, data])
  const [a, b] = await Promise.all([writer.writeStream(pieces(twice)), writer.writeStream(pieces(data))])
  const objs = await writer.takeObjects()
  t.equal(objs.length, new Set(objs.map(o => o.id)).size, 'each object once')
  t.equal(new Set(objs.map(o => o.id)).size, new Set([...a, ...b].map(([id]) => id)).size)
  const standalone = objects.puts.filter(k => k.startsWith('chunks/'))
  t.equal(standalone.length, new Set(standalone).size, 'no standalone chunk put twice')
  t.same(await writer.takeObjects(), [], 'takeObjects returns each object once')
  t.ok(index.asked > 0)
})

t.test('chunks at or above the pack threshold are standalone, smaller ones packed', async t => {
  const { objects, index, writer } = await setup(t)
  const refs = [
    ...await writer.writeStream(pieces(randomBytes(2 * MiB))),
    ...await writer.writeStream(pieces(randomBytes(100))), // a small file: one small chunk
    ...await writer.writeStream(pieces(Buffer.alloc(0)))
  ]
  const objs = await writer.takeObjects()
  index.register(objs)
  t.equal(objs.length, refs.length)
  const misplaced = refs.filter(([id, size]) => {
    const loc = index.locs.get(id)
    if (size >= 16 * KiB) return loc?.key !== chunkKey(id) || loc.offset !== 0 || loc.length !== size
    return !/^packs\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(loc?.key ?? '') || loc?.length !== size
  })
  t.same(misplaced, [], 'big chunks at chunks/<id>, small ones in a pack')
  t.equal(objects.puts.filter(k => k.startsWith('packs/')).length, 1, 'small chunks share one pack')
  t.ok(refs.some(([, size]) => size < 16 * KiB) && refs.some(([, size]) => size >= 16 * KiB), 'both kinds occurred')
})

t.test('a failing object store fails writeStream', async t => {
  const s = new LocalObjectStore(t.testdir())
  const broken: ObjectStore = Object.assign(Object.create(s) as ObjectStore, {
    put: async () => { throw new Error('bucket gone') }
  })
  const writer = new ChunkWriter(new FakeIndex(), broken, config())
  await t.rejects(writer.writeStream(pieces(randomBytes(4 * MiB))), /bucket gone/)
})

/** A 2 MiB file written and registered, and its read plan. */
async function stored (t: Test,
  cfg = config()): Promise<{ data: Buffer, chunks: PlannedChunk[], objects: ObjectStore }> {
  const { objects, index, writer } = await setup(t, cfg)
  // Seeded, so the file always has chunks on both sides of the pack threshold.
  const data = bytes(2 * MiB + 123, 7)
  const refs = await writer.writeStream(pieces(data))
  index.register(await writer.takeObjects())
  return { data, chunks: plan(index, refs), objects }
}

t.test('reading ranges that start and end on and around chunk boundaries', async t => {
  const { data, chunks, objects } = await stored(t, config(SMALL, 32 * KiB))
  const reader = new ChunkReader(objects)
  t.ok((await drain(reader.stream(chunks))).equals(data), 'the whole file')
  const bounds = [0]
  for (const c of chunks) bounds.push(bounds[bounds.length - 1] + c.size)
  const b1 = bounds[1]
  const b5 = bounds[5]
  const ranges: Array<[number, number]> = [
    [0, b1], [b1, b5 - b1], [b1 - 1, 2], [b1 + 1, b5 - b1 - 2], [b1, 1], [b5 - 1, 1],
    [data.length - 10, 10], [data.length - 10, 1000], [data.length, 5], [data.length + 100, 5], [7, 0]
  ]
  for (const [offset, length] of ranges) {
    const got = await drain(reader.stream(chunks, { offset, length }))
    t.ok(got.equals(data.subarray(offset, offset + length)), `offset ${offset} length ${length}`)
  }
  t.ok((await drain(reader.stream(chunks, { offset: b1 }))).equals(data.subarray(b1)), 'from a boundary to the end')
  t.throws(() => reader.stream(chunks, { offset: -1 }), { code: 'INVALID_ARGUMENT' })
  t.ok((await reader.read(chunks[2].id, chunks[2].loc)).equals(data.subarray(bounds[2], bounds[3])), 'read one chunk')
})

t.test('every read catches a flipped byte in a standalone chunk and in a pack', async t => {
  const { chunks, objects } = await stored(t, config(SMALL, 32 * KiB))
  const standalone = chunks.find(c => c.loc.key.startsWith('chunks/'))
  const packed = chunks.find(c => c.loc.key.startsWith('packs/'))
  t.ok(standalone !== undefined && packed !== undefined, 'the file has both kinds of chunk')
  for (const c of [standalone, packed]) {
    if (c === undefined) continue
    const bytes = Buffer.from(await objects.get(c.loc.key))
    bytes[c.loc.offset + Math.floor(c.size / 2)] ^= 0x01
    await objects.put(c.loc.key, bytes)
    await t.rejects(new ChunkReader(objects).read(c.id, c.loc), { code: 'CORRUPT', message: new RegExp(`chunk ${c.id} in ${c.loc.key} is damaged`) })
  }
  const reader = new ChunkReader(objects)
  await t.rejects(drain(reader.stream(chunks)), { code: 'CORRUPT' }, 'a stream fails too')
})

t.test('a truncated chunk is CORRUPT', async t => {
  const { chunks, objects } = await stored(t, config(SMALL, 0))
  await objects.put(chunks[0].loc.key, (await objects.get(chunks[0].loc.key)).subarray(1))
  await t.rejects(new ChunkReader(objects).read(chunks[0].id, chunks[0].loc), { code: 'CORRUPT' })
})

t.test('the cache serves repeated reads and stays within its byte budget', async t => {
  const { chunks, objects } = await stored(t, config(SMALL, 0))
  const reader = new ChunkReader(objects, { cacheBytes: 200 * KiB })
  const first = await reader.read(chunks[0].id, chunks[0].loc)
  t.equal(await reader.read(chunks[0].id, chunks[0].loc), first, 'a cache hit returns the same buffer')
  for (const c of chunks) await reader.read(c.id, c.loc)
  t.not(await reader.read(chunks[0].id, chunks[0].loc), first, 'the oldest chunk was evicted')
  const cached = (reader as unknown as { cache: { calculatedSize: number } }).cache.calculatedSize
  t.ok(cached > 0 && cached <= 200 * KiB, `cached ${cached} bytes`)
})

t.test('default params: a 12 MiB file round-trips through writer and reader', async t => {
  const { objects, index, writer } = await setup(t, config(DEFAULT_CHUNKING, 512 * KiB))
  const data = randomBytes(12 * MiB)
  const refs = await writer.writeStream(pieces(data))
  index.register(await writer.takeObjects())
  t.ok(refs.length >= 4 && refs.length <= 20, `${refs.length} chunks`)
  t.ok(refs.every(([id, size]) => objects.puts.includes(chunkKey(id)) === size >= 512 * KiB), 'chunks of at least the threshold are standalone, a short last one is packed')
  const got = await drain(new ChunkReader(objects).stream(plan(index, refs)))
  t.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(data).digest('hex'))
})
