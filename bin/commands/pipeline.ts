/**
 * `pfs pipeline create|update|list|inspect|delete|stop|start|schema`: pipelines. Creating
 * or updating one queues a job on its inputs' heads; with no daemon running, the command
 * runs it before it exits (`--no-run` leaves it queued).
 */
import type { PipelineInfo } from '../../store/index.js'
import { defineCommand, defineGroup } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { readSpec } from '../cli/spec-file.js'
import { runJobsHere } from '../cli/jobs-here.js'
import { fields, json, line, table, time } from '../cli/output.js'
import { pipelineDef, specJsonSchema } from '../../runner/index.js'

const fileOption = {
  alias: 'f', type: 'string', demandOption: true, describe: 'the pipeline spec (YAML or JSON), - for stdin'
} as const
const runOption = {
  type: 'boolean', default: true, describe: 'run the job now (--no-run: leave it for `pfs wait`)'
} as const

const create = defineCommand({
  command: 'create',
  describe: 'create a pipeline from a spec and run it on its inputs',
  builder: y => y.option('file', fileOption).option('run', runOption)
    .example('pfs pipeline create -f edges.yaml', ''),
  handler: async argv => { await createOrUpdate(argv, false, false) }
})

const update = defineCommand({
  command: 'update',
  describe: 'make a new version of a pipeline; datums whose key is unchanged are not run again',
  builder: y => y.option('file', fileOption).option('run', runOption)
    .option('reprocess', { type: 'boolean', default: false, describe: 'run every datum again' })
    .example('pfs pipeline update -f edges.yaml --reprocess', ''),
  handler: async argv => { await createOrUpdate(argv, true, argv.reprocess) }
})

async function createOrUpdate (
  argv: { file: string, run: boolean, json: boolean, store: string, server?: string, token?: string },
  isUpdate: boolean, reprocess: boolean
): Promise<void> {
  const spec = await readSpec(argv.file)
  await withPfs(argv, async pfs => {
    const p = await pfs.createPipeline(pipelineDef(spec), { update: isUpdate, reprocess })
    if (argv.json) await json(p)
    else {
      await line(`${isUpdate ? 'updated' : 'created'} pipeline ${p.name} (version ${p.version}); output repo ${p.name}`)
    }
    // With a server, its runner runs the job; with none, this command does.
    if (argv.run && pfs.mode === 'embedded') await runJobsHere(pfs, { store: argv.store, json: argv.json })
  })
}

const list = defineCommand({
  command: 'list',
  describe: 'list pipelines',
  builder: y => y.example('pfs pipeline list', ''),
  handler: async argv => {
    const ps = await withPfs(argv, pfs => pfs.listPipelines())
    if (argv.json) return await json(ps)
    await table(['NAME', 'VERSION', 'STATE', 'INPUTS', 'CREATED'], ps.map(p => [
      p.name, String(p.version), p.state, p.inputs.map(i => `${i.repo}@${i.branch}`).join(' '), time(p.created)
    ]))
  }
})

const inspect = defineCommand({
  command: 'inspect <name>',
  describe: 'show a pipeline, its versions and its spec',
  builder: y => y.positional('name', { type: 'string', demandOption: true }),
  handler: async argv => {
    const p = await withPfs(argv, pfs => pfs.inspectPipeline(argv.name))
    if (argv.json) return await json(p)
    await fields(pipelineFields(p))
  }
})

function pipelineFields (p: PipelineInfo): Array<[string, string]> {
  return [
    ['pipeline', p.name],
    ['description', p.description || '-'],
    ['state', p.state],
    ['version', `${p.version} (${p.hash.slice(0, 12)})`],
    ['inputs', p.inputs.map(i => `${i.repo}@${i.branch}`).join(', ')],
    ['output', `${p.name}@${p.outputBranch}`],
    ['created', time(p.created)],
    ['versions', p.versions.map(v => `${v.version} ${time(v.created)} ${v.hash.slice(0, 12)}`).join('; ')],
    ['spec', JSON.stringify(p.spec)]
  ]
}

const remove = defineCommand({
  command: 'delete <name>',
  describe: 'delete a pipeline, its jobs and its output repo',
  builder: y => y.positional('name', { type: 'string', demandOption: true })
    .option('keep-repo', { type: 'boolean', default: false, describe: 'keep the output repo, as a plain repo' }),
  handler: async argv => {
    await withPfs(argv, pfs => pfs.deletePipeline(argv.name, { keepRepo: argv.keepRepo }))
    if (argv.json) return await json({ pipeline: argv.name, deleted: true })
    await line(`deleted pipeline ${argv.name}${argv.keepRepo ? ' (its output repo stays)' : ' and its output repo'}`)
  }
})

const stateCommand = (state: 'running' | 'stopped', command: string, describe: string) => defineCommand({
  command: `${command} <name>`,
  describe,
  builder: y => y.positional('name', { type: 'string', demandOption: true }),
  handler: async argv => {
    const p = await withPfs(argv, pfs => pfs.setPipelineState(argv.name, state))
    if (argv.json) return await json(p)
    await line(`pipeline ${p.name} is ${p.state}`)
  }
})

const schema = defineCommand({
  command: 'schema',
  describe: 'print the JSON Schema of a pipeline spec (for editors and linters)',
  builder: y => y
    .example('pfs pipeline schema > pipeline.schema.json', '')
    .example('# yaml-language-server: $schema=pipeline.schema.json', 'first line of a spec, for VS Code'),
  handler: async () => { await json(specJsonSchema()) }
})

export default defineGroup('pipeline', 'pipelines: create, update, inspect, stop and start them', [
  create, update, list, inspect, remove,
  stateCommand('stopped', 'stop', 'stop queueing jobs for new commits'),
  stateCommand('running', 'start', 'queue jobs for new commits again'),
  schema
])
