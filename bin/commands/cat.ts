/** `pfs cat repo@rev:path`: a file's bytes on stdout, streamed. */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress, needRev, needPath } from '../cli/address.js'
import { toStdout } from '../cli/output.js'

export default defineCommand({
  command: 'cat <file>',
  describe: "print a file's contents",
  builder: y => y
    .positional('file', { type: 'string', demandOption: true, describe: 'repo@rev:path' })
    .example('pfs cat images@master:labels.csv | head', '')
    .example('pfs cat images@master~2:labels.csv', 'as it was two commits ago'),
  handler: async argv => {
    const a = parseAddress(argv.file)
    const rev = needRev(a, `${a.repo}@master:${a.path ?? '<path>'}`)
    const path = needPath(a)
    await withPfs(argv, async pfs => { await toStdout(await pfs.readStream(a.repo, rev, path)) })
  }
})
