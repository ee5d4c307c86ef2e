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
      const at = new Cursor(q, print)
      await at.drain(pfs)
      if (!argv.follow) return
      for (;;) {
        if (pfs.mode === 'embedded') return await followHere(pfs, at, argv)
        try {
          return await followServer(pfs, at)
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

/**
 * Where a reader is in the logs. Lines are kept in the order of pipeline, job and batch,
 * so one cursor serves one pipeline or job; following every pipeline keeps one cursor
 * each (new lines of pipeline `a` come after lines of `z` already read).
 */
class Cursor {
  private readonly after = new Map<string, string | undefined>()

  constructor (readonly q: LogQuery, private readonly print: (l: LogLine) => Promise<void>) {}

  /** Prints every line kept since the last call. */
  async drain (pfs: Pfs): Promise<void> {
    if (this.q.pipeline !== undefined || this.q.job !== undefined) return await this.drainOne(pfs, this.q, '')
    for (const p of await pfs.listPipelines()) await this.drainOne(pfs, { ...this.q, pipeline: p.name }, p.name)
  }

  private async drainOne (pfs: Pfs, q: LogQuery, key: string): Promise<void> {
    for (;;) {
      const after = this.after.get(key)
      const page = await pfs.readLogs({ ...q, after })
      for (const l of page.entries) await this.print(l)
      if (page.next === undefined || page.next === '' || page.next === after) return
      this.after.set(key, page.next)
      if (page.entries.length === 0) return
    }
  }
}

/** No daemon: nothing else runs jobs, so run them here, printing lines as they are kept. */
async function followHere (pfs: Pfs, at: Cursor, argv: { store: string, json: boolean }): Promise<void> {
  let running = true
  const poller = (async () => {
    while (running) {
      await sleep(FOLLOW_MS)
      await at.drain(pfs)
    }
  })()
  try {
    if (await jobsWaiting(pfs)) await runJobsHere(pfs, { store: argv.store, json: argv.json, quiet: true })
  } finally {
    running = false
    await poller
  }
  await at.drain(pfs)
}

/** A server runs the jobs: poll for new lines until the job ends (`--job`) or Ctrl-C. */
async function followServer (pfs: Pfs, at: Cursor): Promise<void> {
  for (;;) {
    const ended = at.q.job !== undefined && FINISHED.has((await pfs.inspectJob(at.q.job)).state)
    await at.drain(pfs)
    if (ended) return
    if (await Promise.race([ctrlC(), sleep(FOLLOW_MS).then(() => false)])) return
  }
}

/** Ctrl-C while following ends the command quietly, once every line so far is printed. */
let interrupted: Promise<boolean> | undefined
const ctrlC = async (): Promise<boolean> =>
  await (interrupted ??= new Promise<boolean>(resolve => process.once('SIGINT', () => resolve(true))))

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
