/**
 * `pfs provenance repo@rev`: the whole upstream graph of a commit (the input commits of
 * the job that made it, theirs, and so on back to user commits), as a tree or `--json`.
 * `pfs subvenance repo@rev`: the whole downstream graph: every output commit of a job that
 * read it, and theirs.
 */
import type { CommitInfo, JobInfo, Pfs } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { parseAddress } from '../cli/address.js'
import { revOrDefault } from '../cli/default-rev.js'
import { json, line, shortId } from '../cli/output.js'
import { allJobs } from '../cli/jobs.js'

interface Node {
  repo: string
  commit: string
  origin: string
  pipeline?: string
  job?: string
  failed?: boolean
  of: Node[]
}

function node (c: CommitInfo, of: Node[]): Node {
  const n: Node = { repo: c.repo, commit: c.id, origin: c.origin, of }
  if (c.provenance.pipeline !== undefined) n.pipeline = c.provenance.pipeline.name
  if (c.provenance.job !== undefined) n.job = c.provenance.job
  if (c.failed === true) n.failed = true
  return n
}

async function upstream (pfs: Pfs, c: CommitInfo, seen: Set<string>): Promise<Node> {
  seen.add(c.id)
  const of: Node[] = []
  for (const i of c.provenance.inputs) {
    if (seen.has(i.commit)) continue
    of.push(await upstream(pfs, await pfs.inspectCommit(i.repo, i.commit), seen))
  }
  return node(c, of)
}

async function downstream (pfs: Pfs, c: CommitInfo, jobs: JobInfo[], seen: Set<string>): Promise<Node> {
  seen.add(c.id)
  const of: Node[] = []
  for (const j of jobs) {
    if (j.output === null || seen.has(j.output) || !j.inputs.some(i => i.commit === c.id)) continue
    if (j.state !== 'success' && j.state !== 'failure') continue
    of.push(await downstream(pfs, await pfs.inspectCommit(j.pipeline, j.output), jobs, seen))
  }
  return node(c, of)
}

async function printTree (n: Node, indent = ''): Promise<void> {
  const what = n.pipeline !== undefined ? ` (pipeline ${n.pipeline}, job ${shortId(n.job)})` : ` (${n.origin})`
  await line(`${indent}${n.repo}@${n.commit}${what}${n.failed === true ? ' failed' : ''}`)
  for (const c of n.of) await printTree(c, indent + '  ')
}

const graph = (command: 'provenance' | 'subvenance', describe: string) => defineCommand({
  command: `${command} <rev>`,
  describe,
  builder: y => y
    .positional('rev', { type: 'string', demandOption: true, describe: 'repo@rev' })
    .example(`pfs ${command} model@master`, ''),
  handler: async argv => {
    const a = parseAddress(argv.rev)
    const tree = await withPfs(argv, async pfs => {
      const c = await pfs.inspectCommit(a.repo, await revOrDefault(pfs, a, command))
      if (command === 'provenance') return await upstream(pfs, c, new Set())
      return await downstream(pfs, c, (await allJobs(pfs)).reverse(), new Set())
    })
    if (argv.json) return await json(tree)
    await printTree(tree)
  }
})

export const provenance = graph('provenance', 'show where a commit came from: every input commit upstream of it')
export const subvenance = graph('subvenance', 'show what came of a commit: every output commit downstream of it')
