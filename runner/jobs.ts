/**
 * Running a job: plan its datums (plan.ts: from the inputs' diff when it can), reuse every
 * datum whose key succeeded before (in any job of the pipeline: the run cache), run the
 * rest on the backend, and make the output commit.
 *
 * The output commit is a write session on the output branch, opened by the job: each
 * datum's `/pfs/out` is added to it as the datum finishes, and recorded (`putDatums`), so
 * a runner that dies mid-job resumes with the datums it finished. At the end the commit
 * holds exactly the outputs of the job's datums (reused ones copied from the commit that
 * holds them, those of datums gone or changed removed) and records its provenance. A job
 * with a failed datum or two datums writing one path keeps its commit, marked failed, and
 * does not move the branch.
 */
import { promises as fsp } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pLimit, { type LimitFunction } from 'p-limit'
import type { DatumRecord, JobInfo, JobStats, Pfs, PipelineInfo, Provenance, WriteOp } from '../store/index.js'
import { isPfsError } from '../store/index.js'
import type { Backend } from './backend.js'
import { type RunnerEvent, runDatum } from './datum-run.js'
import { combine, datumKey, make, pfsEntries } from './datums.js'
import { LogSink } from './log-sink.js'
import { RecordSink } from './record-sink.js'
import { OutputSession, presentIn } from './outputs.js'
import { type JobPlan, cachedAll, jobCommits, planJob } from './plan.js'
import { durationMs } from './duration.js'
import { type PipelineSpec, checkSpec } from './spec.js'

export type { RunnerEvent }

/** How often a running job looks whether it was stopped by `pfs job stop`. */
const KILL_POLL_MS = 1000

export interface RunOptions {
  backend: Backend
  /**
   * Datums at once, over every job running (jobs of different pipelines run side by side);
   * default the machine's cores. A spec's `parallelism_spec` caps its own jobs below that.
   */
  parallelism?: number
  onEvent?: (e: RunnerEvent) => void
  /** Stops the job: running datums are killed and the job is left queued. */
  signal?: AbortSignal
}

/**
 * Runs every job that can run, oldest first, including those its outputs queue or set
 * free; returns them as they ended. Jobs of different pipelines run side by side (a long
 * job of one pipeline holds up no other), sharing `parallelism` datum slots; a pipeline's
 * own jobs run one after another, in order.
 */
export async function runQueued (pfs: Pfs, opts: RunOptions): Promise<JobInfo[]> {
  const done: JobInfo[] = []
  const slots = pLimit(Math.max(1, opts.parallelism ?? os.availableParallelism()))
  const running = new Map<string, Promise<void>>() // pipeline -> its job running here
  let error: unknown
  for (;;) {
    const next = opts.signal?.aborted === true || error !== undefined || running.size >= MAX_JOBS
      ? undefined
      : await nextRunnable(pfs, new Set(running.keys()))
    if (next !== undefined) {
      running.set(next.pipeline, runJob(pfs, next.id, opts, slots)
        .catch(async (e: unknown) => await failed(pfs, next, e, opts))
        .then(j => { done.push(j) }, (e: unknown) => { error ??= e })
        .finally(() => running.delete(next.pipeline)))
      continue
    }
    if (running.size === 0) break
    // Until a job ends, or a while passes: a commit meanwhile may have queued a job of
    // another pipeline, which need not wait for these.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([...running.values(), new Promise(resolve => { timer = setTimeout(resolve, RECHECK_MS) })])
    clearTimeout(timer)
  }
  if (error !== undefined) throw error
  return done
}

/** Jobs one runner runs at once (each of another pipeline). */
const MAX_JOBS = 16
/** How often a runner with jobs under way looks for more. */
const RECHECK_MS = 500

/**
 * A job the runner could not carry through fails, saying why, so it does not come back
 * forever; a store that is out of reach for now (a server restarting) is thrown instead,
 * and the job stays to be resumed.
 */
