/**
 * The runner of the process that owns the store (`pfs serve`, `pfs mount`): it runs every
 * job that can run, then sleeps until the store changes (`wake`), a cron input comes due,
 * or a poll interval passes. Its failures are reported and retried, never fatal: a server
 * keeps serving. `stop` kills the running datums and leaves their jobs queued, to resume
 * where they stopped.
 *
 * Cron inputs tick here, and only here (a one-off command does not wait for a clock): a
 * tick commits a file named for its time (RFC 3339) to the input's repo, which queues the
 * pipeline's job as any commit does; with `overwrite` the tick replaces the files before
 * it. Ticks missed while no runner ran are made up by one tick, at the latest time due.
 */
import type { Pfs, PipelineInfo } from '../store/index.js'
import { isPfsError } from '../store/index.js'
import { parseCron } from './cron.js'
import { type RunOptions, runQueued } from './jobs.js'
import { type PipelineSpec, checkSpec, cronInputs } from './spec.js'

export interface RunnerOptions extends Omit<RunOptions, 'signal'> {
  /** Longest sleep between looks at the queue (ms), in case a change was not told. */
  pollMs?: number
  /** The wall clock (tests). */
  now?: () => number
}

const POLL_MS = 5000
const RETRY_MS = 2000
const SETTLE_MS = 50

export class Runner {
  private readonly ac = new AbortController()
  private woken = false
  private wakeup: (() => void) | undefined
  private done: Promise<void> | undefined

  constructor (private readonly pfs: Pfs, private readonly opts: RunnerOptions) {}

  start (): void {
    this.done ??= this.loop()
  }

  /** The store changed: look at the queue again. */
  wake (): void {
    this.woken = true
    this.wakeup?.()
  }

  /** Stops: running datums are killed, their jobs stay queued. Idempotent. */
  async stop (): Promise<void> {
    this.ac.abort()
    this.wake()
    await this.done
  }

  private async loop (): Promise<void> {
    const now = this.opts.now ?? Date.now
    while (!this.ac.signal.aborted) {
      this.woken = false
      let sleep = this.opts.pollMs ?? POLL_MS
      try {
        const nextTick = await tickCrons(this.pfs, now(), message => {
          this.opts.onEvent?.({ kind: 'warning', job: '', message })
        })
        await runQueued(this.pfs, { ...this.opts, signal: this.ac.signal })
        sleep = Math.min(sleep, Math.max(0, nextTick - now()))
      } catch (e) {
        if (this.ac.signal.aborted) break
        const message = `the runner failed and tries again: ${(e as Error).message}`
        this.opts.onEvent?.({ kind: 'warning', job: '', message })
        sleep = RETRY_MS
      }
      if (this.ac.signal.aborted) continue
      if (!this.woken) {
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, sleep)
          this.wakeup = () => { clearTimeout(timer); resolve() }
        })
        this.wakeup = undefined
      }
      // A burst of changes (a folder copied into the mount) wakes the runner once, not per file.
      if (!this.ac.signal.aborted) await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
    }
  }
}

/**
 * Makes every cron tick that is due; returns when the next one comes due (ms since the
 * epoch). A pipeline whose ticks fail is reported and skipped; the others tick.
 */
export async function tickCrons (pfs: Pfs, now: number, onError?: (message: string) => void): Promise<number> {
  let next = Infinity
  for (const p of await pfs.listPipelines()) {
    if (p.state !== 'running') continue
    try {
      const spec = p.spec as PipelineSpec
      for (const c of cronInputs(checkSpec(spec, `of pipeline ${p.name}`).input)) {
        const cron = parseCron(c.spec)
        let t = await lastTick(pfs, c.repo!, p, c.start)
        let due: number | undefined
        for (let n = 0; n < 100_000 && cron.next(t) <= now; n++) due = t = cron.next(t)
        if (due !== undefined) await tick(pfs, c.repo!, due, c.overwrite)
        next = Math.min(next, cron.next(t))
      }
    } catch (e) {
      if (isPfsError(e, 'UNAVAILABLE')) throw e
      onError?.(`pipeline ${p.name}: its cron input did not tick: ${(e as Error).message}`)
    }
  }
  return next
}

/**
 * When the input last ticked: the time its newest commit names (a tick's message), else
 * that commit's time, else the spec's `start`, else the pipeline's creation.
 */
async function lastTick (pfs: Pfs, repo: string, p: PipelineInfo, start: string | undefined): Promise<number> {
  try {
    const head = (await pfs.inspectBranch(repo, 'master')).head
    if (head !== null) {
      const c = await pfs.inspectCommit(repo, head)
      const named = Date.parse(/^cron tick (\S+)$/.exec(c.message)?.[1] ?? '')
      return Number.isNaN(named) ? c.finished ?? p.created : named
    }
  } catch (e) {
    if (!isPfsError(e, 'NOT_FOUND')) throw e
  }
  const s = start === undefined ? NaN : Date.parse(start)
  return Number.isNaN(s) ? p.created : s
}

async function tick (pfs: Pfs, repo: string, at: number, overwrite: boolean): Promise<void> {
  const name = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const data = Buffer.from(`${name}\n`)
  const message = `cron tick ${name}`
  if (!overwrite) {
    await pfs.putFile(repo, 'master', name, data, { message })
    return
  }
  await pfs.startCommit(repo, 'master', { message })
  try {
    const old = (await pfs.list(repo, 'master', '')).entries
    if (old.length > 0) await pfs.apply(repo, 'master', old.map(e => ({ op: 'delete', path: e.name, recursive: true })))
    await pfs.putFile(repo, 'master', name, data)
    await pfs.finishCommit(repo, 'master')
  } catch (e) {
    await pfs.abortCommit(repo, 'master').catch(() => {})
    throw e
  }
}
