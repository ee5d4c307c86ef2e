/**
 * How results look: aligned tables and `key: value` blocks for people, or with `--json`
 * the API result as one JSON document. Library code never prints; only bin/ does, and
 * only through here.
 */
import { once } from 'node:events'
import type { Readable } from 'node:stream'
import type { EntryKind } from '../../store/index.js'

/** Writes to stdout, waiting when the reader is slower than us. */
async function write (text: string | Uint8Array): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain')
}

export async function line (text = ''): Promise<void> {
  await write(text + '\n')
}

/** One JSON document: the API result as is (full ids, ms timestamps). */
export async function json (value: unknown): Promise<void> {
  await write(JSON.stringify(value, null, 2) + '\n')
}

/** Prints rows under headers, columns padded; the last column is never padded. */
export async function table (headers: string[], rows: string[][]): Promise<void> {
  const all = [headers, ...rows]
  const widths = headers.map((_, c) => Math.max(...all.map(r => (r[c] ?? '').length)))
  for (const r of all) {
    await line(r.map((cell, c) => c === r.length - 1 ? cell : cell.padEnd(widths[c] as number)).join('  ').trimEnd())
  }
}

/** `key: value` lines with the values aligned, for `inspect`. */
export async function fields (pairs: Array<[string, string]>): Promise<void> {
  const w = Math.max(...pairs.map(([k]) => k.length)) + 1
  for (const [k, v] of pairs) await line(`${(k + ':').padEnd(w)} ${v}`)
}

/**
 * A JSON array written element by element, so a listing of millions of entries is still
 * one document without being held in memory.
 */
export function jsonArray (): { push (v: unknown): Promise<void>, end (): Promise<void> } {
  let n = 0
  return {
    push: async v => { await write((n++ === 0 ? '[\n' : ',\n') + JSON.stringify(v)) },
    end: async () => { await write(n === 0 ? '[]\n' : '\n]\n') }
  }
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** 1536 → `1.5 KiB`; bytes below 1 KiB stay exact. */
export function size (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  let v = bytes
  let u = -1
  do { v /= 1024; u++ } while (v >= 1024 && u < UNITS.length - 1)
  return `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`
}

/** Local time, `2026-11-20 10:00:03`; '-' for none. */
export function time (ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-'
  const d = new Date(ms)
  const p = (n: number): string => String(n).padStart(2, '0')
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
  return `${date} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** Commit ids in tables: the first 12 characters (full ids in --json and inspect). */
export function shortId (id: string | null | undefined): string {
  return id ? id.slice(0, 12) : '-'
}

const TYPE_LETTERS: Record<EntryKind, string> = {
  file: '-', dir: 'd', symlink: 'l', fifo: 'p', socket: 's', chardev: 'c', blockdev: 'b'
}

/** `drwxr-xr-x`-style mode, as `ls -l` shows it (with s/S for set-id bits, t/T sticky). */
export function modeString (kind: EntryKind, mode: number): string {
  let s = ''
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (mode >> shift) & 7
    // set-user-ID over the owner's x, set-group-ID over the group's, sticky over others'
    const special = (mode >> (9 + shift / 3)) & 1
    const x = special === 0 ? (b & 1 ? 'x' : '-') : shift === 0 ? (b & 1 ? 't' : 'T') : (b & 1 ? 's' : 'S')
    s += (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + x
  }
  return TYPE_LETTERS[kind] + s
}

/** Messages kept on one line: the first line, trimmed. */
export function firstLine (s: string): string {
  const i = s.indexOf('\n')
  return (i < 0 ? s : s.slice(0, i)).trim()
}

/**
 * Streams bytes to stdout. A reader that stops early (`pfs cat ... | head`) ends the
 * copy quietly: that is the reader's choice, not an error.
 */
export async function toStdout (src: Readable): Promise<void> {
  try {
    for await (const chunk of src) await write(chunk)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e
  } finally {
    src.destroy()
  }
}

/**
 * A reader that goes away (`pfs ls | head`) is not an error: stop quietly.
 * Installed once by bin/pfs.ts.
 */
export function exitQuietlyOnEpipe (): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0)
    throw e
  })
}

/** One line to stderr: the `log` handed to the server and the mount. */
export function stderrLog (m: string): void {
  process.stderr.write(m.endsWith('\n') ? m : m + '\n')
}
