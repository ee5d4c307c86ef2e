/**
 * Datum records on their way to the store, group-committed: a record is sent at once when
 * no write is under way, else with every record that finished meanwhile in the next
 * write. A slow datum's record is durable as soon as it ends; a thousand quick ones cost a
 * few index writes, not a thousand synced ones. A record not yet written when the runner
 * is killed means its datum runs again on resume (its output is replaced, never doubled).
 */
import type { DatumRecord, Pfs } from '../store/index.js'

const MAX_BATCH = 1000

export class RecordSink {
  private pending: DatumRecord[] = []
  private writing: Promise<void> | undefined
  private error: unknown

  /** `onError`: told of the first failed write (the job should stop: its records are not kept). */
  constructor (private readonly pfs: Pfs, private readonly job: string, private readonly onError: () => void) {}

  push (rec: DatumRecord): void {
    this.pending.push(rec)
    this.writing ??= this.drain()
  }

  /** Resolves once every record pushed so far is written; throws what a write threw. */
  async flush (): Promise<void> {
    while (this.writing !== undefined) await this.writing
    if (this.error !== undefined) throw this.error
  }

  /** Writes until nothing is pending; a failure is kept for `flush` (the job was killed, say). */
  private async drain (): Promise<void> {
    try {
      while (this.pending.length > 0 && this.error === undefined) {
        const batch = this.pending.splice(0, MAX_BATCH)
        await this.pfs.putDatums(this.job, batch)
      }
    } catch (e) {
      if (this.error === undefined) this.onError()
      this.error ??= e
    } finally {
      this.writing = undefined
    }
  }
}
