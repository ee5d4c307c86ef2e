/**
 * Running jobs in this process. The sandboxes read their inputs through a pfs mount: the
 * user's own mount when this process is `pfs mount`, else a private one in the runtime
 * folder (`pfs serve`, and the laptop default with no daemon, where the command that made
 * a commit runs the jobs it queued before it exits). Ctrl-C stops the running datums and
 * leaves their jobs queued; the next runner resumes them.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { type JobInfo, type Pfs, serveOpenStore } from '../../store/index.js'
import { type RunnerEvent, LocalBackend, Runner, runQueued } from '../../runner/index.js'
import { runtimeDir } from './mounts.js'
import { line, shortId, stderrLog } from './output.js'

export interface JobsHereOptions {
  /** The store folder: served on its socket while the jobs run, so other commands get in. */
  store?: string
  json?: boolean
  /** Print job ends (the default for a command that made a commit). */
  quiet?: boolean
}

interface PrivateMount {
  dir: string
  /** Drops what the mount knows of a repo, for changes it was not told about. */
  invalidate: (repo: string) => void
  close: () => Promise<void>
}

/** Whether any job waits to run. */
export async function jobsWaiting (pfs: Pfs): Promise<boolean> {
  return (await pfs.listJobs({ waiting: true, limit: 1 })).entries.length > 0
}

/** A mount of the store only this process uses, in the runtime folder. */
async function privateMount (pfs: Pfs): Promise<PrivateMount> {
  const runtime = await runtimeDir()
  const { mountPfs, isStale, lazyUnmount } = await import('../../fs/mount.js')
  // A command killed while it ran jobs (kill -9, a lost terminal) left its mount behind,
  // dead ("Transport endpoint is not connected"): detach and remove those first.
  for (const name of await fsp.readdir(runtime).catch(() => [])) {
    const old = path.join(runtime, name, 'pfs')
    if (!name.startsWith('jobs-') || !await isStale(old)) continue
    await lazyUnmount(old).then(async () => await fsp.rm(path.join(runtime, name), { recursive: true, force: true }))
      .catch(e => stderrLog(`pfs: could not clear the dead job mount ${old}: ${(e as Error).message}`))
  }
  const dir = await fsp.mkdtemp(path.join(runtime, 'jobs-'))
  const mountDir = path.join(dir, 'pfs')
  await fsp.mkdir(mountDir)
  const m = await mountPfs(pfs, mountDir, { spoolDir: path.join(dir, 'spool'), statfsPath: dir, log: stderrLog })
  return {
    dir: mountDir,
    invalidate: repo => { m.fs.invalidate(repo) },
    close: async () => {
      await m.unmount()
      await fsp.rm(dir, { recursive: true, force: true })
    }
  }
}

/** Events a runner in a command prints: warnings, and (on a terminal) datums done. */
function printEvents (invalidate: (repo: string) => void, tty: boolean): (e: RunnerEvent) => void {
  return e => {
    if (e.kind === 'job' && e.job.state === 'running') {
      // Commits made since the mount started (the job's inputs) must be visible through it.
      for (const i of e.job.inputs) invalidate(i.repo)
    }
    if (e.kind === 'warning') stderrLog(`pfs: ${e.job === '' ? '' : `job ${shortId(e.job)}: `}${e.message}`)
    if (tty && e.kind === 'datum') process.stderr.write(`\r${e.done}/${e.total} datums of job ${shortId(e.job)}\x1b[K`)
    if (tty && e.kind === 'job' && e.job.state !== 'running') process.stderr.write('\r\x1b[K')
  }
}

export async function runJobsHere (pfs: Pfs, opts: JobsHereOptions = {}): Promise<JobInfo[]> {
  const server = opts.store === undefined ? undefined : await serveOpenStore(pfs, opts.store, stderrLog)
  const m = await privateMount(pfs)
  const ac = new AbortController()
  const onSigint = (): void => { ac.abort() }
  process.on('SIGINT', onSigint)
  const tty = process.stderr.isTTY === true && opts.json !== true && !process.env.PFS_NO_PROGRESS_IN_TESTS
  try {
    const backend = new LocalBackend({ mount: m.dir })
    const jobs = await runQueued(pfs, { backend, onEvent: printEvents(m.invalidate, tty), signal: ac.signal })
    if (opts.json !== true && opts.quiet !== true) {
      for (const j of jobs) await line(`job ${shortId(j.id)} of ${j.pipeline}: ${describeJob(j)}`)
    }
    if (ac.signal.aborted && opts.json !== true) {
      stderrLog('pfs: stopped; the jobs stay queued (`pfs wait` resumes them)')
    }
    return jobs
  } finally {
    process.off('SIGINT', onSigint)
    await m.close()
    await server?.close()
  }
}

/** `success (3 run, 10 skipped, 0 failed)`, with why it failed. */
function describeJob (j: JobInfo): string {
  const counts = `${j.stats.processed} run, ${j.stats.skipped} skipped, ${j.stats.failed} failed`
  return `${j.state} (${counts})${j.state !== 'success' && j.reason !== '' ? `: ${j.reason}` : ''}`
}

/**
 * The runner of a process that owns the store for long (`pfs serve`, `pfs mount`): it
 * runs in the background, woken by every change, and logs each job's end to stderr.
 * `mountDir`: the process's own mount, if it has one; else a private one is made.
 */
export async function startRunner (
  pfs: Pfs, onChange: (listener: (repo: string) => void) => void, mountDir?: string
): Promise<{ stop: () => Promise<void> }> {
  const m = mountDir === undefined ? await privateMount(pfs) : undefined
  const dir = mountDir ?? m!.dir
  const show = printEvents(repo => m?.invalidate(repo), false)
  const runner = new Runner(pfs, {
    backend: new LocalBackend({ mount: dir }),
    onEvent: e => {
      show(e)
      if (e.kind === 'job' && e.job.state !== 'running') {
        stderrLog(`pfs: job ${shortId(e.job.id)} of ${e.job.pipeline}: ${describeJob(e.job)}`)
      }
    }
  })
  onChange(() => { runner.wake() })
  runner.start()
  return {
    stop: async () => {
      await runner.stop()
      await m?.close()
    }
  }
}
