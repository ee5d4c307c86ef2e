/** Disk usage: logical sizes per repo, distinct chunk bytes, bytes in the object store. */
import type { DuReport } from '../../api/meta.js'
import { type ObjRec, type PackRec, type BranchRec, type RepoRec, k, range } from '../index-db.js'
import { repoRec, commitRec } from '../records.js'
import type { Core } from '../core.js'
import { markReachable } from './reachable.js'

export async function diskUsage (e: Pick<Core, 'db' | 'nodes'>, opts: { repo?: string }): Promise<DuReport> {
  const repos: RepoRec[] = []
  if (opts.repo !== undefined) repos.push(await repoRec(e.db, opts.repo))
  else for await (const [, r] of range<RepoRec>(e.db, 'repo')) repos.push(r)
  const out: DuReport = { repos: [], uniqueBytes: 0, storedBytes: 0, objects: 0 }
  for (const r of repos) {
    let commits = 0
    for await (const _ of range(e.db, k('cid', r.name))) commits++
    let size = 0
    const seen = new Set<string>()
    for await (const [, b] of range<BranchRec>(e.db, k('br', r.name))) {
      const id = b.open ?? b.head
      if (id !== null && !seen.has(id)) { seen.add(id); size += (await commitRec(e.db, id)).size }
    }
    out.repos.push({ name: r.name, size, commits })
  }
  out.uniqueBytes = (await markReachable(e)).chunkBytes
  for await (const [, pk] of range<PackRec>(e.db, 'pk')) out.storedBytes += pk.bytes
  for await (const [, o] of range<ObjRec>(e.db, 'o')) {
    out.objects++
    if (!o[0].startsWith('packs/')) out.storedBytes += o[2]
  }
  return out
}
