/** Strictly increasing ms timestamps, so events in one process never tie. */
export function monotonicClock (now: () => number = Date.now): () => number {
  let last = 0
  return () => {
    const t = Math.max(now(), last + 1)
    last = t
    return t
  }
}
