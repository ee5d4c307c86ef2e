/**
 * `pfs datum list <pipeline>[@job]`: the datums of a pipeline (its current state of each)
 * or of one job, with state, time, bytes and tries. `pfs datum list -f spec`: the datums
 * a spec would make on its inputs' heads, without running anything.
 */
import { type DatumRecord, PfsError, invalidArgument, notFound } from '../../store/index.js'
import { defineCommand, defineGroup } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { readSpec } from '../cli/spec-file.js'
import { resolveJob } from '../cli/jobs.js'
import { fields, json, jsonArray, table, shortId, size, time } from '../cli/output.js'
import { enumerate, inputCommits } from '../../runner/index.js'

const list = defineCommand({
  command: 'list [pipeline]',
  describe: 'list the datums of a pipeline or one of its jobs, or those a spec would make (-f)',
  builder: y => y
    .positional('pipeline', { type: 'string', describe: 'pipeline, or pipeline@job' })
    .option('file', {
      alias: 'f', type: 'string', describe: 'a pipeline spec (YAML or JSON), - for stdin: list without running'
    })
    .example('pfs datum list edges', 'each datum\'s latest state')
    .example('pfs datum list edges@3f2a9c1e', 'the datums of one job')
    .example('pfs datum list -f edges.yaml', 'one line per datum the spec would make'),
  handler: async argv => {
    if ((argv.file === undefined) === (argv.pipeline === undefined)) {
      throw invalidArgument('give a pipeline (or pipeline@job), or a spec with -f, but not both')
    }
    if (argv.file !== undefined) return await planned(argv, argv.file)
    const [pipeline, jobId] = argv.pipeline!.split('@') as [string, string | undefined]
    const out = argv.json ? jsonArray() : undefined
    const rows: string[][] = []
    await withPfs(argv, async pfs => {
      const job = jobId === undefined ? undefined : (await resolveJob(pfs, jobId)).id
      let after: string | undefined
      do {
        const page = await pfs.listDatums(pipeline, { job, after })
        for (const d of page.entries) {
          if (out !== undefined) await out.push(d)
          else {
            rows.push([shortId(d.id), d.state, `${((d.ms.prepare + d.ms.run + d.ms.upload) / 1000).toFixed(2)} s`,
              `${size(d.bytesIn)} / ${size(d.bytesOut)}`, String(d.tries), shortId(d.job),
              d.inputs.map(i => `${i.name}:/${i.path}`).join(' '), d.reason || '-'])
          }
        }
        after = page.next
      } while (after !== undefined)
    })
    if (out !== undefined) return await out.end()
    await table(['DATUM', 'STATE', 'TIME', 'IN / OUT', 'TRIES', 'JOB', 'INPUTS', 'REASON'], rows)
  }
})

async function planned (argv: Parameters<typeof withPfs>[0], file: string): Promise<void> {
  const spec = await readSpec(file)
  const datums = await withPfs(argv, async pfs =>
    await enumerate(pfs, spec.input, await inputCommits(pfs, spec.input)))
  if (argv.json) {
    const out = jsonArray()
    for (const d of datums) await out.push(d)
    return await out.end()
  }
  await table(['DATUM', 'INPUTS', 'SIZE'], datums.map(d => [
    shortId(d.id),
    d.inputs.map(i => `${i.name}@${shortId(i.commit)}:/${i.path}`).join(' '),
    size(d.inputs.reduce((n, i) => n + i.size, 0))
  ]))
}

const inspect = defineCommand({
  command: 'inspect <pipeline> <datum>',
  describe: 'show a datum: its inputs, how it ended and why, times, bytes and outputs',
  builder: y => y
    .positional('pipeline', { type: 'string', demandOption: true, describe: 'pipeline, or pipeline@job' })
    .positional('datum', { type: 'string', demandOption: true, describe: 'a datum id or a prefix of one' })
    .example('pfs datum inspect edges 0ba7438a', 'the datum\'s latest state')
    .example('pfs datum inspect edges@3f2a9c1e 0ba7438a', 'as one job left it'),
  handler: async argv => {
    const [pipeline, jobId] = argv.pipeline.split('@') as [string, string | undefined]
    const prefix = argv.datum
    if (!/^[0-9a-f]{4,64}$/.test(prefix)) {
      throw invalidArgument(`'${prefix}' is not a datum id: give 4 to 64 hex digits (see \`pfs datum list\`)`)
    }
    const d = await withPfs(argv, async pfs => {
      const job = jobId === undefined ? undefined : (await resolveJob(pfs, jobId)).id
      const found: DatumRecord[] = []
      let after: string | undefined
      do {
        const page = await pfs.listDatums(pipeline, { job, after })
        found.push(...page.entries.filter(x => x.id.startsWith(prefix)))
        after = page.next
      } while (after !== undefined && found.length < 2)
      if (found.length === 0) throw notFound('datum', prefix, `see \`pfs datum list ${argv.pipeline}\``)
      if (found.length > 1) {
        throw new PfsError('AMBIGUOUS', `datum id prefix '${prefix}' names more than one datum; give more digits`)
      }
      return found[0]!
    })
    if (argv.json) return await json(d)
    const more = d.outputs.length > 20 ? ` (and ${d.outputs.length - 20} more)` : ''
    await fields([
      ['datum', d.id],
      ['pipeline', pipeline],
      ['state', d.state],
      ['reason', d.reason || '-'],
      ['job', d.job],
      ['inputs', d.inputs.map(i => `${i.name}: ${i.repo}@${i.commit}:/${i.path}`).join(', ')],
      ['tries', String(d.tries)],
      ['exit code', d.exitCode === null ? '-' : String(d.exitCode)],
      ['time', `${ms(d.ms.prepare)} preparing, ${ms(d.ms.run)} running, ${ms(d.ms.upload)} uploading`],
      ['bytes', `${size(d.bytesIn)} in, ${size(d.bytesOut)} out`],
      ['output commit', d.commit ?? '-'],
      ['outputs', d.outputs.length === 0 ? '-' : d.outputs.slice(0, 20).join(', ') + more],
      ['finished', time(d.finished)],
      ['logs', `pfs logs --job ${shortId(d.job)} --datum ${shortId(d.id)}`],
      ['key', d.key]
    ])
  }
})

const ms = (n: number): string => `${(n / 1000).toFixed(2)} s`

export default defineGroup('datum', 'datums: what each run of a pipeline sees', [list, inspect])
