/** `pfs start repo@branch [-m msg]`: opens the branch's write session (an open commit). */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseBranch } from '../cli/address.js'
import { json, line, shortId } from '../cli/output.js'

export default defineCommand({
  command: 'start <branch>',
  describe: 'open a commit: later puts, rms and cps go into it until pfs commit',
  builder: y => y
    .positional('branch', { type: 'string', demandOption: true, describe: 'repo@branch' })
    .option('message', { alias: 'm', type: 'string', describe: 'commit message' })
    .example('pfs start images@master -m "add October"', '')
    .example('pfs start images@master && pfs put images@master ./oct && pfs commit images@master',
      'many changes, one commit'),
  handler: async argv => {
    const { repo, branch } = parseBranch(argv.branch)
    const c = await withPfs(argv, pfs => pfs.startCommit(repo, branch, { message: argv.message }))
    if (argv.json) return await json(c)
    await line(`started commit ${shortId(c.id)} on ${repo}@${branch}`)
  }
})
