/**
 * The write sessions this mount changed: which branches, their idle-commit timers, and
 * committing them all on a clean unmount. A session is a branch's open commit in the
 * store; this only remembers which ones this mount should close.
 */
import { type Pfs, isPfsError } from '../store/index.js'

export interface SessionOptions {
  /** Commit a branch's session after this long with no open writer and no change. */
  idleCommitMs?: number
  log: (msg: string) => void
  /** True while files of the branch are open for writing (the idle timer waits). */
  hasOpen: (repo: string, branch: string) => boolean
  /** Called after this mount committed a branch (its views are stale). */
  committed: (repo: string) => void
}

export class Sessions {
  /** Branches this mount changed: `repo\0branch`. */
  private readonly touched = new Set<string>()
  private readonly idle = new Map<string, NodeJS.Timeout>()

  constructor (private readonly pfs: Pfs, private readonly opts: SessionOptions) {}

  /** A change went into the branch's session: remember it, restart its idle timer. */
  changed (repo: string, branch: string): void {
    const key = `${repo}\0${branch}`
    this.touched.add(key)
    const ms = this.opts.idleCommitMs
    if (ms === undefined) return
    clearTimeout(this.idle.get(key))
    this.idle.set(key, setTimeout(() => { void this.idleCommit(repo, branch) }, ms).unref())
  }

  private async idleCommit (repo: string, branch: string): Promise<void> {
    const key = `${repo}\0${branch}`
    if (this.opts.hasOpen(repo, branch)) { this.changed(repo, branch); return }
    this.idle.delete(key)
    try {
      const seconds = Math.round((this.opts.idleCommitMs ?? 0) / 1000)
      await this.pfs.finishCommit(repo, branch, { message: `idle commit after ${seconds}s` })
      this.touched.delete(key)
      this.opts.committed(repo)
    } catch (e) {
      if (!isPfsError(e, 'CONFLICT')) {
        this.opts.log(`pfs mount: idle commit of ${repo}@${branch} failed: ${(e as Error).message}`)
      }
    }
  }

  /** Commits every session this mount changed; returns `repo@branch <id>` of each commit. */
  async commitAll (message: string): Promise<string[]> {
    for (const t of this.idle.values()) clearTimeout(t)
    const done: string[] = []
    for (const key of [...this.touched]) {
      const [repo, branch] = key.split('\0')
      try {
        const c = await this.pfs.finishCommit(repo, branch, { message })
        done.push(`${repo}@${branch} ${c.id.slice(0, 12)}`)
        this.touched.delete(key)
      } catch (e) {
        // CONFLICT: already committed (pfs commit). Anything else stays open and is said.
        if (isPfsError(e, 'CONFLICT')) this.touched.delete(key)
        else {
          const why = (e as Error).message
          this.opts.log(`pfs mount: could not commit ${repo}@${branch}: ${why}; its write session stays open`)
        }
      }
    }
    return done
  }
}
