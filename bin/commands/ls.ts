/**
 * `pfs ls repo@rev[:path] [-l] [-r]`: a folder's entries, page by page, so a folder of
 * millions of files prints at once and never sits in memory.
 */
import type { FileInfo, Page } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress } from '../cli/address.js'
import { revOrDefault } from '../cli/default-rev.js'
import { jsonArray, line, modeString, size, time } from '../cli/output.js'

const PAGE = 1000

export default defineCommand({
  command: 'ls <folder>',
  describe: 'list the files of a folder of a commit',
  builder: y => y
    .positional('folder', { type: 'string', demandOption: true, describe: 'repo[@rev][:path]; rev defaults to master' })
    .option('long', {
      alias: 'l', type: 'boolean', default: false, describe: 'show mode, size, modification time and kind'
    })
    .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'everything below the folder' })
    .example('pfs ls images@master:cats -l', '')
    .example('pfs ls images@master~3 -r', 'every file, as of three commits ago'),
  handler: async argv => {
    const a = parseAddress(argv.folder)
    const base = a.path ?? ''
    await withPfs(argv, async pfs => {
      const rev = await revOrDefault(pfs, a, 'ls')
      const out = printer(argv.json, argv.long, base)
      const info = await pfs.stat(a.repo, rev, base)
      if (info.kind !== 'dir') {
        await out.entry(info)
      } else {
        const page = (after?: string): Promise<Page<FileInfo>> => argv.recursive
          ? pfs.walk(a.repo, rev, base, { after, limit: PAGE })
          : pfs.list(a.repo, rev, base, { after, limit: PAGE })
        let after: string | undefined
        do {
          const p = await page(after)
          for (const e of p.entries) await out.entry(e)
          after = p.next
        } while (after !== undefined)
      }
      await out.end()
    })
  }
})

interface Printer { entry (e: FileInfo): Promise<void>, end (): Promise<void> }

function printer (asJson: boolean, long: boolean, base: string): Printer {
  if (asJson) {
    const arr = jsonArray()
    return { entry: e => arr.push(e), end: () => arr.end() }
  }
  return {
    entry: async e => {
      const name = relative(e, base) + (e.kind === 'dir' ? '/' : '')
      if (!long) return await line(name)
      const target = e.kind === 'symlink' && e.target !== undefined ? ` -> ${e.target}` : ''
      const attrs = `${modeString(e.kind, e.mode)}  ${size(e.size).padStart(10)}  ${time(e.mtime)}  ${e.kind.padEnd(8)}`
      await line(`${attrs}  ${name}${target}`)
    },
    end: async () => {}
  }
}

/** Paths below the listed folder, as `find` shows them; a file listed by itself keeps its name. */
function relative (e: FileInfo, base: string): string {
  if (base !== '' && e.path.startsWith(base + '/')) return e.path.slice(base.length + 1)
  if (base === '' && e.path !== '') return e.path
  return e.name
}
