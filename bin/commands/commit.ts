/** `pfs commit repo@branch [-m msg]`: closes the write session into an immutable commit. */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { RUN_OPTION } from '../cli/run-option.js'
import { parseBranch } from '../cli/address.js'
import { json, line, shortId, size } from '../cli/output.js'

export default defineCommand({
  command: 'commit <branch>',
  describe: "finish the branch's open commit",
  builder: y => y
    .positional('branch', { type: 'string', demandOption: true, describe: 'repo@branch' })
    .option('message', { alias: 'm', type: 'string', describe: 'commit message (replaces the one given to start)' })
    .option('run', RUN_OPTION)
    .example('pfs commit images@master -m "add October"', ''),
  handler: async argv => {
    const { repo, branch } = parseBranch(argv.branch)
    const c = await withPfs(argv, pfs => pfs.finishCommit(repo, branch, { message: argv.message }),
      { runJobs: argv.run })
    if (argv.json) return await json(c)
    await line(`committed ${shortId(c.id)} on ${repo}@${branch} (${size(c.size)})`)
  }
})
