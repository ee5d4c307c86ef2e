/**
 * Sequential writes (cp, dd, tar...) are chunked while they arrive instead of after
 * close: each appended piece is handed to `pfs.putFile` through a bounded queue, so
 * chunking and hashing overlap the writer and the file is never read back from the
 * spool. The queue applies backpressure: memory stays flat whatever the file size.
 * Any non-sequential change cancels the stream and the spool is uploaded instead.
 */
import type { Pfs, PutOptions } from '../store/index.js'

const MAX_QUEUED = 16 << 20

export class StreamUpload {
  private readonly queue: Buffer[] = []
  private queued = 0
  private ended = false
  private error: Error | undefined
  private wake: (() => void) | undefined
  private space: Array<() => void> = []
  readonly done: Promise<void>

  constructor (pfs: Pfs, repo: string, branch: string, path: string, opts: PutOptions) {
    this.done = pfs.putFile(repo, branch, path, this.pieces(), { ...opts, keepOpen: true }).then(() => {})
    // A failed upload stops reading: wake a writer waiting for room, and take no more
    // bytes (the spool has them all; the caller falls back to uploading it).
    this.done.catch(e => {
      this.error ??= e as Error
      for (const f of this.space.splice(0)) f()
    })
  }

  private async * pieces (): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.error !== undefined) throw this.error
      const b = this.queue.shift()
      if (b !== undefined) {
        this.queued -= b.length
        for (const f of this.space.splice(0)) f()
        yield b
        continue
      }
      if (this.ended) return
      await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  /** Queues the bytes (the caller must not reuse the buffer); waits while too much is queued. */
  async push (b: Buffer): Promise<void> {
    while (this.queued >= MAX_QUEUED && this.error === undefined) {
      await new Promise<void>(resolve => this.space.push(resolve))
    }
    if (this.error !== undefined) return
    this.queue.push(b)
    this.queued += b.length
    this.kick()
  }

  /** No more bytes: resolves once the file is in the write session. */
  async end (): Promise<void> {
    this.ended = true
    this.kick()
    await this.done
  }

  /** Abandons the stream (its chunks become garbage for gc); nothing reaches the session. */
  cancel (): void {
    this.error = new Error('stream upload cancelled')
    for (const f of this.space.splice(0)) f()
    this.kick()
  }

  private kick (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }
}
