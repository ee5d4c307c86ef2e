/**
 * Running a job: plan its datums, reuse every datum whose key succeeded before (in any job
 * of the pipeline: the run cache), run the rest on the backend, and make the output commit.
 *
 * The output commit is a write session on the output branch, opened by the job: each
 * datum's `/pfs/out` is added to it as the datum finishes, and recorded (`putDatums`), so
 * a runner that dies mid-job resumes with the datums it finished. At the end the commit
 * holds exactly the outputs of the job's datums (reused ones copied from the commit that
 * holds them; those of datums no longer there removed), and records its provenance. A job
 * with a failed datum or two datums writing one path keeps its commit, marked failed, and
 * does not move the branch.
 */
import { promises as fsp } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pLimit from 'p-limit'
import type { DatumRecord, JobInfo, Pfs, Provenance, WriteOp } from '../store/index.js'
import { isPfsError } from '../store/index.js'
import type { Backend, DatumResult, DatumRun } from './backend.js'
import { type Datum, datumKey, enumerate } from './datums.js'
import { type PipelineSpec, checkSpec, durationMs, pfsInputs, quantityBytes } from './spec.js'

export type RunnerEvent =
  | { kind: 'job', job: JobInfo }
  | { kind: 'datum', job: string, datum: string, state: DatumRecord['state'], done: number, total: number }
  | { kind: 'log', job: string, datum: string, stream: 'stdout' | 'stderr', line: string, paths: string[] }
  | { kind: 'warning', job: string, message: string }

export interface RunOptions {
  backend: Backend
  /** Datums at once; default the spec's parallelism, else the machine's cores. */
  parallelism?: number
  onEvent?: (e: RunnerEvent) => void
  /** Stops the job: running datums are killed and the job is left queued. */
  signal?: AbortSignal
}

/** Runs every queued job, oldest first per pipeline, including those its outputs queue. */
export async function runQueued (pfs: Pfs, opts: RunOptions): Promise<JobInfo[]> {
  const done: JobInfo[] = []
  for (;;) {
    if (opts.signal?.aborted === true) return done
    const queued = (await pfs.listJobs({ waiting: true, limit: 10_000 })).entries
    if (queued.length === 0) return done
    // Oldest first: the list is newest first.
    const next = queued[queued.length - 1]!
    done.push(await runJob(pfs, next.id, opts))
  }
}

const tail = (lines: string[], line: string): void => { lines.push(line); if (lines.length > 20) lines.shift() }