async function failed (pfs: Pfs, job: JobInfo, e: unknown, opts: RunOptions): Promise<JobInfo> {
  if (isPfsError(e, 'UNAVAILABLE') || isPfsError(e, 'BUSY')) throw e
  const now = await pfs.inspectJob(job.id)
  // Killed meanwhile (`pfs job stop`): that is how it ended.
  if (now.state !== 'queued' && now.state !== 'running') return now
  const j = await pfs.updateJob(job.id, {
    state: 'failure', reason: `the runner failed: ${(e as Error).message}`, finished: Date.now()
  })
  opts.onEvent?.({ kind: 'job', job: j })
  return j
}

/**
 * The oldest job that can run now: one that waits for no upstream job, of a running
 * pipeline, with no older unfinished job of its pipeline (a pipeline's jobs run in the
 * order of their commits).
 */
async function nextRunnable (pfs: Pfs, busy: ReadonlySet<string>): Promise<JobInfo | undefined> {
  const waiting: JobInfo[] = []
  for await (const j of pages(p => pfs.listJobs({ waiting: true, limit: 10_000, after: p }))) waiting.push(j)
  waiting.reverse() // oldest first
  const seen = new Set<string>()
  const running = new Map<string, boolean>()
  for (const j of waiting) {
    if (seen.has(j.pipeline) || busy.has(j.pipeline)) continue
    seen.add(j.pipeline)
    if ((j.waitsFor ?? []).length > 0) continue
    let on = running.get(j.pipeline)
    if (on === undefined) {
      on = (await pfs.inspectPipeline(j.pipeline).catch(() => undefined))?.state === 'running'
      running.set(j.pipeline, on)
    }
    if (on) return j
  }
  return undefined
}

/** Runs one job to its end (or until stopped, when it is left queued). */
async function runJob (pfs: Pfs, id: string, opts: RunOptions, slots: LimitFunction): Promise<JobInfo> {
  let job = await pfs.inspectJob(id)
  if (job.state !== 'queued' && job.state !== 'running') return job
  const fail = async (reason: string): Promise<JobInfo> => {
    const j = await pfs.updateJob(id, { state: 'failure', reason, finished: Date.now() })
    opts.onEvent?.({ kind: 'job', job: j })
    return j
  }
  const pipeline = await pfs.inspectPipeline(job.pipeline)
  const version = pipeline.versions.find(v => v.version === job.version)
  if (version === undefined) return await fail(`pipeline version ${job.version} is gone`)
  const ended = await endedBeforeRestart(pfs, job)
  if (ended !== undefined) return ended
  const spec = checkSpec(version.spec, `of pipeline ${pipeline.name} version ${version.version}`)
  const thisRun = Date.now()
  const started = job.started ?? thisRun
  job = await pfs.updateJob(id, { state: 'running', started, reason: 'planning datums' })
  opts.onEvent?.({ kind: 'job', job })

  let plan: JobPlan
  try {
    plan = await planJob(pfs, spec, pipeline, job, version.hash)
  } catch (e) {
    // An input repo or commit that is gone: the job cannot run, and says which.
    if (isPfsError(e, 'NOT_FOUND')) return await fail(`missing input: ${(e as Error).message}`)
    throw e
  }
  const out = await OutputSession.open(pfs, job, pipeline.name, spec.output_branch)
  const total = plan.unchanged + plan.datums.length
  job = await pfs.updateJob(id, {
    output: out.id, reason: `running ${plan.datums.length} of ${total} datums (${plan.why})`
  })
  const logs = new LogSink(pfs, id, message => opts.onEvent?.({ kind: 'warning', job: id, message }))
  const run = new JobRun(pfs, spec, pipeline, job, plan, out, logs, opts, slots)
  try {
    return await run.run(started, thisRun)
  } finally {
    await logs.flush()
  }
}

