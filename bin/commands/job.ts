/** `pfs job list [-p name]|inspect <id>|stop <id>`: the jobs of pipelines. */
import type { JobInfo } from '../../store/index.js'
import { defineCommand, defineGroup } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { resolveJob } from '../cli/jobs.js'
import { fields, json, line, shortId, size, table, time } from '../cli/output.js'

const list = defineCommand({
  command: 'list',
  describe: 'list jobs, newest first',
  builder: y => y
    .option('pipeline', { alias: 'p', type: 'string', describe: 'only the jobs of this pipeline' })
    .example('pfs job list -p edges', ''),
  handler: async argv => {
    const jobs = await withPfs(argv, async pfs => (await pfs.listJobs({ pipeline: argv.pipeline })).entries)
    if (argv.json) return await json(jobs)
    await table(['JOB', 'PIPELINE', 'STATE', 'DATUMS', 'STARTED', 'REASON'], jobs.map(j => [
      shortId(j.id), `${j.pipeline} v${j.version}`, j.state, datumCounts(j), time(j.started ?? j.created),
      j.reason || '-'
    ]))
  }
})

const datumCounts = (j: JobInfo): string =>
  `${j.stats.processed} run, ${j.stats.skipped} skipped, ${j.stats.failed} failed of ${j.stats.datums}`

const inspect = defineCommand({
  command: 'inspect <job>',
  describe: 'show a job: its inputs, state, why it waits or failed, counts and times',
  builder: y => y.positional('job', { type: 'string', demandOption: true, describe: 'a job id or a prefix of one' }),
  handler: async argv => {
    const j = await withPfs(argv, pfs => resolveJob(pfs, argv.job))
    if (argv.json) return await json(j)
    const took = j.started !== null && j.finished !== null ? `${((j.finished - j.started) / 1000).toFixed(1)} s` : '-'
    await fields([
      ['job', j.id],
      ['pipeline', `${j.pipeline} (version ${j.version})`],
      ['state', j.state],
      ['reason', j.reason || '-'],
      ['commit set', j.commitSet],
      ['trigger', j.trigger.kind === 'commit'
        ? `commit ${j.trigger.commit} of ${j.trigger.repo}`
        : `pipeline ${j.trigger.kind}`],
      ['inputs', j.inputs.map(i => `${i.repo}@${i.commit ?? `${i.branch} (no commit yet)`}`).join(', ')],
      ['output', j.output ?? '-'],
      ['datums', datumCounts(j) + (j.stats.recovered > 0 ? `, ${j.stats.recovered} recovered` : '')],
      ['bytes', `${size(j.stats.bytesIn)} in, ${size(j.stats.bytesOut)} out`],
      ['created', time(j.created)],
      ['took', took],
      ['first datum', j.stats.firstDatumMs === undefined ? '-' : `${j.stats.firstDatumMs} ms after the start`]
    ])
  }
})

const stop = defineCommand({
  command: 'stop <job>',
  describe: 'stop a job: it is killed and runs no more datums',
  builder: y => y.positional('job', { type: 'string', demandOption: true }),
  handler: async argv => {
    const j = await withPfs(argv, async pfs => {
      const job = await resolveJob(pfs, argv.job)
      return await pfs.updateJob(job.id, { state: 'killed', reason: 'stopped by `pfs job stop`', finished: Date.now() })
    })
    if (argv.json) return await json(j)
    await line(`stopped job ${shortId(j.id)} of ${j.pipeline}`)
  }
})

export default defineGroup('job', 'jobs: list, inspect and stop them', [list, inspect, stop])
