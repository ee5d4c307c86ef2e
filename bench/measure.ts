/**
 * What every benchmark shares: the size scale, timing, result rows, and small file-system
 * helpers (random files written once, warm page cache, folder sizes).
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** `PFS_BENCH_SCALE` shrinks every size (0.1 for a quick run); 1 is the size. */
export const SCALE = readScale(process.env.PFS_BENCH_SCALE)

export const MiB = 1 << 20
export const GiB = 1 << 30

function readScale (s: string | undefined): number {
  if (s === undefined || s === '') return 1
  const n = Number(s)
  if (!Number.isFinite(n) || n <= 0 || n > 10) {
    throw new Error(`PFS_BENCH_SCALE must be a number in (0, 10], got '${s}'`)
  }
  return n
}

/** `n` times the scale, rounded to a multiple of `unit`, at least `unit`. */
export function scaled (n: number, unit = 1): number {
  return Math.max(unit, Math.round(n * SCALE / unit) * unit)
}

/** One line of the final table. `met` is null for figures with no goal. */
export interface Row {
  name: string
  pfs: string
  peer: string
  ratio: string
  goal: string
  met: boolean | null
}

/** Where a benchmark works: its own folder under the run's temp folder. */
export interface Ctx { dir: string }

export async function timed<T> (fn: () => Promise<T>): Promise<{ ms: number, value: T }> {
  const t0 = process.hrtime.bigint()
  const value = await fn()
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value }
}

export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const fmtMiB = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`
export const fmtRate = (bytes: number, ms: number): string => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`
export const fmtRatio = (r: number): string => `${r.toFixed(2)}×`
export const fmtMs = (ms: number): string => `${ms.toFixed(1)} ms`

/** Prints one benchmark line: the pfs figure, the peer figure, the ratio and the goal. */
export function report (row: Row): Row {
  const verdict = row.met === null ? '' : row.met ? '  [goal met]' : '  [goal MISSED]'
  console.log(`${row.name}: pfs ${row.pfs} | ${row.peer} | ratio ${row.ratio} (goal ${row.goal})${verdict}`)
  return row
}

/** Writes `size` random bytes to `file` in pieces, so memory stays small. */
export async function writeRandomFile (file: string, size: number): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true })
  const fh = await fsp.open(file, 'w')
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(16 * MiB, size - done)
      await fh.write(randomBytes(n))
      done += n
    }
  } finally {
    await fh.close()
  }
}

/** Flushes dirty pages, so writeback of generated data does not land inside a timing. */
export async function syncDisk (): Promise<void> {
  await exec('sync', [])
}

/** Reads a file once so both tools start with it in the page cache. */
export async function warmCache (file: string): Promise<void> {
  await exec('sh', ['-c', 'cat "$1" >/dev/null', 'sh', file])
}

/** Bytes of every file below a folder (apparent sizes). */
export async function dirBytes (dir: string): Promise<number> {
  let total = 0
  const ents = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of ents) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) total += await dirBytes(p)
    else if (e.isFile()) total += (await fsp.stat(p)).size
  }
  return total
}
