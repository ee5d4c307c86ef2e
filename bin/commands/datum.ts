/** `pfs datum list -f spec`: the datums a spec would make on its inputs' heads, without running it. */
import { defineCommand, defineGroup } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { readSpec } from '../cli/spec-file.js'
import { jsonArray, table, shortId, size } from '../cli/output.js'
import { enumerate, inputCommits } from '../../runner/index.js'

const list = defineCommand({
  command: 'list',
  describe: 'list the datums a spec would make, without running anything',
  builder: y => y
    .option('file', {
      alias: 'f', type: 'string', demandOption: true, describe: 'the pipeline spec (YAML or JSON), - for stdin'
    })
    .example('pfs datum list -f edges.yaml', 'one line per datum: its id and the input paths it sees'),
  handler: async argv => {
    const spec = await readSpec(argv.file)
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
})

export default defineGroup('datum', 'datums: what each run of a pipeline sees', [list])