/** A job whose output commit was finished before the runner stopped has only its state left to record. */
async function endedBeforeRestart (pfs: Pfs, job: JobInfo): Promise<JobInfo | undefined> {
  if (job.output === null) return undefined
  const c = await pfs.inspectCommit(job.pipeline, job.output).catch(() => undefined)
  if (c?.finished == null) return undefined
  const failed = c.failed === true
  return await pfs.updateJob(job.id, {
    state: failed ? 'failure' : 'success',
    reason: failed ? (job.reason !== '' ? job.reason : 'its output commit was kept as failed') : '',
    finished: c.finished
  })
}

class JobRun {
  private readonly records: DatumRecord[] = []
  private readonly owners = new Map<string, string>() // output path -> datum id
  private readonly collisions: string[] = []
  private firstStart: number | undefined

  constructor (
    private readonly pfs: Pfs, private readonly spec: PipelineSpec, private readonly pipeline: PipelineInfo,
    private job: JobInfo, private readonly plan: JobPlan, private readonly out: OutputSession,
    private readonly logs: LogSink, private readonly opts: RunOptions, private readonly slots: LimitFunction
  ) {}

  async run (started: number, thisRun: number): Promise<JobInfo> {
    const { pfs, plan, job } = this
    // Datums this job finished before a restart are kept; successes of any job are reused.
    const mine = new Map<string, DatumRecord>()
    for await (const d of pages(p => pfs.listDatums(this.pipeline.name, { job: job.id, after: p }))) mine.set(d.id, d)
    const reprocess = job.reprocess || this.spec.reprocess_spec === 'every_job'
    const cached = reprocess ? plan.keys.map(() => null) : await cachedAll(pfs, this.pipeline.name, plan.keys)

    // Outputs of the base's touched datums go first (but not what this job already wrote).
    const written = new Set([...mine.values()].flatMap(r => r.outputs))
    await this.out.remove(plan.remove.filter(p => !written.has(p)))

    const reused: DatumRecord[] = []
    const copies: WriteOp[] = []
    const toRun: number[] = []
    plan.datums.forEach((d, i) => {
      const key = plan.keys[i]!
      const again = mine.get(d.id)
      if (again !== undefined && again.key === key) { this.keep(again); return }
      const hit = cached[i]
      if (hit != null && hit.commit !== null) {
        const rec: DatumRecord = {
          ...hit, id: d.id, job: job.id, state: 'skipped', tries: 0, ms: { prepare: 0, run: 0, upload: 0 }
        }
        reused.push(rec)
        this.keep(rec)
        if (hit.commit !== this.out.id) {
          const from = { repo: this.pipeline.name, rev: hit.commit }
          copies.push(...hit.outputs.map((p): WriteOp => ({ op: 'copy', from: { ...from, path: p }, path: p })))
        }
        return
      }
      toRun.push(i)
    })
    await this.out.apply(copies)
    for (let i = 0; i < reused.length; i += 1000) await pfs.putDatums(job.id, reused.slice(i, i + 1000))

    const stoppedFromOutside = await this.runAll(toRun, thisRun)
    if (this.killed) return await pfs.inspectJob(job.id)
    if (stoppedFromOutside) {
      return await pfs.updateJob(job.id, { state: 'queued', reason: 'stopped; it resumes with the datums it finished' })
    }
    return await this.finish(started)
  }

  private keep (rec: DatumRecord): void {
    this.records.push(rec)
    for (const p of rec.outputs) {
      const other = this.owners.get(p)
      if (other !== undefined && other !== rec.id) {
        this.collisions.push(`datums ${other.slice(0, 12)} and ${rec.id.slice(0, 12)} both wrote ${p}`)
      } else {
        this.owners.set(p, rec.id)
      }
    }
  }

