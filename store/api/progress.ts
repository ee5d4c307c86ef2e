/**
 * Progress of long calls (put, get, gc, fsck, rebuild) as events: the store never prints.
 * Producers throttle with `throttle`, so an event stream is at most ~10 a second plus the
 * final one, whoever renders it (the CLI's line, the server's NDJSON stream).
 */

export interface Progress {
  phase: string
  done: number
  total?: number
  bytes?: number
  totalBytes?: number
}

/** Options accepted by long calls; progress is delivered as events, never printed. */
export interface ProgressOptions { onProgress?: (p: Progress) => void }

/** Reports an event; `final` events (the last of a phase) are never dropped. */
export interface Tick {
  (p: Progress, final?: boolean): void
  /** Sends the event held back for the trailing edge now, if any. */
  flush: () => void
}

const PROGRESS_INTERVAL_MS = 100

/**
 * At most one event per `ms`: the first at once, and every `final` one. With `trailing`,
 * an event dropped inside an interval is not lost: the latest one is sent when the
 * interval ends (or at `flush`), so a flood still ends on its last event. With no
 * listener it does nothing, so producers need not check.
 *
 * @example
 *   const tick = throttle(opts.onProgress)
 *   for (const f of files) { await put(f); tick({ phase: 'put', done: ++n, total: files.length }) }
 *   tick({ phase: 'put', done: n, total: files.length }, true)
 */
export function throttle (onProgress?: (p: Progress) => void, opts: { ms?: number, trailing?: boolean } = {}): Tick {
  const ms = opts.ms ?? PROGRESS_INTERVAL_MS
  let last = -Infinity
  let held: Progress | undefined
  let timer: NodeJS.Timeout | undefined
  const send = (p: Progress): void => {
    clearTimeout(timer)
    timer = undefined
    held = undefined
    last = Date.now()
    onProgress?.(p)
  }
  const flush = (): void => { if (held !== undefined) send(held) }
  const tick = (p: Progress, final = false): void => {
    if (onProgress === undefined) return
    if (final || Date.now() - last >= ms) { send(p); return }
    if (opts.trailing !== true) return
    held = { ...p }
    timer ??= setTimeout(flush, last + ms - Date.now())
  }
  return Object.assign(tick, { flush })
}
