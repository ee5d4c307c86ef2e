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
 * Whether every job that has not finished is held by a stopped pipeline: its own, or that
 * of a job it waits for (an upstream job, or an older job of its pipeline, which runs
 * first), so nothing will finish it until that pipeline is started; those jobs' reasons
 * say which.
 */
async function stalled (pfs: Pfs, jobs: JobInfo[]): Promise<boolean> {
  const known = new Map(jobs.map(j => [j.id, j]))
  const before = new Map<string, string[]>() // job -> the jobs that must end before it
  const todo = jobs.filter(j => !FINISHED.has(j.state))
  while (todo.length > 0 && known.size < 1000) {
    const j = todo.shift()!
    const queued = (await pfs.listJobs({ pipeline: j.pipeline, waiting: true })).entries
    const older = queued.filter(o => o.created < j.created)
    const deps = [...(j.waitsFor ?? []), ...older.map(o => o.id)]
    before.set(j.id, deps)
    for (const o of older) if (!known.has(o.id)) { known.set(o.id, o); todo.push(o) }
    for (const w of j.waitsFor ?? []) {
      if (known.has(w)) continue
      const u = await pfs.inspectJob(w).catch(() => undefined)
      if (u !== undefined && !FINISHED.has(u.state)) { known.set(w, u); todo.push(u) }
    }
  }
  const stuck = new Map<string, string>() // job id -> the stopped pipeline that holds it
  const running = new Map<string, boolean>()
  for (const j of known.values()) {
    if (FINISHED.has(j.state)) continue
    if (!running.has(j.pipeline)) running.set(j.pipeline, (await pfs.inspectPipeline(j.pipeline)).state === 'running')
    if (running.get(j.pipeline) !== true) stuck.set(j.id, j.pipeline)
  }
  for (let grew = true; grew;) {
    grew = false
    for (const j of known.values()) {
      const up = (before.get(j.id) ?? []).find(w => stuck.has(w))
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
