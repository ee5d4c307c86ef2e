/**
 * A job's output commit: a write session on the pipeline's output branch that only this
 * job may write. Datums add their `/pfs/out` to it as they end; reused datums are copied
 * (no chunk is copied) from the commit that holds them; outputs of datums that are gone
 * or changed are removed, and the folders that leaves empty go too.
 */
import pLimit from 'p-limit'
import type { JobInfo, Pfs, WriteOp } from '../store/index.js'
import { isPfsError } from '../store/index.js'

const BATCH = 5000

export class OutputSession {
  private constructor (
    private readonly pfs: Pfs, readonly repo: string, readonly branch: string, private readonly job: string,
    /** The open commit. */
    readonly id: string
  ) {}

  /** The job's session: resumed if it is the job's own, else a new one on the branch head. */
  static async open (pfs: Pfs, job: JobInfo, repo: string, branch: string): Promise<OutputSession> {
    let br = await pfs.inspectBranch(repo, branch).catch((e: unknown) => {
      if (isPfsError(e, 'NOT_FOUND')) return undefined
      throw e
    })
    if (br?.open != null && br.open !== job.output) {
      // A session another job left open: kept as a failed commit (datums it recorded may be
      // reused from it), and this job starts afresh.
      await pfs.finishCommit(repo, branch, { job: job.id, failed: true, message: 'left open by an unfinished job' })
      br = await pfs.inspectBranch(repo, branch)
    }
    const id = br?.open ?? (await pfs.startCommit(repo, branch, { job: job.id, message: `job ${job.id}` })).id
    return new OutputSession(pfs, repo, branch, job.id, id)
  }

  async apply (ops: WriteOp[]): Promise<void> {
    for (let i = 0; i < ops.length; i += BATCH) {
      await this.pfs.apply(this.repo, this.branch, ops.slice(i, i + BATCH), { job: this.job })
    }
  }

  /** Adds a datum's output folder. */
  async add (dir: string): Promise<void> {
    await this.pfs.putLocal(this.repo, this.branch, '', dir, { keepOpen: true, job: this.job })
  }

  /** Removes files (those not there are no error). */
  async remove (paths: Iterable<string>): Promise<void> {
    await this.apply([...paths].map(path => ({ op: 'delete', path, force: true })))
  }

  /** Removes every file no datum of the job wrote, and the folders left empty (a full plan). */
  async keepOnly (owned: ReadonlySet<string>): Promise<void> {
    const stale: string[] = []
    for await (const f of this.walk()) if (f.kind !== 'dir' && !owned.has(f.path)) stale.push(f.path)
    await this.remove(stale)
    await this.dropEmptyFolders(stale)
  }

  /** After files were removed: their folders that are now empty go, deepest first. */
  async dropEmptyFolders (removed: Iterable<string>): Promise<void> {
    const dirs = new Set<string>()
    for (const p of removed) {
      for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) dirs.add(p.slice(0, i))
    }
    const gone = new Set<string>()
    const ops: WriteOp[] = []
    const deepestFirst = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1))
    for (const d of deepestFirst) {
      const info = await this.pfs.stat(this.repo, this.branch, d).catch(() => undefined)
      if (info?.kind !== 'dir') continue
      let left = info.count ?? 0
      for (const g of gone) if (g.startsWith(`${d}/`) && !g.slice(d.length + 1).includes('/')) left--
      if (left > 0) continue
      gone.add(d)
      ops.push({ op: 'delete', path: d, recursive: true, force: true })
    }
    // Ancestors are deleted with their children: only the topmost delete is needed.
    await this.apply(ops.filter(op => !gone.has(parentOf((op as { path: string }).path))))
  }

  private async * walk (): AsyncGenerator<{ path: string, kind: string }> {
    let after: string | undefined
    do {
      const page = await this.pfs.walk(this.repo, this.branch, '', { after, limit: 10_000 })
      yield * page.entries
      after = page.next
    } while (after !== undefined)
  }
}

const parentOf = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf('/')))

/** Which of these paths a commit holds (stat'd a few at a time). */
export async function presentIn (pfs: Pfs, repo: string, commit: string, paths: string[]): Promise<string[]> {
  const limit = pLimit(16)
  const found = await Promise.all(paths.map(async p => await limit(async () => {
    try {
      await pfs.stat(repo, commit, p)
      return p
    } catch (e) {
      if (isPfsError(e, 'NOT_FOUND')) return undefined
      throw e
    }
  })))
  return found.filter((p): p is string => p !== undefined)
}
