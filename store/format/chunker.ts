/**
 * Content-defined chunking: FastCDC-style gear hash with normalized chunking.
 *
 * A boundary depends only on the bytes just before it (a 32-byte window for a 32-bit gear
 * hash), so inserting bytes in the middle of a file changes only the chunks near the edit.
 *
 * Algorithm (on-disk relevant: changing any of this changes every chunk id):
 * - Hash: `h = ((h << 1) + GEAR[byte]) >>> 0`, 32-bit, reset to 0 at the start of a chunk.
 * - The first `min` bytes of a chunk are skipped (never a boundary, never hashed).
 * - From `min` to `avg` the boundary test is the stricter mask `maskS` (bits + 2 high bits
 *   all zero), from `avg` to `max` the looser `maskL` (bits - 2 high bits), where
 *   bits = round(log2(avg)). This is FastCDC's normalization level 2: chunk sizes cluster
 *   around `avg`. High bits are tested because they depend on the most recent 32 bytes.
 * - The byte that satisfies the test is the last byte of its chunk; `max` bytes is a
 *   forced boundary; the end of the input ends the last chunk.
 * - GEAR is 256 words from splitmix64 seeded with SEED, each the high 32 bits of an output.
 * Chunk id: SHA-256 (lowercase hex) of the chunk bytes.
 */
import { createHash } from 'node:crypto'
import { invalidArgument } from '../api/errors.js'

export interface ChunkParams { min: number, avg: number, max: number }

export const DEFAULT_CHUNKING: ChunkParams = Object.freeze({ min: 512 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 })

/** "pfs gear" in ASCII; fixed forever, since the gear table decides every boundary. */
const SEED = 0x7066732067656172n

/** splitmix64 (Steele et al.), high 32 bits of each output. */
function makeGear (seed: bigint): Uint32Array {
  const M = (1n << 64n) - 1n
  const table = new Uint32Array(256)
  let s = seed
  for (let i = 0; i < 256; i++) {
    s = (s + 0x9e3779b97f4a7c15n) & M
    let z = s
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M
    z = z ^ (z >> 31n)
    table[i] = Number(z >> 32n)
  }
  return table
}

export const GEAR: Readonly<Uint32Array> = makeGear(SEED)

/** Validated params with the derived masks; computed once per stream. */
interface Plan { min: number, avg: number, max: number, maskS: number, maskL: number }

/** A mask of the `n` highest bits of a 32-bit word, as a signed 32-bit integer. */
const highBits = (n: number): number => (n >= 32 ? -1 : ~((1 << (32 - n)) - 1)) | 0

/** Whether chunking params are usable: integers with 64 <= min < avg < max <= 1 GiB. */
export function validChunkParams (p: unknown): p is ChunkParams {
  if (p === null || typeof p !== 'object') return false
  const { min, avg, max } = p as Partial<ChunkParams>
  const ints = [min, avg, max].every(n => Number.isSafeInteger(n))
  return ints && (min as number) >= 64 && (min as number) < (avg as number) &&
    (avg as number) < (max as number) && (max as number) <= 2 ** 30
}

function plan (p: ChunkParams): Plan {
  if (!validChunkParams(p)) {
    throw invalidArgument(`bad chunking params ${JSON.stringify(p)}: need integers with 64 <= min < avg < max <= 1 GiB`,
      { params: p })
  }
  const { min, avg, max } = p
  const bits = Math.round(Math.log2(avg))
  return { min, avg, max, maskS: highBits(bits + 2), maskL: highBits(bits - 2) }
}

/** Where a chunk in progress stands: bytes taken so far and the rolling hash. */
interface CutState { len: number, h: number }

/**
 * Scans buf[from, to) as the continuation of a chunk already holding `st.len` bytes.
 * Returns the index in buf just past the boundary, or -1 when the chunk goes on past `to`
 * (st is then updated, so the next piece continues where this one stopped).
 */
function scan (buf: Uint8Array, from: number, to: number, st: CutState, p: Plan): number {
  // The chunk holds `base + i` bytes before buf[i] is taken.
  const base = st.len - from
  let i = from
  if (base + i < p.min) i = Math.min(to, p.min - base)
  let h = st.h
  const gear = GEAR
  const maskS = p.maskS
  const maskL = p.maskL
  const endS = Math.min(to, p.avg - base)
  // Unsigned arithmetic: measured ~35% faster in V8 than `| 0` with an Int32Array.
  for (; i < endS; i++) {
    h = ((h << 1) + gear[buf[i]]) >>> 0
    if ((h & maskS) === 0) return i + 1
  }
  const endL = Math.min(to, p.max - base)
  for (; i < endL; i++) {
    h = ((h << 1) + gear[buf[i]]) >>> 0
    if ((h & maskL) === 0) return i + 1
  }
  if (base + i >= p.max) return i
  st.len = base + i
  st.h = h
  return -1
}

const newCutState = (): CutState => ({ len: 0, h: 0 })

/**
 * Length of the first chunk of `buf`: its content-defined boundary, or `max`, or all of
 * buf when it has no boundary. So buf must hold at least `max` bytes unless it is the
 * rest of the input; otherwise a later boundary could be missed.
 *
 * @example
 *   let rest = data
 *   while (rest.length > 0) {
 *     const n = cut(rest, DEFAULT_CHUNKING)
 *     use(rest.subarray(0, n))
 *     rest = rest.subarray(n)
 *   }
 */
export function cut (buf: Uint8Array, params: ChunkParams = DEFAULT_CHUNKING): number {
  const n = scan(buf, 0, buf.length, newCutState(), plan(params))
  return n < 0 ? buf.length : n
}

export interface Chunk { data: Buffer, id: string }

/**
 * Cuts a byte stream into chunks. Each input byte is copied once, into its chunk's own
 * exact-size buffer (chunks never pin input pieces or each other in memory); memory held
 * is at most one chunk in progress. Input pieces must not be modified after being
 * yielded (true of Node streams). Empty input yields nothing.
 *
 * @example
 *   for await (const { id, data } of chunkStream(fs.createReadStream(p))) await put(id, data)
 */
export async function * chunkStream (
  src: AsyncIterable<Uint8Array>, params: ChunkParams = DEFAULT_CHUNKING
): AsyncGenerator<Chunk> {
  const p = plan(params)
  const st = newCutState()
  let parts: Uint8Array[] = []
  for await (const piece of src) {
    let from = 0
    while (from < piece.length) {
      const end = scan(piece, from, piece.length, st, p)
      if (end < 0) {
        parts.push(piece.subarray(from))
        break
      }
      parts.push(piece.subarray(from, end))
      yield makeChunk(parts)
      parts = []
      st.len = 0
      st.h = 0
      from = end
    }
  }
  if (parts.length > 0) yield makeChunk(parts)
}

function makeChunk (parts: Uint8Array[]): Chunk {
  const data = Buffer.concat(parts)
  return { data, id: createHash('sha256').update(data).digest('hex') }
}
