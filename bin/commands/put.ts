/**
 * `pfs put repo@branch[:path] <file|folder|->`: adds local data to a branch. Folders follow
 * rsync: `./data` puts the folder itself (`path/data/...`), `./data/` puts its contents
 * (`path/...`).
 */
import { invalidArgument, joinPath, type ModifyResult, type PutOptions } from '../../store/index.js'
import { defineCommand, type GlobalArgs } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { RUN_OPTION } from '../cli/run-option.js'
import { parseAddress, needBranch, formatAddress, type Address } from '../cli/address.js'
import { statLocal, localName } from '../cli/local-path.js'
import { progressLine } from '../cli/progress.js'
import { STDIN } from '../cli/dash.js'
import { json, line, shortId } from '../cli/output.js'

interface Put { path: string, result: ModifyResult }

export default defineCommand({
  command: 'put <dest> <source>',
  describe: 'add a local file or folder (or stdin) to a branch',
  builder: y => y
    .positional('dest', {
      type: 'string', demandOption: true, describe: 'repo@branch[:path]; a path ending in / is a folder to put into'
    })
    .positional('source', {
      type: 'string',
      demandOption: true,
      describe: "local file or folder, or '-' for stdin; a folder ending in / puts its contents (as rsync does)"
    })
    .option('message', { alias: 'm', type: 'string', describe: 'commit message (when no write session is open)' })
    .option('run', RUN_OPTION)
    .example('pfs put images@master ./cats', 'the folder becomes images@master:cats')
    .example('pfs put images@master:train/ ./cats/', 'the files in cats/ land in train/')
    .example('pfs put images@master:raw/ cat.png', 'becomes raw/cat.png')
    .example('curl -s URL | pfs put images@master:dl/page.html -', 'from stdin'),
  handler: async argv => {
    const a = parseAddress(argv.dest)
    const branch = needBranch(a)
    const opts = { message: argv.message }
    const progress = progressLine(argv)
    try {
      const stdin = argv.source === STDIN
      const res = stdin
        ? await putStdin(argv, a, branch, opts)
        : await putLocal(argv, a, branch, argv.source, { ...opts, onProgress: progress.onProgress })
      progress.end()
      if (argv.json) return await json(res.result)
      const state = res.result.finished ? 'committed' : 'in open commit'
      const to = formatAddress(a.repo, branch, res.path === '' ? '/' : res.path)
      await line(`${stdin ? 'stdin' : argv.source} -> ${to} (${state} ${shortId(res.result.commit.id)})`)
    } finally {
      progress.end()
    }
  }
})

async function putStdin (
  argv: GlobalArgs & { run?: boolean }, a: Address, branch: string, opts: PutOptions
): Promise<Put> {
  if (a.path === undefined || a.dirOnly) {
    const example = `pfs put ${a.repo}@${branch}:<path> -`
    throw invalidArgument(`reading stdin needs the file's path: ${example}`, { address: a.text })
  }
  const path = a.path
  const result = await withPfs(argv, pfs => pfs.putFile(a.repo, branch, path, process.stdin, opts),
    { runJobs: argv.run !== false })
  return { path, result }
}

async function putLocal (
  argv: GlobalArgs & { run?: boolean }, a: Address, branch: string, source: string, opts: PutOptions): Promise<Put> {
  const st = await statLocal(source)
  const contents = st.isDirectory() && /\/\.?$/.test(source)
  const path = contents || !a.dirOnly ? a.path ?? '' : joinPath(a.path ?? '', localName(source))
  const result = await withPfs(argv, pfs => pfs.putLocal(a.repo, branch, path, source, opts),
    { runJobs: argv.run !== false })
  return { path, result }
}
