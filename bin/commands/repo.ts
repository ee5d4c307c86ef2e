/** `pfs repo create|list|inspect|delete`: repositories. */
import { defineCommand, defineGroup } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { json, line, table, fields, size, time } from '../cli/output.js'

const create = defineCommand({
  command: 'create <name>',
  describe: 'create a repository (with no branches yet)',
  builder: y => y
    .positional('name', { type: 'string', demandOption: true, describe: 'repository name' })
    .option('description', { alias: 'd', type: 'string', describe: 'what the repository holds' })
    .example('pfs repo create images -d "training images"', ''),
  handler: async argv => {
    const repo = await withPfs(argv, pfs => pfs.createRepo(argv.name, { description: argv.description }))
    if (argv.json) return await json(repo)
    await line(`created repo ${repo.name}`)
  }
})

const list = defineCommand({
  command: 'list',
  describe: 'list repositories',
  builder: y => y.example('pfs repo list', '').example('pfs repo list --json', ''),
  handler: async argv => {
    const repos = await withPfs(argv, pfs => pfs.listRepos())
    if (argv.json) return await json(repos)
    await table(['NAME', 'CREATED', 'SIZE', 'BRANCHES', 'DESCRIPTION'], repos.map(r => [
      r.name, time(r.created), size(r.size), r.branches.join(',') || '-', r.description
    ]))
  }
})

const inspect = defineCommand({
  command: 'inspect <name>',
  describe: 'show a repository',
  builder: y => y
    .positional('name', { type: 'string', demandOption: true })
    .example('pfs repo inspect images', ''),
  handler: async argv => {
    const r = await withPfs(argv, pfs => pfs.inspectRepo(argv.name))
    if (argv.json) return await json(r)
    await fields([
      ['name', r.name],
      ['description', r.description || '-'],
      ['created', time(r.created)],
      ['size', size(r.size)],
      ['branches', r.branches.join(', ') || '-']
    ])
  }
})

const remove = defineCommand({
  command: 'delete <name>',
  describe: 'delete a repository; one with commits needs --force',
  builder: y => y
    .positional('name', { type: 'string', demandOption: true })
    .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'delete even if it has commits' })
    .example('pfs repo delete scratch', '')
    .example('pfs repo delete images --force', 'also deletes every commit'),
  handler: async argv => {
    await withPfs(argv, pfs => pfs.deleteRepo(argv.name, { force: argv.force }))
    if (argv.json) return await json({ repo: argv.name, deleted: true })
    await line(`deleted repo ${argv.name}`)
  }
})

export default defineGroup('repo', 'create, list, inspect and delete repositories', [create, list, inspect, remove])
