/**
 * `pfs logs [-p pipeline] [--job id] [--datum id] [-f] [--json]`: what datums printed, kept
 * in the store (they outlive the sandbox and the runner), each line tagged with its job,
 * datum and input paths. `-f` follows new lines: until the job ends with `--job`, else
 * until Ctrl-C. With no daemon, `-f` runs the queued jobs itself and shows them live.
 */
import { type LogLine, type LogQuery, type Pfs, isPfsError } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
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
    const { openPfs } = await import('../../store/index.js')
    const open = async (): Promise<Pfs> => await openPfs({ store: argv.store, server: argv.server, token: argv.token })
    let pfs = await open()
    try {
      const job = argv.job === undefined ? undefined : (await resolveJob(pfs, argv.job)).id
      const q: LogQuery = { pipeline: argv.pipeline, job, datum: argv.datum }
      if (q.pipeline !== undefined) await pfs.inspectPipeline(q.pipeline)
      const print = async (l: LogLine): Promise<void> => {
        if (argv.json) return await line(JSON.stringify(l))
        const tag = [shortId(l.job), l.datum === '' ? 'job' : shortId(l.datum), ...l.paths].join(' ')
        await line(`[${tag}] ${l.stream === 'pfs' ? 'pfs: ' : ''}${l.line}`)
      }
      const at = { after: await drain(pfs, q, undefined, print) }
      if (!argv.follow) return
      for (;;) {
        if (pfs.mode === 'embedded') return await followHere(pfs, q, at, print, argv)
        try {
          return await followServer(pfs, q, at, print)
        } catch (e) {
          // The process serving the store went away (a command with no daemon finished its
          // jobs): open the store again, here or through whoever serves it now.
          if (!isPfsError(e, 'UNAVAILABLE')) throw e
          await pfs.close()
          pfs = await open()
        }
      }
    } finally {
      await pfs.close()
    }
  }
})

interface Cursor { after: string | undefined }

/** No daemon: nothing else runs jobs, so run them here, printing lines as they are kept. */
async function followHere (
  pfs: Pfs, q: LogQuery, at: Cursor, print: (l: LogLine) => Promise<void>, argv: { store: string, json: boolean }
): Promise<void> {
  let running = true
  const poller = (async () => {
    while (running) {
      await sleep(FOLLOW_MS)
      at.after = await drain(pfs, q, at.after, print)
    }
  })()
  try {
    if (await jobsWaiting(pfs)) await runJobsHere(pfs, { store: argv.store, json: argv.json, quiet: true })
  } finally {
    running = false
    await poller
  }
  at.after = await drain(pfs, q, at.after, print)
}

/** A server runs the jobs: poll for new lines until the job ends (`--job`) or Ctrl-C. */
async function followServer (pfs: Pfs, q: LogQuery, at: Cursor, print: (l: LogLine) => Promise<void>): Promise<void> {
  const stop = new Promise<boolean>(resolve => process.once('SIGINT', () => resolve(true)))
  for (;;) {
    const ended = q.job !== undefined && FINISHED.has((await pfs.inspectJob(q.job)).state)
    at.after = await drain(pfs, q, at.after, print)
    if (ended) return
    if (await Promise.race([stop, sleep(FOLLOW_MS).then(() => false)])) return
  }
}

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
