/**
 * A job's log lines on their way to the store: batched (a quarter second, or a few hundred
 * lines), so a chatty datum costs a few index writes a second, not one per line. A datum
 * attempt keeps at most `MAX_BYTES` of output; past that one line says what was left out.
 * A failure to keep lines is reported once and never fails the job.
 */
import type { LogEntry, Pfs } from '../store/index.js'

const FLUSH_MS = 250
const FLUSH_LINES = 500
const MAX_BYTES = 16 * 1024 * 1024

export class LogSink {
  private buf: LogEntry[] = []
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> = Promise.resolve()
  private readonly bytes = new Map<string, number>()
  private failed = false

  constructor (
    private readonly pfs: Pfs, private readonly job: string, private readonly onError: (message: string) => void
  ) {}

  /** Keeps a line; a datum attempt's output is capped, the runner's lines are not. */
  push (e: LogEntry): void {
    if (e.stream === 'pfs') { this.add(e); return } // the runner's own lines are always kept
    const key = `${e.datum}/${e.attempt}`
    const used = this.bytes.get(key) ?? 0
    if (used > MAX_BYTES) return
    const size = Buffer.byteLength(e.line) + 1
    if (used + size > MAX_BYTES) {
      this.bytes.set(key, MAX_BYTES + 1)
      this.add({ ...e, stream: 'pfs', line: `output past ${MAX_BYTES / 2 ** 20} MiB of this attempt is not kept` })
      return
    }
    this.bytes.set(key, used + size)
    this.add(e)
  }

  private add (e: LogEntry): void {
    this.buf.push(e)
    if (this.buf.length >= FLUSH_LINES) void this.flush()
    else this.timer ??= setTimeout(() => { void this.flush() }, FLUSH_MS)
  }

  /** Sends what is buffered; resolves once every line pushed so far is written. */
  async flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.buf
    this.buf = []
    if (batch.length > 0) {
      this.writing = this.writing.then(async () => {
        try {
          await this.pfs.appendLogs(this.job, batch)
        } catch (e) {
          if (!this.failed) this.onError(`log lines were not kept: ${(e as Error).message}`)
          this.failed = true
        }
      })
    }
    await this.writing
  }
}