/** Runs one job to its end (or until stopped, when it is left queued). */
async function runJob (pfs: Pfs, id: string, opts: RunOptions): Promise<JobInfo> {
  let job = await pfs.inspectJob(id)
  if (job.state !== 'queued' && job.state !== 'running') return job
  const pipeline = await pfs.inspectPipeline(job.pipeline)
  const version = pipeline.versions.find(v => v.version === job.version)
  if (version === undefined) {
    return await pfs.updateJob(id,
      { state: 'failure', reason: `pipeline version ${job.version} is gone`, finished: Date.now() })
  }
  const spec = checkSpec(version.spec, `of pipeline ${pipeline.name} version ${version.version}`)
  const started = Date.now()
  job = await pfs.updateJob(id, { state: 'running', started: job.started ?? started, reason: 'planning datums' })
  opts.onEvent?.({ kind: 'job', job })

  // Inputs by name, at the commits the job was queued with.
  const byBranch = new Map(job.inputs.map(i => [`${i.repo}@${i.branch}`, i.commit]))
  const names = new Map(pfsInputs(spec.input).map(i => [i.name, i]))
  const datums = await enumerate(pfs, spec.input, name => {
    const i = names.get(name)!
    return { name, repo: i.repo, branch: i.branch, commit: byBranch.get(`${i.repo}@${i.branch}`) ?? null }
  })
  const vkey = version.hash
  const keys = datums.map(d => datumKey(d, vkey))

  const outRepo = pipeline.name
  const outBranch = spec.output_branch
  const session = await openSession(pfs, job, outRepo, outBranch)
  job = await pfs.updateJob(id, { output: session.id, reason: `running ${datums.length} datums` })

  // Datums this job finished before a restart are kept; successes of any job are reused.
  const mine = new Map<string, DatumRecord>()
  for await (const d of pages(p => pfs.listDatums(pipeline.name, { job: id, after: p }))) mine.set(d.id, d)
  const cached = job.reprocess || spec.reprocess_spec === 'every_job'
    ? keys.map(() => null)
    : await cachedAll(pfs, pipeline.name, keys)

  const owners = new Map<string, string>() // output path -> datum id
  const collisions: string[] = []
  const claim = (d: string, paths: string[]): void => {
    for (const p of paths) {
      const other = owners.get(p)
      if (other !== undefined && other !== d) {
        collisions.push(`datums ${other.slice(0, 12)} and ${d.slice(0, 12)} both wrote ${p}`)
      } else {
        owners.set(p, d)
      }
    }
  }
  const records: DatumRecord[] = []
  const copies: WriteOp[] = []
  const toRun: Array<{ d: Datum, key: string }> = []
  datums.forEach((d, i) => {
    const key = keys[i]!
    const again = mine.get(d.id)
    if (again !== undefined && again.key === key) { records.push(again); claim(d.id, again.outputs); return }
    const hit = cached[i]
    if (hit != null && hit.commit !== null) {
      const rec: DatumRecord = {
        ...hit, id: d.id, job: id, state: 'skipped', tries: 0, ms: { prepare: 0, run: 0, upload: 0 }
      }
      records.push(rec)
      claim(d.id, hit.outputs)
      if (hit.commit !== session.base) {
        for (const p of hit.outputs) {
          copies.push({ op: 'copy', from: { repo: outRepo, rev: hit.commit, path: p }, path: p })
        }
      }
      return
    }
    toRun.push({ d, key })
  })
  const skipped = records.filter(r => r.state === 'skipped')
  if (skipped.length > 0) await pfs.putDatums(id, skipped)
  if (copies.length > 0) await applyInBatches(pfs, outRepo, outBranch, copies, id)

  const total = datums.length
  let done = records.length
  const limit = pLimit(Math.max(1, opts.parallelism ?? (spec.parallelism_spec?.constant || os.availableParallelism())))
  let firstStart: number | undefined
  // job_timeout stops every datum of the job; a stop from outside leaves the job queued.
  const jobAbort = new AbortController()
  const onStop = (): void => { jobAbort.abort() }
  opts.signal?.addEventListener('abort', onStop)
  const jobTimeout = durationMs(spec.job_timeout)
  let jobTimedOut = false
  const jobTimer = jobTimeout === undefined
    ? undefined
    : setTimeout(() => { jobTimedOut = true; jobAbort.abort() }, Math.max(0, jobTimeout - (Date.now() - started)))
  const inner: RunOptions = { ...opts, signal: jobAbort.signal }
  const stopped = (): boolean => opts.signal?.aborted === true
  await Promise.all(toRun.map(({ d, key }) => limit(async () => {
    if (jobAbort.signal.aborted) return
    firstStart ??= Date.now()
    const rec = await runDatum(pfs, spec, job, d, key, outRepo, outBranch, inner)
    if (rec === undefined) return // stopped
    claim(d.id, rec.outputs)
    records.push(rec)
    await pfs.putDatums(id, [rec])
    opts.onEvent?.({ kind: 'datum', job: id, datum: d.id, state: rec.state, done: ++done, total })
  }))).finally(() => {
    clearTimeout(jobTimer)
    opts.signal?.removeEventListener('abort', onStop)
  })

  if (stopped() && !jobTimedOut) {
    job = await pfs.updateJob(id, { state: 'queued', reason: 'stopped; it resumes with the datums it finished' })
    return job
  }
  const failed = records.filter(r => r.state === 'failed')
  const stats = {
    datums: total,
    processed: records.filter(r => r.state === 'success').length,
    skipped: records.filter(r => r.state === 'skipped').length,
    failed: failed.length,
    recovered: records.filter(r => r.state === 'recovered').length,
    bytesIn: records.reduce((n, r) => n + r.bytesIn, 0),
    bytesOut: records.reduce((n, r) => n + r.bytesOut, 0),
    ...(firstStart !== undefined ? { firstDatumMs: firstStart - started } : {})
  }
  const provenance: Provenance = {
    inputs: job.inputs.filter(i => i.commit !== null).map(i => ({ repo: i.repo, branch: i.branch, commit: i.commit! })),
    pipeline: { name: pipeline.name, version: version.version },
    job: id
  }
  const reason = jobTimedOut
    ? `timed out after ${spec.job_timeout!} (job_timeout); ${total - records.length} datums did not finish`
    : collisions.length > 0
    ? `${collisions[0]!}${collisions.length > 1 ? ` (and ${collisions.length - 1} more)` : ''}`
    : failed.length > 0
      ? `datum ${failed[0]!.id.slice(0, 12)} (${failed[0]!.inputs.map(i => `${i.name}:/${i.path}`).join(' ')}) ` +
        'failed: ' +
        `${failed[0]!.reason}${failed.length > 1 ? ` (and ${failed.length - 1} more datums)` : ''}`
      : ''
  if (reason === '') await removeStale(pfs, outRepo, outBranch, owners, id)
  const commit = await pfs.finishCommit(outRepo, outBranch, {
    job: id, origin: 'pipeline', provenance, failed: reason !== '',
    message: `job ${id.slice(0, 12)} of pipeline ${pipeline.name} v${version.version}`
  })
  job = await pfs.updateJob(id, {
    state: reason === '' ? 'success' : 'failure', reason, finished: Date.now(), output: commit.id, stats
  })
  opts.onEvent?.({ kind: 'job', job })
  return job
}

