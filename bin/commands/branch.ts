/** `pfs branch create|list|delete`: branches of a repository. */
import { defineCommand, defineGroup } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseBranch } from '../cli/address.js'
import { json, line, table, shortId, time } from '../cli/output.js'

const create = defineCommand({
  command: 'create <branch>',
  describe: 'create a branch, empty or at a rev',
  builder: y => y
    .positional('branch', { type: 'string', demandOption: true, describe: 'repo@branch' })
    .option('from', { type: 'string', describe: 'rev of the same repo the branch starts at' })
    .example('pfs branch create images@dev --from master', 'dev starts where master is')
    .example('pfs branch create images@staging', 'an empty branch'),
  handler: async argv => {
    const { repo, branch } = parseBranch(argv.branch)
    const b = await withPfs(argv, pfs => pfs.createBranch(repo, branch, { from: argv.from }))
    if (argv.json) return await json(b)
    await line(`created branch ${b.repo}@${b.name}${b.head ? ` at ${shortId(b.head)}` : ''}`)
  }
})

const list = defineCommand({
  command: 'list <repo>',
  describe: 'list the branches of a repository',
  builder: y => y
    .positional('repo', { type: 'string', demandOption: true })
    .example('pfs branch list images', ''),
  handler: async argv => {
    const bs = await withPfs(argv, pfs => pfs.listBranches(argv.repo))
    if (argv.json) return await json(bs)
    await table(['BRANCH', 'HEAD', 'OPEN', 'CREATED'], bs.map(b => [
      b.name, shortId(b.head), b.open ? shortId(b.open) : '-', time(b.created)
    ]))
  }
})

const remove = defineCommand({
  command: 'delete <branch>',
  describe: 'delete a branch (its commits stay reachable by id until gc)',
  builder: y => y
    .positional('branch', { type: 'string', demandOption: true, describe: 'repo@branch' })
    .example('pfs branch delete images@dev', ''),
  handler: async argv => {
    const { repo, branch } = parseBranch(argv.branch)
    await withPfs(argv, pfs => pfs.deleteBranch(repo, branch))
    if (argv.json) return await json({ repo, branch, deleted: true })
    await line(`deleted branch ${repo}@${branch}`)
  }
})

export default defineGroup('branch', 'create, list and delete branches', [create, list, remove])
