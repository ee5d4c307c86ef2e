/** Job ids as users type them: the full 32 hex digits, or a prefix `pfs job list` shows. */
import type { JobInfo, Pfs } from '../../store/index.js'
import { PfsError, invalidArgument, notFound } from '../../store/index.js'

/** Every job, newest first (paged from the store). */
export async function allJobs (pfs: Pfs): Promise<JobInfo[]> {
  const jobs: JobInfo[] = []
  let after: string | undefined
  do {
    const page = await pfs.listJobs({ after, limit: 10_000 })
    jobs.push(...page.entries)
    after = page.next
  } while (after !== undefined)
  return jobs
}

export async function resolveJob (pfs: Pfs, id: string): Promise<JobInfo> {
  if (/^[0-9a-f]{32}$/.test(id)) return await pfs.inspectJob(id)
  if (!/^[0-9a-f]{4,31}$/.test(id)) {
    throw invalidArgument(`'${id}' is not a job id: give 4 to 32 hex digits (see \`pfs job list\`)`)
  }
  const found: JobInfo[] = []
  let after: string | undefined
  do {
    const page = await pfs.listJobs({ after, limit: 10_000 })
    found.push(...page.entries.filter(j => j.id.startsWith(id)))
    after = page.next
  } while (after !== undefined && found.length < 2)
  if (found.length === 0) throw notFound('job', id, 'see `pfs job list`')
  if (found.length > 1) {
    throw new PfsError('AMBIGUOUS', `job id prefix '${id}' names more than one job; give more digits`, { id })
  }
  return found[0]!
}
