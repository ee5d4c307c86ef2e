/**
 * `pfs diff repo@revA [repo@revB]`: what changed, like `git diff --name-status`. One rev:
 * against its parent. Two: from A to B. A path on the first address narrows it.
 */
import { invalidArgument, type Change } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress, needRev } from '../cli/address.js'
import { json, line, size } from '../cli/output.js'

const LETTER: Record<Change['change'], string> = { added: 'A', changed: 'M', removed: 'D' }

export default defineCommand({
  command: 'diff <from> [to]',
  describe: 'list added (A), changed (M) and removed (D) paths between two commits',
  builder: y => y
    .positional('from', {
      type: 'string', demandOption: true, describe: 'repo@rev[:path]; alone: compared with its parent'
    })
    .positional('to', { type: 'string', describe: 'repo@rev of the same repo' })
    .option('long', { alias: 'l', type: 'boolean', default: false, describe: 'also show sizes before and after' })
    .example('pfs diff images@master', 'what the last commit changed')
    .example('pfs diff images@master~5 images@master -l', 'five commits of changes, with sizes'),
  handler: async argv => {
    const a = parseAddress(argv.from)
    const b = argv.to === undefined ? undefined : parseAddress(argv.to)
    if (b !== undefined && b.repo !== a.repo) {
      throw invalidArgument(`diff compares two revs of one repo, not '${a.repo}' and '${b.repo}'`)
    }
    const revA = needRev(a)
    const [from, to] = b === undefined ? [null, revA] : [revA, needRev(b)]
    const path = a.path || b?.path || undefined
    const changes = await withPfs(argv, pfs => pfs.diff(a.repo, from, to, { path }))
    if (argv.json) return await json(changes)
    for (const c of changes) {
      const name = c.path + (c.kind === 'dir' ? '/' : '')
      await line(argv.long ? `${LETTER[c.change]}\t${sizes(c).padEnd(24)}\t${name}` : `${LETTER[c.change]}\t${name}`)
    }
  }
})

/** `12 B` for an added or removed path, `12 B -> 1.50 KiB` for a changed one. */
function sizes (c: Change): string {
  const show = (n: number | undefined): string => n === undefined ? '-' : size(n)
  if (c.change === 'added') return show(c.sizeAfter)
  if (c.change === 'removed') return show(c.sizeBefore)
  return `${show(c.sizeBefore)} -> ${show(c.sizeAfter)}`
}
