/**
 * Opening the store for one command: a running server if one answers, else the store
 * folder itself (openPfs decides). Every handler goes through `withPfs`, which closes the
 * store afterwards whatever happens.
 */
import type { Pfs } from '../../store/index.js'
import type { GlobalArgs } from './command.js'

export async function withPfs<T> (
  argv: GlobalArgs, fn: (pfs: Pfs) => Promise<T>, opts: { repairIndex?: boolean, runJobs?: boolean } = {}
): Promise<T> {
  // Loaded on first use, so `pfs --help` and usage errors never load the store.
  const { openPfs } = await import('../../store/index.js')
  const { runJobs, ...open } = opts
  const pfs = await openPfs({ store: argv.store, server: argv.server, token: argv.token, ...open })
  try {
    const result = await fn(pfs)
    // A command that made a commit runs the jobs it queued (the laptop default, no daemon).
    if (runJobs === true) await runTriggered(pfs, argv)
    return result
  } finally {
    await pfs.close()
  }
}

async function runTriggered (pfs: Pfs, argv: GlobalArgs): Promise<void> {
  // A server's own runner runs them: only a process that owns the store runs jobs.
  if (pfs.mode !== 'embedded') return
  const { jobsWaiting, runJobsHere } = await import('./jobs-here.js')
  if (!await jobsWaiting(pfs)) return
  const jobs = await runJobsHere(pfs, { store: argv.store, json: argv.json, quiet: true })
  for (const j of jobs) {
    if (j.state === 'success') continue
    process.stderr.write(`pfs: job ${j.id.slice(0, 12)} of pipeline ${j.pipeline} ${j.state}: ${j.reason}\n`)
  }
}
