/**
 * Running queued jobs in this process, for the laptop default with no daemon: a private
 * pfs mount of the store (which the sandboxes read their inputs through), the local
 * backend, and the runner, until nothing is queued. Ctrl-C stops the running datums and
 * leaves their jobs queued; the next command (or `pfs wait`) resumes them.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import type { JobInfo, Pfs } from '../../store/index.js'
import { type RunnerEvent, LocalBackend, runQueued } from '../../runner/index.js'
import { runtimeDir } from './mounts.js'
import { line, shortId, stderrLog } from './output.js'

export interface JobsHereOptions {
  json?: boolean
  /** Print job ends (the default for a command that made a commit). */
  quiet?: boolean
}

/** Whether any job waits to run. */
export async function jobsWaiting (pfs: Pfs): Promise<boolean> {
  return (await pfs.listJobs({ waiting: true, limit: 1 })).entries.length > 0
}

export async function runJobsHere (pfs: Pfs, opts: JobsHereOptions = {}): Promise<JobInfo[]> {
  const dir = await fsp.mkdtemp(path.join(await runtimeDir(), 'jobs-'))
  const mountDir = path.join(dir, 'pfs')
  await fsp.mkdir(mountDir)
  const { mountPfs } = await import('../../fs/mount.js')
  const m = await mountPfs(pfs, mountDir, { spoolDir: path.join(dir, 'spool'), statfsPath: dir, log: stderrLog })
  const ac = new AbortController()
  const onSigint = (): void => { ac.abort() }
  process.on('SIGINT', onSigint)
  const tty = process.stderr.isTTY === true && opts.json !== true && !process.env.PFS_NO_PROGRESS_IN_TESTS
  const onEvent = (e: RunnerEvent): void => {
    if (e.kind === 'job' && e.job.state === 'running') {
      // Commits made since the mount started (the job's inputs) must be visible through it.
      for (const i of e.job.inputs) m.fs.invalidate(i.repo)
    }
    if (e.kind === 'warning') stderrLog(`pfs: job ${shortId(e.job)}: ${e.message}`)
    if (tty && e.kind === 'datum') process.stderr.write(`\r${e.done}/${e.total} datums of job ${shortId(e.job)}\x1b[K`)
    if (tty && e.kind === 'job' && e.job.state !== 'running') process.stderr.write('\r\x1b[K')
  }
  try {
    const jobs = await runQueued(pfs, { backend: new LocalBackend({ mount: mountDir }), onEvent, signal: ac.signal })
    if (opts.json !== true && opts.quiet !== true) {
      for (const j of jobs) {
        const counts = `${j.stats.processed} run, ${j.stats.skipped} skipped, ${j.stats.failed} failed`
        const why = j.reason !== '' ? `: ${j.reason}` : ''
        await line(`job ${shortId(j.id)} of ${j.pipeline}: ${j.state} (${counts})${why}`)
      }
      if (ac.signal.aborted) await line('stopped; the jobs stay queued (`pfs wait` resumes them)')
    }
    return jobs
  } finally {
    process.off('SIGINT', onSigint)
    await m.unmount()
    await fsp.rm(dir, { recursive: true, force: true })
  }
}