/** The job's write session on the output branch: resumed if it is the job's own, else new. */
async function openSession (
  pfs: Pfs, job: JobInfo, repo: string, branch: string
): Promise<{ id: string, base: string | null }> {
  let br = await pfs.inspectBranch(repo, branch).catch((e: unknown) => {
    if (isPfsError(e, 'NOT_FOUND')) return undefined
    throw e
  })
  if (br?.open != null && br.open !== job.output) {
    // A session some job left open: kept as a failed commit (datums recorded there may be
    // reused from it), and this job starts afresh.
    await pfs.finishCommit(repo, branch, { job: job.id, failed: true, message: 'left open by an unfinished job' })
    br = await pfs.inspectBranch(repo, branch)
  }
  if (br?.open != null) return { id: br.open, base: br.head }
  const c = await pfs.startCommit(repo, branch, { job: job.id, message: `job ${job.id}` })
  return { id: c.id, base: c.parent }
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

async function cachedAll (pfs: Pfs, pipeline: string, keys: string[]): Promise<Array<DatumRecord | null>> {
  const out: Array<DatumRecord | null> = []
  for (let i = 0; i < keys.length; i += 1000) out.push(...await pfs.cachedDatums(pipeline, keys.slice(i, i + 1000)))
  return out
}

async function applyInBatches (pfs: Pfs, repo: string, branch: string, ops: WriteOp[], job: string): Promise<void> {
  for (let i = 0; i < ops.length; i += 5000) await pfs.apply(repo, branch, ops.slice(i, i + 5000), { job })
}

/** Removes the files no datum of the job wrote (outputs of datums that are gone or changed). */
async function removeStale (
  pfs: Pfs, repo: string, branch: string, owners: Map<string, string>, job: string
): Promise<void> {
  const stale: WriteOp[] = []
  for await (const f of pages(p => pfs.walk(repo, branch, '', { after: p, limit: 10_000 }))) {
    if (f.kind !== 'dir' && !owners.has(f.path)) stale.push({ op: 'delete', path: f.path })
  }
  if (stale.length > 0) await applyInBatches(pfs, repo, branch, stale, job)
  // Folders the removals left empty go too (a datum's output folder of a datum that is gone).
  const empty: WriteOp[] = []
  for await (const f of pages(p => pfs.walk(repo, branch, '', { after: p, limit: 10_000 }))) {
    if (f.kind === 'dir' && f.size === 0 && ![...owners.keys()].some(o => o.startsWith(`${f.path}/`))) {
      const inside = empty.some(e => f.path.startsWith(`${(e as { path: string }).path}/`))
      if (!inside) empty.push({ op: 'delete', path: f.path, recursive: true })
    }
  }
  if (stale.length > 0 && empty.length > 0) await applyInBatches(pfs, repo, branch, empty, job)
}

/** The environment a datum's command sees: pfs's names, Pachyderm's, then the spec's. */
function datumEnv (spec: PipelineSpec, job: JobInfo, d: Datum): Record<string, string> {
  const env: Record<string, string> = {
    PFS_JOB_ID: job.id, PFS_DATUM_ID: d.id, PACH_JOB_ID: job.id, PACH_DATUM_ID: d.id
  }
  for (const i of d.inputs) {
    env[i.name] = path.posix.join('/pfs', i.name, i.path)
    env[`${i.name}_COMMIT`] = i.commit
    if (i.key !== undefined) env[`PACH_DATUM_${i.name}_JOIN_ON`] = i.key
  }
  return { ...env, ...spec.transform.env }
}

async function runDatum (
  pfs: Pfs, spec: PipelineSpec, job: JobInfo, d: Datum, key: string, outRepo: string, outBranch: string,
  opts: RunOptions
): Promise<DatumRecord | undefined> {
  const t0 = Date.now()
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-datum-'))
  try {
    const tries = spec.datum_tries
    const paths = d.inputs.map(i => `${i.name}:/${i.path}`)
    const last: string[] = []
    const base = (cmd: string[], stdin: string[], outDir: string): DatumRun => ({
      job: job.id, datum: d.id, cmd, stdin: stdin.join('\n') + (stdin.length > 0 ? '\n' : ''),
      env: datumEnv(spec, job, d),
      inputs: d.inputs.map(i => ({ name: i.name, repo: i.repo, commit: i.commit, path: i.path })),
      outDir, workingDir: spec.transform.working_dir, network: spec.network,
      timeoutMs: durationMs(spec.datum_timeout),
      resources: {
        cpu: toCpu(spec.resource_limits?.cpu ?? spec.resource_requests?.cpu),
        memoryBytes: quantityBytes(spec.resource_limits?.memory ?? spec.resource_requests?.memory),
        gpu: spec.resource_limits?.gpu ?? spec.resource_requests?.gpu
      },
      onLog: (stream, line) => {
        tail(last, `${stream}: ${line}`)
        opts.onEvent?.({ kind: 'log', job: job.id, datum: d.id, stream, line, paths })
      }
    })
    let result: DatumResult | undefined
    let attempt = 0
    let outDir = ''
    const prepare = Date.now() - t0
    const runStart = Date.now()
    while (attempt < tries) {
      attempt++
      outDir = path.join(scratch, `out-${attempt}`)
      await fsp.mkdir(outDir)
      result = await opts.backend.run(base(spec.transform.cmd, spec.transform.stdin, outDir), opts.signal)
      for (const w of result.warnings) opts.onEvent?.({ kind: 'warning', job: job.id, message: w })
      if (result.stopped) return undefined
      if (succeeded(result, spec)) break
    }
    const runMs = Date.now() - runStart
    const bytesIn = d.inputs.reduce((n, i) => n + i.size, 0)
    const record = (over: Partial<DatumRecord>): DatumRecord => ({
      id: d.id, key, job: job.id, state: 'failed',
      inputs: d.inputs.map(i => ({ name: i.name, repo: i.repo, commit: i.commit, path: i.path })),
      outputs: [], commit: null, tries: attempt, reason: '', exitCode: result?.exitCode ?? null,
      ms: { prepare, run: runMs, upload: 0 }, bytesIn, bytesOut: 0, finished: Date.now(), ...over
    })
    if (!succeeded(result!, spec)) {
      const why = describeEnd(result!) + (last.length > 0 ? `; last output: ${last[last.length - 1]!}` : '')
      if (spec.transform.err_cmd !== undefined) {
        const errOut = path.join(scratch, 'err-out')
        await fsp.mkdir(errOut)
        const r = await opts.backend.run(base(spec.transform.err_cmd, spec.transform.err_stdin, errOut), opts.signal)
        if (r.stopped) return undefined
        if (r.exitCode === 0) return record({ state: 'recovered', reason: `recovered by err_cmd after: ${why}` })
      }
      return record({ reason: why })
    }
    const u0 = Date.now()
    const files = await listFiles(outDir)
    let bytesOut = 0
    for (const f of files) bytesOut += (await fsp.lstat(path.join(outDir, f))).size
    if (files.length > 0) await pfs.putLocal(outRepo, outBranch, '', outDir, { keepOpen: true, job: job.id })
    const session = (await pfs.inspectBranch(outRepo, outBranch)).open
    return record({
      state: 'success', outputs: files, commit: session, bytesOut, ms: { prepare, run: runMs, upload: Date.now() - u0 }
    })
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true })
  }
}

function succeeded (r: DatumResult, spec: PipelineSpec): boolean {
  if (r.timedOut || r.outOfMemory || r.exitCode === null) return false
  return r.exitCode === 0 || spec.transform.accept_return_code.includes(r.exitCode)
}

function describeEnd (r: DatumResult): string {
  if (r.outOfMemory) return 'out of memory (killed at its memory limit)'
  if (r.timedOut) return `timed out after ${(r.ms / 1000).toFixed(1)} s (datum_timeout); its processes were killed`
  if (r.signal !== null) return `killed by ${r.signal}`
  if (r.exitCode !== null && r.exitCode > 128) return `exit code ${r.exitCode} (signal ${r.exitCode - 128})`
  return `exit code ${String(r.exitCode)}`
}

const toCpu = (c: number | string | undefined): number | undefined =>
  c === undefined ? undefined : typeof c === 'number' ? c : c.endsWith('m') ? Number(c.slice(0, -1)) / 1000 : Number(c)

/** Files and links under a folder, as slash paths relative to it. */
async function listFiles (dir: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  for (const e of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.isDirectory()) out.push(...await listFiles(dir, p))
    else out.push(p)
  }
  return out
}
