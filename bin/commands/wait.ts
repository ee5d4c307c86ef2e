/**
 * `pfs wait repo@rev`: until every job downstream of that commit has finished. With no
 * daemon running, it runs what is queued itself; with one, it follows the server's runner.
 * Exits 1 naming the failed job and datum, or the job that cannot run and why.
 */
import { type CommitInfo, type JobInfo, type Pfs, PfsError } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress } from '../cli/address.js'
import { revOrDefault } from '../cli/default-rev.js'
import { jobsWaiting, runJobsHere } from '../cli/jobs-here.js'
import { allJobs } from '../cli/jobs.js'
import { json, line, shortId } from '../cli/output.js'

const FINISHED: ReadonlySet<string> = new Set(['success', 'failure', 'killed'])
const POLL_MS = 300

export default defineCommand({
  command: 'wait <rev>',
  describe: 'wait for (or, with no daemon, run) every job downstream of a commit',
  builder: y => y
    .positional('rev', { type: 'string', demandOption: true, describe: 'repo@rev' })
    .example('pfs wait images@master', 'after a put: until the pipelines have caught up'),
  handler: async argv => {
    const a = parseAddress(argv.rev)
    const jobs = await withPfs(argv, async pfs => {
      const commit = await pfs.inspectCommit(a.repo, await revOrDefault(pfs, a, 'wait'))
      if (pfs.mode === 'embedded') {
        if (await jobsWaiting(pfs)) await runJobsHere(pfs, { store: argv.store, json: argv.json, quiet: true })
        const found = await downstream(pfs, commit)
        await stalled(pfs, found)
        return found
      }
      // A server runs them: follow its runner until none is left that can still finish.
      for (;;) {
        const found = await downstream(pfs, commit)
        if (await stalled(pfs, found)) return found
        await new Promise(resolve => setTimeout(resolve, POLL_MS))
      }
    })
    if (argv.json) await json(jobs)
    else {
      for (const j of [...jobs].reverse()) {
        await line(`${j.pipeline}: job ${shortId(j.id)} ${j.state}${j.reason !== '' ? ` (${j.reason})` : ''}`)
      }
    }
    const bad = jobs.filter(j => j.state !== 'success')
    if (bad.length === 0) return
    const j = bad[bad.length - 1]!
    const what = FINISHED.has(j.state) ? j.state : `cannot run now (${j.state}`
    throw new PfsError('CONFLICT', `job ${shortId(j.id)} of pipeline ${j.pipeline} ${what}` +
      `${j.reason !== '' ? `: ${j.reason}` : ''}${FINISHED.has(j.state) ? '' : ')'}; ` +
      `see \`pfs job inspect ${shortId(j.id)}\``, { job: j.id })
  }
})

/**
 * Whether every job that has not finished is of a stopped pipeline (so nothing will finish
 * it until the pipeline is started); those jobs' reasons say so.
 */
async function stalled (pfs: Pfs, jobs: JobInfo[]): Promise<boolean> {
  const stuck = new Map<string, string>() // job id -> the stopped pipeline it waits on
  for (const j of jobs) {
    if (FINISHED.has(j.state)) continue
    if ((await pfs.inspectPipeline(j.pipeline)).state !== 'running') stuck.set(j.id, j.pipeline)
  }
  // A job waiting for a stuck job is stuck too.
  for (let grew = true; grew;) {
    grew = false
    for (const j of jobs) {
      const up = (j.waitsFor ?? []).find(w => stuck.has(w))
      if (FINISHED.has(j.state) || stuck.has(j.id) || up === undefined) continue
      stuck.set(j.id, stuck.get(up)!)
      grew = true
    }
  }
  for (const j of jobs) {
    const p = stuck.get(j.id)
    if (p !== undefined) j.reason = `pipeline ${p} is stopped; \`pfs pipeline start ${p}\` runs it`
  }
  return jobs.every(j => FINISHED.has(j.state) || stuck.has(j.id))
}

/** The jobs downstream of a commit: its commit set's, and those of any set that read it. */
async function downstream (pfs: Pfs, commit: CommitInfo): Promise<JobInfo[]> {
  const set = commit.provenance.job !== undefined
    ? (await pfs.inspectJob(commit.provenance.job)).commitSet
    : commit.id
  const all = await allJobs(pfs)
  const sets = new Set([set])
  for (const j of all) if (j.inputs.some(i => i.commit === commit.id)) sets.add(j.commitSet)
  return all.filter(j => sets.has(j.commitSet))
}
