/** `pfs rm repo@branch:path [-r]`: removes a file or folder from a branch. */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { RUN_OPTION } from '../cli/run-option.js'
import { parseAddress, needBranch, needPath, formatAddress } from '../cli/address.js'
import { json, line, shortId } from '../cli/output.js'

export default defineCommand({
  command: 'rm <path>',
  describe: 'remove a file (or with -r a folder) from a branch',
  builder: y => y
    .positional('path', { type: 'string', demandOption: true, describe: 'repo@branch:path' })
    .option('recursive', {
      alias: 'r', type: 'boolean', default: false, describe: 'remove a folder and everything in it'
    })
    .option('message', { alias: 'm', type: 'string', describe: 'commit message (when no write session is open)' })
    .option('run', RUN_OPTION)
    .example('pfs rm images@master:cats/old.png', '')
    .example('pfs rm -r images@master:tmp', 'a whole folder'),
  handler: async argv => {
    const a = parseAddress(argv.path)
    const branch = needBranch(a)
    const path = needPath(a)
    const res = await withPfs(argv, pfs =>
      pfs.apply(a.repo, branch, [{ op: 'delete', path, recursive: argv.recursive }], { message: argv.message }),
    { runJobs: argv.run })
    if (argv.json) return await json(res)
    const state = `${res.finished ? 'committed' : 'in open commit'} ${shortId(res.commit.id)}`
    await line(`removed ${formatAddress(a.repo, branch, path)} (${state})`)
  }
})
