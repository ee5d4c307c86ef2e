/** `pfs pipeline ...`: pipelines. `schema` prints the JSON Schema of a spec, for editors. */
import { defineCommand, defineGroup } from '../cli/command.js'
import { json } from '../cli/output.js'
import { specJsonSchema } from '../../runner/index.js'

const schema = defineCommand({
  command: 'schema',
  describe: 'print the JSON Schema of a pipeline spec (for editors and linters)',
  builder: y => y
    .example('pfs pipeline schema > pipeline.schema.json', '')
    .example('# yaml-language-server: $schema=pipeline.schema.json', 'first line of a spec, for VS Code'),
  handler: async () => { await json(specJsonSchema()) }
})

export default defineGroup('pipeline', 'pipelines: specs and their JSON Schema', [schema])
