/**
 * `pfs datum list <pipeline>[@job]`: the datums of a pipeline (its current state of each)
 * or of one job, with state, time, bytes and tries. `pfs datum list -f spec`: the datums
 * a spec would make on its inputs' heads, without running anything.
 */
import { invalidArgument } from '../../store/index.js'
import { defineCommand, defineGroup } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { readSpec } from '../cli/spec-file.js'
import { resolveJob } from '../cli/jobs.js'
import { jsonArray, table, shortId, size } from '../cli/output.js'
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

export default defineGroup('datum', 'datums: what each run of a pipeline sees', [list])
