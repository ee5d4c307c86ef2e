/**
 * Renders Progress events as one updating line on stderr (cli-progress): phase, a bar and
 * percent, counts, bytes of the total, rate, and time left once the total is known.
 * Only for a person watching: silent when stderr is not a terminal, with --json, or when
 * PFS_NO_PROGRESS_IN_TESTS is set. The line is cleared at the end so that it never mixes
 * with the command's output.
 */
import { createRequire } from 'node:module'
import type cliProgressTypes from 'cli-progress'
import type { Progress } from '../../store/index.js'
import { size } from './output.js'

export interface ProgressLine {
  /** Pass as `onProgress`; undefined when nothing is shown, so the store can skip work. */
  onProgress?: (p: Progress) => void
  /** Clears the line. Idempotent. */
  end (): void
}

/** What the bar measures: bytes when their total is known, else items. */
function measure (p: Progress): { value: number, total: number } | undefined {
  if (p.totalBytes !== undefined && p.totalBytes > 0) return { value: p.bytes ?? 0, total: p.totalBytes }
  if (p.total !== undefined && p.total > 1) return { value: p.done, total: p.total }
  return undefined
}

export function progressLine (opts: { json?: boolean }): ProgressLine {
  if (process.stderr.isTTY !== true || opts.json === true || process.env.PFS_NO_PROGRESS_IN_TESTS) return { end () {} }
  // Loaded only for a person watching: every other process (a mount, a pod) stays smaller.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressTypes
  let bar: cliProgressTypes.SingleBar | undefined
  let phase: string | undefined
  const end = (): void => {
    bar?.stop()
    bar = undefined
  }
  return {
    onProgress (p) {
      const m = measure(p) ?? { value: 0, total: 0 }
      if (bar === undefined || p.phase !== phase) {
        end()
        phase = p.phase
        const started = Date.now()
        bar = new cliProgress.SingleBar({
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
          barsize: 20,
          barCompleteChar: '█',
          barIncompleteChar: '░',
          etaBuffer: 50,
          format: (options, params, payload: { p: Progress }) => {
            const eta = typeof params.eta === 'number' && Number.isFinite(params.eta) ? params.eta : undefined
            const seconds = (Date.now() - started) / 1000
            return render(payload.p, seconds, eta, cliProgress.Format.BarFormat(params.progress, options))
          }
        })
        bar.start(m.total, m.value, { p })
        return
      }
      bar.setTotal(m.total)
      bar.update(m.value, { p })
    },
    end
  }
}

/**
 * `put [████░░░░] 42% | 1203/3001 | 1.20 GiB of 2.90 GiB | 25.0 MiB/s | 0:19 left`; the
 * bar, percent and time left only once a total is known.
 */
export function render (p: Progress, seconds: number, etaSeconds?: number, bar?: string): string {
  const m = measure(p)
  const percent = m === undefined ? 0 : Math.floor(100 * Math.min(1, m.value / m.total))
  const parts = [m === undefined || bar === undefined ? p.phase : `${p.phase} [${bar}] ${percent}%`]
  parts.push(`${p.done}${p.total !== undefined && p.total > 1 ? '/' + p.total : ''}`)
  if (p.bytes !== undefined) {
    parts.push(size(p.bytes) + (p.totalBytes !== undefined ? ` of ${size(p.totalBytes)}` : ''))
    if (seconds >= 0.5) parts.push(`${size(Math.round(p.bytes / seconds))}/s`)
  }
  const estimate = m !== undefined && etaSeconds !== undefined && seconds >= 1 && m.value < m.total
  if (estimate) parts.push(`${clock(etaSeconds)} left`)
  return parts.join(' | ')
}

/** 75 -> `1:15`, 3725 -> `1:02:05`. */
function clock (s: number): string {
  const t = Math.max(0, Math.round(s))
  const mm = String(Math.floor(t / 60) % 60)
  const ss = String(t % 60).padStart(2, '0')
  return t >= 3600 ? `${Math.floor(t / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}
