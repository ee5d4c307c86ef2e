import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { chunkStream, cut, DEFAULT_CHUNKING, GEAR, type ChunkParams } from '../store/format/chunker.js'

const SMALL: ChunkParams = { min: 4 * 1024, avg: 16 * 1024, max: 64 * 1024 }
const MiB = 1024 * 1024

/** Deterministic pseudo-random bytes (xorshift32), for inputs whose chunking is pinned. */
function seeded (n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n)
  let x = seed >>> 0
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** Yields buf in pieces of the given sizes, cycling through them. */
async function * pieces (buf: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let k = 0
  for (let off = 0; off < buf.length; k++) {
    const n = sizes[k % sizes.length]
    yield buf.subarray(off, off + n)
    off += n
  }
}

async function chunksOf (buf: Uint8Array, p: ChunkParams,
  sizes = [buf.length || 1]): Promise<Array<{ data: Buffer, id: string }>> {
  const out = []
  for await (const c of chunkStream(pieces(buf, sizes), p)) out.push(c)
  return out
}

function checkChunks (t: Test, input: Buffer, chunks: Array<{ data: Buffer, id: string }>, p: ChunkParams): void {
  t.ok(Buffer.concat(chunks.map(c => c.data)).equals(input), 'chunks concatenate to the input')
  const inRange = chunks.slice(0, -1).every(c => c.data.length >= p.min && c.data.length <= p.max)
  t.ok(inRange, 'every chunk but the last is within [min, max]')
  const last = chunks.at(-1)
  if (last !== undefined) t.ok(last.data.length > 0 && last.data.length <= p.max, 'the last chunk is not empty and at most max')
  t.ok(chunks.every(c => c.id === createHash('sha256').update(c.data).digest('hex')), 'ids are the SHA-256 of the chunk')
}

t.test('empty input yields no chunk; inputs up to min are one chunk', async t => {
  t.same(await chunksOf(Buffer.alloc(0), SMALL), [])
  for (const n of [1, SMALL.min]) {
    const buf = randomBytes(n)
    const chunks = await chunksOf(buf, SMALL)
    t.equal(chunks.length, 1, `${n} bytes: one chunk`)
    checkChunks(t, buf, chunks, SMALL)
  }
})

t.test('inputs of exactly max and of a multiple of max round-trip', async t => {
  for (const n of [SMALL.max, SMALL.max * 7]) {
    const buf = randomBytes(n)
    checkChunks(t, buf, await chunksOf(buf, SMALL, [1000, 77, 65536]), SMALL)
  }
})

t.test('data without boundaries (zeros) is cut at max', async t => {
  const buf = Buffer.alloc(SMALL.max * 3 + 5)
  const chunks = await chunksOf(buf, SMALL)
  t.same(chunks.map(c => c.data.length), [SMALL.max, SMALL.max, SMALL.max, 5])
  t.equal(new Set(chunks.slice(0, 3).map(c => c.id)).size, 1, 'equal chunks have equal ids')
})

t.test('100 MiB streamed in odd-sized pieces round-trips', async t => {
  const buf = randomBytes(100 * MiB)
  const chunks = await chunksOf(buf, SMALL, [65521, 1, 300007, 4093])
  checkChunks(t, buf, chunks, SMALL)
  const avg = buf.length / chunks.length
  t.ok(avg > SMALL.min && avg < SMALL.max / 2, `average chunk size ${Math.round(avg)} is near avg`)
})

t.test('default params: 24 MiB round-trips with chunk sizes around 1 MiB', async t => {
  const buf = randomBytes(24 * MiB)
  const chunks = await chunksOf(buf, DEFAULT_CHUNKING, [64 * 1024])
  checkChunks(t, buf, chunks, DEFAULT_CHUNKING)
  t.ok(chunks.length >= 8 && chunks.length <= 40, `${chunks.length} chunks`)
})

t.test('boundaries do not depend on how the input is split', async t => {
  const buf = randomBytes(3 * MiB)
  const ids = (await chunksOf(buf, SMALL)).map(c => c.id)
  t.ok(ids.length > 10)
  const head = buf.subarray(0, 256 * 1024)
  t.same((await chunksOf(head, SMALL, [1])).map(c => c.id), (await chunksOf(head, SMALL)).map(c => c.id), 'one byte at a time')
  t.same((await chunksOf(buf, SMALL, [4095, 4097, 17, 100000])).map(c => c.id), ids, 'odd pieces')
  t.same((await chunksOf(buf, SMALL, [SMALL.max])).map(c => c.id), ids, 'max-sized pieces')
  const viaCut = []
  for (let rest = buf.subarray(0); rest.length > 0;) {
    const n = cut(rest, SMALL)
    viaCut.push(createHash('sha256').update(rest.subarray(0, n)).digest('hex'))
    rest = rest.subarray(n)
  }
  t.same(viaCut, ids, 'cut() over the whole buffer agrees with the stream')
})

// Seeded, so the test checks one known input: how many chunks an edit touches varies with
// where it lands (normalized chunking may resync a chunk or two late).
t.test('inserting 10 bytes in the middle changes only nearby chunks', async t => {
  for (const p of [SMALL, DEFAULT_CHUNKING]) {
    const buf = seeded(20 * MiB, 1)
    const mid = buf.length / 2
    const edited = Buffer.concat([buf.subarray(0, mid), seeded(10, 2), buf.subarray(mid)])
    const before = new Set((await chunksOf(buf, p, [MiB])).map(c => c.id))
    const after = (await chunksOf(edited, p, [MiB])).map(c => c.id)
    const changed = after.filter(id => !before.has(id)).length
    t.ok(changed >= 1 && changed <= 3, `avg ${p.avg}: ${changed} of ${after.length} chunks changed`)
  }
})

t.test('chunk boundaries are pinned: the gear table and cut points never change', async t => {
  // If this fails, every stored chunk id would change: that is a format break.
  t.equal(createHash('sha256').update(Array.from(GEAR, x => x >>> 0).join()).digest('hex').slice(0, 16), PINNED_GEAR)
  t.same([GEAR[0], GEAR[255]], [730480325, 234372697], 'splitmix64 high words, seed "pfs gear"')
  const ids = (await chunksOf(seeded(2 * MiB), SMALL)).map(c => c.id)
  t.equal(createHash('sha256').update(ids.join()).digest('hex').slice(0, 16), PINNED_CUTS)
})
const PINNED_GEAR = 'e7055c6502c0cab4'
const PINNED_CUTS = '00e9527b93b51a9e'

t.test('bad params are rejected with INVALID_ARGUMENT', async t => {
  const bad: unknown[] = [
    { min: 16, avg: 8, max: 64 }, { min: 4096, avg: 4096, max: 65536 }, { min: 4096, avg: 16384, max: 16384 },
    { min: 4096.5, avg: 16384, max: 65536 }, { min: 10, avg: 16384, max: 65536 },
    { min: 4096, avg: 16384, max: 2 ** 31 }, { min: 4096, avg: '16384', max: 65536 }, {}
  ]
  for (const p of bad) {
    t.throws(() => cut(Buffer.alloc(10), p as ChunkParams), { code: 'INVALID_ARGUMENT' }, JSON.stringify(p))
    await t.rejects(chunksOf(Buffer.alloc(10), p as ChunkParams), { code: 'INVALID_ARGUMENT' }, JSON.stringify(p))
  }
  t.doesNotThrow(() => cut(Buffer.alloc(10), { min: 1000, avg: 3000, max: 10000 }), 'powers of two are not required')
})
