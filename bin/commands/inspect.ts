/**
 * `pfs inspect repo@rev`: everything about one commit, with full ids.
 * `pfs inspect repo@rev:path`: one file or folder of it.
 */
import type { CommitInfo, FileInfo, Provenance } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress } from '../cli/address.js'
import { revOrDefault } from '../cli/default-rev.js'
import { json, fields, size, time, modeString } from '../cli/output.js'

export default defineCommand({
  command: 'inspect <rev>',
  describe: 'show a commit (id, parent, times, size, provenance), or a file of one',
  builder: y => y
    .positional('rev', { type: 'string', demandOption: true, describe: 'repo@rev[:path]' })
    .example('pfs inspect images@master', 'the newest commit of master')
    .example('pfs inspect images@3f2a9c1e:cats/1.png', 'a file of a commit named by an id prefix'),
  handler: async argv => {
    const a = parseAddress(argv.rev)
    const result = await withPfs(argv, async pfs => {
      const rev = await revOrDefault(pfs, a, 'inspect')
      return a.path === undefined ? await pfs.inspectCommit(a.repo, rev) : await pfs.stat(a.repo, rev, a.path)
    })
    if (argv.json) return await json(result)
    await fields('root' in result ? commitFields(result) : fileFields(result))
  }
})

function commitFields (c: CommitInfo): Array<[string, string]> {
  return [
    ['commit', c.id],
    ['repo', c.repo],
    ['branch', c.branch],
    ['parent', c.parent ?? '-'],
    ['message', c.message.replace(/\n/g, '\n' + ' '.repeat(11))],
    ['started', time(c.started)],
    ['finished', c.finished === null ? 'open' : time(c.finished)],
    ['size', size(c.size)],
    ['origin', c.origin],
    ['provenance', provenance(c.provenance)]
  ]
}

function fileFields (f: FileInfo): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['path', f.path === '' ? '/' : f.path],
    ['kind', f.kind],
    ['size', `${size(f.size)} (${f.size} bytes)`],
    ['mode', `${modeString(f.kind, f.mode)} (${f.mode.toString(8).padStart(4, '0')})`],
    ['modified', time(f.mtime)],
    ['hash', f.hash],
    ['commit', f.commit ?? '-']
  ]
  if (f.count !== undefined) out.push(['entries', String(f.count)])
  if (f.target !== undefined) out.push(['target', f.target])
  return out
}

function provenance (p: Provenance): string {
  const parts = p.inputs.map(i => `${i.repo}@${i.commit}${i.branch ? ` (${i.branch})` : ''}`)
  if (p.pipeline) parts.push(`pipeline ${p.pipeline.name} v${p.pipeline.version}`)
  if (p.job) parts.push(`job ${p.job}`)
  return parts.length === 0 ? '-' : parts.join(', ')
}
