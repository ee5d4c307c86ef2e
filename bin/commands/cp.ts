/**
 * `pfs cp repo@rev:path repo@branch:path`: copies a file or folder of any commit into a
 * branch. Only metadata changes: the copy shares every chunk with the original.
 */
import { joinPath } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { RUN_OPTION } from '../cli/run-option.js'
import { parseAddress, needRev, needBranch, needPath, formatAddress } from '../cli/address.js'
import { json, line, shortId } from '../cli/output.js'

export default defineCommand({
  command: 'cp <source> <dest>',
  describe: 'copy a file or folder of a commit into a branch (no data is copied)',
  builder: y => y
    .positional('source', { type: 'string', demandOption: true, describe: 'repo@rev:path' })
    .positional('dest', {
      type: 'string', demandOption: true, describe: 'repo@branch[:path]; a path ending in / is a folder to copy into'
    })
    .option('message', { alias: 'm', type: 'string', describe: 'commit message (when no write session is open)' })
    .option('run', RUN_OPTION)
    .example('pfs cp images@master~1:cats images@master:cats-before', 'restore an old folder beside the new one')
    .example('pfs cp images@master:labels.csv models@dev:inputs/', 'into another repo'),
  handler: async argv => {
    const s = parseAddress(argv.source)
    const d = parseAddress(argv.dest)
    const from = { repo: s.repo, rev: needRev(s, `${s.repo}@master:${s.path ?? '<path>'}`), path: needPath(s) }
    const branch = needBranch(d)
    const path = d.dirOnly ? joinPath(d.path ?? '', from.path.slice(from.path.lastIndexOf('/') + 1)) : d.path as string
    const op = { op: 'copy' as const, from, path }
    const res = await withPfs(argv, pfs => pfs.apply(d.repo, branch, [op], { message: argv.message }),
      { runJobs: argv.run })
    if (argv.json) return await json(res)
    const state = `${res.finished ? 'committed' : 'in open commit'} ${shortId(res.commit.id)}`
    const source = formatAddress(from.repo, from.rev, from.path)
    await line(`copied ${source} -> ${formatAddress(d.repo, branch, path)} (${state})`)
  }
})
