/**
 * `pfs get repo@rev:path [-o dest]`: a file to stdout or `dest`; a folder to `dest`, or
 * to a folder of its own name in the current directory.
 */
import path from 'node:path'
import { invalidArgument } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress, needRev, needPath } from '../cli/address.js'
import { statMaybe, checkDestination } from '../cli/local-path.js'
import { progressLine } from '../cli/progress.js'
import { json, line, size, toStdout } from '../cli/output.js'

export default defineCommand({
  command: 'get <source>',
  describe: 'copy a file or folder of a commit to a local path (a file to stdout without -o)',
  builder: y => y
    .positional('source', { type: 'string', demandOption: true, describe: 'repo@rev:path' })
    .option('output', {
      alias: 'o',
      type: 'string',
      describe: 'local destination: the folder to fill, or the file to write ' +
        '(an existing folder: put the file inside it)'
    })
    .example('pfs get images@master:cats -o ./cats', 'a whole folder')
    .example('pfs get images@master~1:labels.csv > old.csv', 'a file, as it was one commit ago'),
  handler: async argv => {
    if (argv.output === '') {
      throw invalidArgument("-o '' names no local path; give a file or folder, " +
        'or leave -o out to write a file to stdout')
    }
    const a = parseAddress(argv.source)
    const rev = needRev(a, `${a.repo}@master:${a.path ?? '<path>'}`)
    const src = needPath(a, { root: true })
    await withPfs(argv, async pfs => {
      const info = await pfs.stat(a.repo, rev, src)
      if (info.kind === 'file' && argv.output === undefined) {
        return await toStdout(await pfs.readStream(a.repo, rev, src))
      }
      const name = src === '' ? a.repo : path.posix.basename(src)
      const dest = await destination(argv.output, name, info.kind === 'dir')
      await checkDestination(dest, info.kind === 'dir')
      const progress = progressLine(argv)
      let res
      try {
        res = await pfs.getLocal(a.repo, rev, src, dest, { onProgress: progress.onProgress })
      } finally {
        progress.end()
      }
      if (argv.json) return await json(res)
      await line(`wrote ${res.files} file${res.files === 1 ? '' : 's'} (${size(res.bytes)}) to ${dest}`)
      if (res.skipped > 0) {
        await line(`skipped ${res.skipped} special file${res.skipped === 1 ? '' : 's'}: sockets are not copied ` +
          '(as tar does), and device nodes need root')
      }
    })
  }
})

/**
 * No -o: `./<name>`. A folder's contents go to -o itself (so running get again refreshes
 * it); a file given an existing folder goes inside it, like cp.
 */
async function destination (output: string | undefined, name: string, isDir: boolean): Promise<string> {
  if (output === undefined) return name
  if (isDir) return output
  const st = await statMaybe(output)
  return st?.isDirectory() === true ? path.join(output, name) : output
}
