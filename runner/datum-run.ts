/**
 * One datum of a job, from start to record: its attempts on the backend (`datum_tries`
 * in all), `err_cmd` when they all failed, and its `/pfs/out` added to the job's output
 * commit. Every line it prints goes to the job's log, tagged with the datum, its input
 * paths and the attempt.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import type { DatumRecord, JobInfo } from '../store/index.js'
import type { Backend, DatumResult, DatumRun } from './backend.js'
import type { Datum } from './datums.js'
import type { LogSink } from './log-sink.js'
import type { OutputSession } from './outputs.js'
import { durationMs } from './duration.js'
import { type PipelineSpec, quantityBytes } from './spec.js'

export type RunnerEvent =
  | { kind: 'job', job: JobInfo }
  | { kind: 'datum', job: string, datum: string, state: DatumRecord['state'], done: number, total: number }
  | { kind: 'log', job: string, datum: string, stream: 'stdout' | 'stderr', line: string, paths: string[] }
  | { kind: 'warning', job: string, message: string }

export interface DatumContext {
  spec: PipelineSpec
  job: JobInfo
  backend: Backend
  out: OutputSession
  logs: LogSink
  /** The job's scratch folder: each attempt's `/pfs/out` is a folder in it. */
  scratch: string
  signal: AbortSignal
  onEvent?: (e: RunnerEvent) => void
}

/** Runs a datum to its record; undefined when it was stopped (it runs again on resume). */
export async function runDatum (c: DatumContext, d: Datum, key: string): Promise<DatumRecord | undefined> {
  const t0 = Date.now()
  const dirs: string[] = []
  const dirOf = async (what: string): Promise<string> => {
    const dir = path.join(c.scratch, `${d.id.slice(0, 32)}-${what}`)
    dirs.push(dir)
    return dir
  }
  try {
    const { spec, job } = c
    const paths = d.inputs.map(i => `${i.name}:/${i.path}`)
    let attempt = 0
    let last = ''
    const log = (stream: 'stdout' | 'stderr' | 'pfs', line: string): void => {
      c.logs.push({ datum: d.id, paths, stream, line, time: Date.now(), attempt })
      if (stream !== 'pfs') {
        last = `${stream}: ${line}`
        c.onEvent?.({ kind: 'log', job: job.id, datum: d.id, stream, line, paths })
      }
    }
    const run = async (cmd: string[], stdin: string[], outDir: string): Promise<DatumResult> => {
      const r = await c.backend.run(datumRun(c, d, cmd, stdin, outDir, log), c.signal)
      for (const w of r.warnings) c.onEvent?.({ kind: 'warning', job: job.id, message: w })
      return r
    }
    const prepare = Date.now() - t0
    const runStart = Date.now()
    let result: DatumResult | undefined
    let outDir = ''
    while (attempt < spec.datum_tries) {
      attempt++
      outDir = await dirOf(String(attempt))
      result = await run(spec.transform.cmd, spec.transform.stdin, outDir)
      if (result.stopped) return undefined
      if (succeeded(result, spec)) break
      const more = attempt < spec.datum_tries ? `; trying again (${attempt + 1} of ${spec.datum_tries})` : ''
      log('pfs', `attempt ${attempt} failed: ${describeEnd(result)}${more}`)
    }
    const record = (over: Partial<DatumRecord>): DatumRecord => ({
      id: d.id, key, job: job.id, state: 'failed',
      inputs: d.inputs.map(i => ({ name: i.name, repo: i.repo, commit: i.commit, path: i.path })),
      outputs: [], commit: null, tries: attempt, reason: '', exitCode: result?.exitCode ?? null,
      ms: { prepare, run: Date.now() - runStart, upload: 0 },
      bytesIn: d.inputs.reduce((n, i) => n + i.size, 0), bytesOut: 0, finished: Date.now(), ...over
    })
    if (!succeeded(result!, spec)) {
      const why = describeEnd(result!) + (last !== '' ? `; last output: ${last}` : '')
      if (spec.transform.err_cmd !== undefined) {
        const r = await run(spec.transform.err_cmd, spec.transform.err_stdin, await dirOf('err'))
        if (r.stopped) return undefined
        if (r.exitCode === 0) {
          log('pfs', `recovered by err_cmd after: ${describeEnd(result!)}`)
          // Done with: a later job reuses it (with no output) until its inputs change.
          return record({ state: 'recovered', commit: c.out.id, reason: `recovered by err_cmd after: ${why}` })
        }
        log('pfs', `err_cmd did not recover it: ${describeEnd(r)}`)
      }
      return record({ reason: why })
    }
    const u0 = Date.now()
    const files = await listFiles(outDir)
    if (files === undefined) dirs.pop() // the backend made no folder: nothing to clean up
    let bytesOut = 0
    for (const f of files ?? []) bytesOut += (await fsp.lstat(path.join(outDir, f))).size
    if (files !== undefined && files.length > 0) await c.out.add(outDir)
    return record({
      state: 'success', outputs: files ?? [], commit: c.out.id, bytesOut,
      ms: { prepare, run: u0 - runStart, upload: Date.now() - u0 }
    })
  } finally {
    // An empty folder (most datums that write nothing) goes with one call; a backend that
    // wrote nothing locally made none.
    for (const dir of dirs) {
      await fsp.rmdir(dir).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') await fsp.rm(dir, { recursive: true, force: true })
      })
    }
  }
}

