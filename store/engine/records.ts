/** The index records the engine's parts read most, each a NOT_FOUND that says what to do. */
import type * as M from '../api/meta.js'
import { notFound } from '../api/errors.js'
import { type Db, type RepoRec, type BranchRec, type CommitRec, k } from './index-db.js'

export async function repoRec (db: Db, name: string): Promise<RepoRec> {
  const rec = await db.get(k('repo', name)) as RepoRec | undefined
  if (rec === undefined) throw notFound('repo', name, 'see `pfs repo list`')
  return rec
}

export async function branchRec (db: Db, repo: string, name: string): Promise<BranchRec> {
  await repoRec(db, repo)
  const rec = await db.get(k('br', repo, name)) as BranchRec | undefined
  if (rec === undefined) throw notFound('branch', `${repo}@${name}`, `see \`pfs branch list ${repo}\``)
  return rec
}

export async function commitRec (db: Db, id: string): Promise<CommitRec> {
  const rec = await db.get(k('c', id)) as CommitRec | undefined
  if (rec === undefined) throw notFound('commit', id)
  return rec
}

export function branchInfo (repo: string, name: string, rec: BranchRec): M.BranchInfo {
  return { repo, name, head: rec.head, open: rec.open, created: rec.created }
}

export function publicCommit (rec: CommitRec): M.CommitInfo {
  const { obj: _obj, ...info } = rec
  return info
}

