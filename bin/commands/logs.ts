/**
 * `pfs logs [-p pipeline] [--job id] [--datum id] [-f] [--json]`: what datums printed, kept
 * in the store (they outlive the sandbox and the runner), each line tagged with its job,
 * datum and input paths. `-f` follows new lines: until the job ends with `--job`, else
 * until Ctrl-C. With no daemon, `-f` runs the queued jobs itself and shows them live.
 */
import type { LogLine, LogQuery, Pfs } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { resolveJob } from '../cli/jobs.js'
import { jobsWaiting, runJobsHere } from '../cli/jobs-here.js'
import { line, shortId } from '../cli/output.js'

const FOLLOW_MS = 300
const FINISHED: ReadonlySet<string> = new Set(['success', 'failure', 'killed'])

export default defineCommand({
  command: 'logs',
  describe: 'show what the datums of a pipeline or job printed (--json: one object per line)',
  builder: y => y
    .option('pipeline', { alias: 'p', type: 'string', describe: 'the lines of this pipeline\'s jobs' })
    .option('job', { type: 'string', describe: 'the lines of one job (an id or a prefix)' })
    .option('datum', { type: 'string', describe: 'the lines of one datum (an id or a prefix)' })
    .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing new lines' })
    .example('pfs logs -p edges', 'every line of every job of edges, oldest job first')
    .example('pfs logs --job 3f2a9c1e --datum 0ba7 -f', 'one datum, as it runs'),
  handler: async argv => {
    await withPfs(argv, async pfs => {
      const job = argv.job === undefined ? undefined : await resolveJob(pfs, argv.job)
      const q: LogQuery = { pipeline: argv.pipeline, job: job?.id, datum: argv.datum }
      if (q.pipeline !== undefined) await pfs.inspectPipeline(q.pipeline)
      const print = async (l: LogLine): Promise<void> => {
        if (argv.json) return await line(JSON.stringify(l))
        const tag = [shortId(l.job), l.datum === '' ? 'job' : shortId(l.datum), ...l.paths].join(' ')
        await line(`[${tag}] ${l.stream === 'pfs' ? 'pfs: ' : ''}${l.line}`)
      }
      let after = await drain(pfs, q, undefined, print)
      if (!argv.follow) return
      const done = async (): Promise<boolean> =>
        job !== undefined && FINISHED.has((await pfs.inspectJob(job.id)).state)
      if (pfs.mode === 'embedded') {
        // Nothing else runs jobs: run them here, printing lines as they are kept.
        let running = true
        const poller = (async () => {
          while (running) {
            await new Promise(resolve => setTimeout(resolve, FOLLOW_MS))
            after = await drain(pfs, q, after, print)
          }
        })()
        try {
          if (await jobsWaiting(pfs)) await runJobsHere(pfs, { json: argv.json, quiet: true })
        } finally {
          running = false
          await poller
        }
        await drain(pfs, q, after, print)
        return
      }
      const stop = new Promise<void>(resolve => process.once('SIGINT', () => resolve()))
      for (;;) {
        const ended = await done()
        after = await drain(pfs, q, after, print)
        if (ended) return
        if (await Promise.race([stop.then(() => true), sleep(FOLLOW_MS).then(() => false)])) return
      }
    })
  }
})

/** Prints every line after `after`; returns where the next read starts. */
async function drain (
  pfs: Pfs, q: LogQuery, after: string | undefined, print: (l: LogLine) => Promise<void>
): Promise<string | undefined> {
  for (;;) {
    const page = await pfs.readLogs({ ...q, after })
    for (const l of page.entries) await print(l)
    if (page.next === '' || page.next === undefined) return after
    if (page.entries.length === 0 && page.next === after) return after
    after = page.next
    if (page.entries.length === 0) return after
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
