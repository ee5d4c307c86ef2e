/**
 * Renders Progress events as one updating line on stderr: phase, count, bytes, rate.
 * Only for a person watching: silent when stderr is not a terminal, with --json, or
 * when PFS_NO_PROGRESS_IN_TESTS is set. At most ~10 updates a second; the line is
 * cleared at the end so that it never mixes with the command's output.
 */
import type { Progress } from '../../store/index.js'
import { size } from './output.js'

export interface ProgressLine {
  /** Pass as `onProgress`; undefined when nothing is shown, so the store can skip work. */
  onProgress?: (p: Progress) => void
  /** Clears the line. Idempotent. */
  end (): void
}

const INTERVAL_MS = 100

export function progressLine (opts: { json?: boolean }): ProgressLine {
  const tty = process.stderr.isTTY === true
  if (!tty || opts.json === true || process.env.PFS_NO_PROGRESS_IN_TESTS) return { end () {} }
  let started = 0
  let last = 0
  let shown = false
  return {
    onProgress (p) {
      const now = Date.now()
      if (started === 0) started = now
      const final = p.total !== undefined && p.done >= p.total
      if (!final && now - last < INTERVAL_MS) return
      last = now
      const text = render(p, (now - started) / 1000)
      // A terminal of unknown size reports 0 columns.
      const width = process.stderr.columns > 20 ? process.stderr.columns : 80
      process.stderr.write(`\r${text.slice(0, width - 1)}\x1b[K`)
      shown = true
    },
    end () {
      if (shown) process.stderr.write('\r\x1b[K')
      shown = false
    }
  }
}

/** `upload 12/40, 3.10 MiB of 9.00 MiB, 25.0 MiB/s` */
export function render (p: Progress, seconds: number): string {
  const parts = [`${p.phase} ${p.done}${p.total !== undefined ? '/' + p.total : ''}`]
  if (p.bytes !== undefined) {
    parts.push(size(p.bytes) + (p.totalBytes !== undefined ? ` of ${size(p.totalBytes)}` : ''))
    if (seconds >= 0.5) parts.push(`${size(Math.round(p.bytes / seconds))}/s`)
  }
  return parts.join(', ')
}