  /** Runs datums `parallelism` at once; true when stopped from outside (the job stays queued). */
  /** `runStart`: when this run of the job began (job_timeout does not count time it sat stopped). */
  private async runAll (toRun: number[], runStart: number): Promise<boolean> {
    const { opts, spec, job, plan } = this
    // The spec's own cap, if any, and never more than the runner's slots: with at most that
    // many of its datums waiting for a slot, each job gets slots in turn, not after the
    // whole of a big job that came first.
    const limit = pLimit(Math.max(1, Math.min(spec.parallelism_spec?.constant || Infinity, this.slots.concurrency)))
    // job_timeout stops every datum of the job; a stop from outside leaves the job queued.
    const abort = new AbortController()
    const onStop = (): void => { abort.abort() }
    opts.signal?.addEventListener('abort', onStop)
    if (opts.signal?.aborted === true) abort.abort()
    const jobTimeout = durationMs(spec.job_timeout)
    const timer = jobTimeout === undefined
      ? undefined
      : setTimeout(() => { this.timedOut = true; abort.abort() }, Math.max(0, jobTimeout - (Date.now() - runStart)))
    // `pfs job stop` (from any process) kills the job: its running datums stop at once.
    const watch = setInterval(() => {
      void this.pfs.inspectJob(job.id).then(j => {
        if (j.state === 'killed') { this.killed = true; abort.abort() }
      }, () => {})
    }, KILL_POLL_MS)
    const total = plan.unchanged + plan.datums.length
    let done = total - toRun.length
    const records = new RecordSink(this.pfs, job.id, () => { abort.abort() })
    const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), `pfs-job-${job.id.slice(0, 12)}-`))
    const ctx = {
      spec, job, backend: opts.backend, out: this.out, logs: this.logs, scratch, signal: abort.signal,
      onEvent: opts.onEvent
    }
    try {
      // The first failure (a write refused because the job was killed, say) stops the others.
      const settled = await Promise.allSettled(toRun.map(i => limit(async () => {
        try {
          const rec = await this.slots(async () => {
            if (abort.signal.aborted) return undefined
            this.firstStart ??= Date.now()
            return await runDatum(ctx, plan.datums[i]!, plan.keys[i]!)
          })
          if (rec === undefined) return // stopped
          this.keep(rec)
          records.push(rec)
          opts.onEvent?.({ kind: 'datum', job: job.id, datum: rec.id, state: rec.state, done: ++done, total })
        } catch (e) {
          abort.abort()
          throw e
        }
      })))
      await records.flush()
      const bad = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (bad !== undefined) throw bad.reason
    } finally {
      await fsp.rm(scratch, { recursive: true, force: true })
      clearTimeout(timer)
      clearInterval(watch)
      opts.signal?.removeEventListener('abort', onStop)
    }
    return opts.signal?.aborted === true && !this.timedOut
  }

  private timedOut = false
  private killed = false

  private async finish (started: number): Promise<JobInfo> {
    const { pfs, plan, job, spec, pipeline } = this
    const by = (s: DatumRecord['state']): number => this.records.filter(r => r.state === s).length
    const stats: JobStats = {
      datums: plan.unchanged + plan.datums.length,
      processed: by('success'),
      skipped: by('skipped') + plan.unchanged,
      failed: by('failed'),
      recovered: by('recovered'),
      bytesIn: this.records.reduce((n, r) => n + r.bytesIn, 0),
      bytesOut: this.records.reduce((n, r) => n + r.bytesOut, 0),
      ...(this.firstStart !== undefined ? { firstDatumMs: this.firstStart - started } : {})
    }
    if (plan.kind === 'diff') await this.checkAgainstBase()
    const failed = this.records.filter(r => r.state === 'failed')
    const unfinished = plan.datums.length - this.records.length
    const reason = this.timedOut
      ? `timed out after ${spec.job_timeout!} (job_timeout); ${unfinished} datums did not finish`
      : this.collisions.length > 0
        ? `${this.collisions[0]!}${this.collisions.length > 1 ? ` (and ${this.collisions.length - 1} more)` : ''}`
        : failed.length > 0
          ? `datum ${failed[0]!.id.slice(0, 12)} (${failed[0]!.inputs.map(i => `${i.name}:/${i.path}`).join(' ')}) ` +
            `failed: ${failed[0]!.reason}${failed.length > 1 ? ` (and ${failed.length - 1} more datums)` : ''}`
          : ''
    if (reason === '') {
      if (plan.kind === 'full') await this.out.keepOnly(new Set(this.owners.keys()))
      else await this.out.dropEmptyFolders(plan.remove.filter(p => !this.owners.has(p)))
    }
    const gone = plan.kind === 'full' ? await this.goneSinceFull() : plan.gone
    for (let i = 0; i < gone.length; i += 10_000) await pfs.putDatums(job.id, [], { gone: gone.slice(i, i + 10_000) })
    if (reason !== '') {
      const line = `job failed: ${reason}`
      this.logs.push({ datum: '', paths: [], stream: 'pfs', line, time: Date.now(), attempt: 1 })
    }
    const provenance: Provenance = {
      inputs: job.inputs.flatMap(i => i.commit === null ? [] : [{ repo: i.repo, branch: i.branch, commit: i.commit }]),
      pipeline: { name: pipeline.name, version: job.version },
      job: job.id
    }
    const commit = await pfs.finishCommit(pipeline.name, spec.output_branch, {
      job: job.id, origin: 'pipeline', provenance, failed: reason !== '',
      message: `job ${job.id.slice(0, 12)} of pipeline ${pipeline.name} v${job.version}`
    })
    this.job = await pfs.updateJob(job.id, {
      state: reason === '' ? 'success' : 'failure', reason, finished: Date.now(), output: commit.id, stats
    })
    this.opts.onEvent?.({ kind: 'job', job: this.job })
    return this.job
  }

  /**
   * A diff plan sees only touched datums: an output one of them wrote that the base holds
   * (and that was not removed) belongs to an unchanged datum, which is a collision too.
   */
  private async checkAgainstBase (): Promise<void> {
    const removed = new Set(this.plan.remove)
    const mine = [...this.owners.keys()].filter(p => !removed.has(p))
    if (this.plan.base === null || mine.length === 0) return
    const taken = await presentIn(this.pfs, this.pipeline.name, this.plan.base, mine)
    if (taken.length === 0) return
    const holders = await this.unchangedOwners(new Set(taken))
    for (const p of taken) {
      const other = holders.get(p)
      const d = this.owners.get(p)!.slice(0, 12)
      this.collisions.push(`datums ${other?.slice(0, 12) ?? '(an unchanged one)'} and ${d} both wrote ${p}`)
    }
  }

  /** Which unchanged datum wrote each path (an error path: it enumerates every datum). */
  private async unchangedOwners (paths: Set<string>): Promise<Map<string, string>> {
    const commits = jobCommits(this.spec, this.job)
    const all = (await combine(this.spec.input, async p => await pfsEntries(this.pfs, p, commits(p.name)))).map(make)
    const version = this.pipeline.versions.find(v => v.version === this.job.version)!.hash
    const touched = new Set(this.plan.datums.map(d => d.id))
    const others = all.filter(d => !touched.has(d.id))
    const recs = await cachedAll(this.pfs, this.pipeline.name, others.map(d => datumKey(d, version)))
    const out = new Map<string, string>()
    recs.forEach((r, i) => { for (const p of r?.outputs ?? []) if (paths.has(p)) out.set(p, others[i]!.id) })
    return out
  }

  /** After a full plan: datum ids the pipeline had that this job no longer has. */
  private async goneSinceFull (): Promise<string[]> {
    const now = new Set(this.plan.datums.map(d => d.id))
    const gone: string[] = []
    for await (const d of pages(p => this.pfs.listDatums(this.pipeline.name, { after: p }))) {
      if (!now.has(d.id)) gone.push(d.id)
    }
    return gone
  }
}

async function * pages<T> (
  get: (after: string | undefined) => Promise<{ entries: T[], next?: string }>
): AsyncGenerator<T> {
  let after: string | undefined
  do {
    const page = await get(after)
    yield * page.entries
    after = page.next
  } while (after !== undefined)
}
