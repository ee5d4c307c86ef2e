/**
 * `pfs log images` and `pfs ls images` read `master` when the repo has one; otherwise the
 * user must say which branch, and the error lists them.
 */
import { invalidArgument, type Pfs } from '../../store/index.js'
import type { Address } from './address.js'

const DEFAULT_BRANCH = 'master'

export async function revOrDefault (pfs: Pfs, a: Address, verb: string): Promise<string> {
  if (a.rev !== undefined) return a.rev
  const repo = await pfs.inspectRepo(a.repo)
  if (repo.branches.includes(DEFAULT_BRANCH)) return DEFAULT_BRANCH
  const list = repo.branches.length > 0 ? ` (branches: ${repo.branches.join(', ')})` : ' (it has no branches yet)'
  const hint = `name one: pfs ${verb} ${a.repo}@<branch>${list}`
  throw invalidArgument(`repo '${a.repo}' has no branch '${DEFAULT_BRANCH}'; ${hint}`, { repo: a.repo })
}
