/** `pfs du [repo]`: logical size per repo, and what the store really holds after dedup. */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { json, line, table, size } from '../cli/output.js'

export default defineCommand({
  command: 'du [repo]',
  describe: 'show disk usage: logical bytes per repo, unique and stored bytes',
  builder: y => y
    .positional('repo', { type: 'string', describe: 'only this repo' })
    .example('pfs du', '')
    .example('pfs du images --json', ''),
  handler: async argv => {
    const r = await withPfs(argv, pfs => pfs.du({ repo: argv.repo }))
    if (argv.json) return await json(r)
    await table(['REPO', 'COMMITS', 'SIZE'], r.repos.map(x => [x.name, String(x.commits), size(x.size)]))
    await line()
    await line(`unique data: ${size(r.uniqueBytes)}`)
    await line(`stored:      ${size(r.storedBytes)} in ${r.objects} objects`)
  }
})
