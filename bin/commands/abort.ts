/** `pfs abort repo@branch`: discards the branch's open commit. */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseBranch } from '../cli/address.js'
import { json, line } from '../cli/output.js'

export default defineCommand({
  command: 'abort <branch>',
  describe: "discard the branch's open commit and every change in it",
  builder: y => y
    .positional('branch', { type: 'string', demandOption: true, describe: 'repo@branch' })
    .example('pfs abort images@master', ''),
  handler: async argv => {
    const { repo, branch } = parseBranch(argv.branch)
    await withPfs(argv, pfs => pfs.abortCommit(repo, branch))
    if (argv.json) return await json({ repo: repo, branch, aborted: true })
    await line(`aborted the open commit of ${repo}@${branch}`)
  }
})