function datumRun (
  c: DatumContext, d: Datum, cmd: string[], stdin: string[], outDir: string,
  log: (stream: 'stdout' | 'stderr', line: string) => void
): DatumRun {
  const { spec } = c
  const limits = spec.resource_limits
  const requests = spec.resource_requests
  return {
    job: c.job.id,
    datum: d.id,
    cmd,
    stdin: stdin.join('\n') + (stdin.length > 0 ? '\n' : ''),
    env: datumEnv(spec, c.job, d),
    inputs: d.inputs.map(i => ({ name: i.name, repo: i.repo, commit: i.commit, path: i.path })),
    outDir,
    workingDir: spec.transform.working_dir,
    network: spec.network,
    timeoutMs: durationMs(spec.datum_timeout),
    resources: {
      cpu: toCpu(limits?.cpu ?? requests?.cpu),
      memoryBytes: quantityBytes(limits?.memory ?? requests?.memory),
      gpu: limits?.gpu ?? requests?.gpu
    },
    onLog: log
  }
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

function succeeded (r: DatumResult, spec: PipelineSpec): boolean {
  if (r.timedOut || r.outOfMemory || r.exitCode === null) return false
  return r.exitCode === 0 || spec.transform.accept_return_code.includes(r.exitCode)
}

function describeEnd (r: DatumResult): string {
  if (r.error !== undefined) return `could not start: ${r.error}`
  if (r.outOfMemory) return 'out of memory (killed at its memory limit)'
  if (r.timedOut) return `timed out after ${(r.ms / 1000).toFixed(1)} s (datum_timeout); its processes were killed`
  if (r.signal !== null) return `killed by ${r.signal}`
  if (r.exitCode !== null && r.exitCode > 128) return `exit code ${r.exitCode} (signal ${r.exitCode - 128})`
  return `exit code ${String(r.exitCode)}`
}

const toCpu = (c: number | string | undefined): number | undefined =>
  c === undefined ? undefined : typeof c === 'number' ? c : c.endsWith('m') ? Number(c.slice(0, -1)) / 1000 : Number(c)

/** Files and links under a folder, as slash paths relative to it; undefined when there is no folder. */
async function listFiles (dir: string, rel = ''): Promise<string[] | undefined> {
  const out: string[] = []
  let entries
  try {
    entries = await fsp.readdir(path.join(dir, rel), { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return undefined
    throw e
  }
  for (const e of entries) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.isDirectory()) out.push(...(await listFiles(dir, p))!)
    else out.push(p)
  }
  return out
}
