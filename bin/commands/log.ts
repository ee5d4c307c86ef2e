/** `pfs log repo[@rev] [-n N]`: the commits reachable from a rev, newest first. */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress, noPath } from '../cli/address.js'
import { revOrDefault } from '../cli/default-rev.js'
import { json, table, shortId, size, time, firstLine } from '../cli/output.js'

export default defineCommand({
  command: 'log <rev>',
  describe: 'show the history of a branch or commit',
  builder: y => y
    .positional('rev', { type: 'string', demandOption: true, describe: 'repo[@rev]; rev defaults to master' })
    .option('number', { alias: 'n', type: 'number', describe: 'show at most N commits' })
    .example('pfs log images', 'history of master')
    .example('pfs log images@dev -n 5', ''),
  handler: async argv => {
    const a = parseAddress(argv.rev)
    noPath(a)
    const commits = await withPfs(argv, async pfs => {
      const rev = await revOrDefault(pfs, a, 'log')
      return await pfs.log(a.repo, rev, { limit: argv.number })
    })
    if (argv.json) return await json(commits)
    await table(['COMMIT', 'BRANCH', 'FINISHED', 'SIZE', 'ORIGIN', 'MESSAGE'], commits.map(c => [
      shortId(c.id),
      c.branch,
      c.finished === null ? 'open' : time(c.finished),
      size(c.size),
      c.origin,
      firstLine(c.message)
    ]))
  }
})
