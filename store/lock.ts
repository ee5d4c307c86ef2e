/** A FIFO async mutex: the engine applies state changes one at a time. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const prev = this.tail
    let release!: () => void
    this.tail = new Promise<void>(resolve => { release = resolve })
    await prev
    try {
      return await fn()
    } finally {
      release()
    }
  }
}

/** Strictly increasing ms timestamps, so events in one process never tie. */
export function monotonicClock (now: () => number = Date.now): () => number {
  let last = 0
  return () => {
    const t = Math.max(now(), last + 1)
    last = t
    return t
  }
}
