/**
 * What the mount knows about the store, cached the way the data allows:
 * - a rev resolves to a root tree; branch heads and relative revs move, so a resolution
 *   lives `ttlMs` (and is dropped at once after this mount's own writes); a finished
 *   commit named by its full id never changes, so that one lives forever;
 * - stats and folder listings are keyed by root tree hash, which is immutable, so they
 *   are never stale — a new branch state is simply a new root.
 */
import { LRUCache } from 'lru-cache'
import { type Pfs, type FileInfo, type Resolved, isPfsError, isCommitId } from '../store/index.js'

const LIST_PAGE = 10_000
const NONE = { none: true } as const

export class Views {
  private readonly resolved = new Map<string, { r: Resolved, at: number }>()
  // Bounded by count through maxSize, not max: `max` preallocates its slots, and a big
  // live heap makes V8 answer the write path's Buffer churn with full GCs (measured).
  /** NONE: nothing at that path. */
  private readonly stats = new LRUCache<string, FileInfo | typeof NONE>({ maxSize: 200_000, sizeCalculation: () => 1 })
  private readonly dirs = new LRUCache<string, string[]>({ maxSize: 2_000, sizeCalculation: () => 1 })
  private invalidations = 0

  constructor (readonly pfs: Pfs, private readonly ttlMs = 1000) {}

  /** Bumped by every invalidate: a resolution fetched across one may predate the change. */
  get generation (): number { return this.invalidations }

  async resolve (repo: string, rev: string): Promise<Resolved> {
    const key = `${repo}\0${rev}`
    const hit = this.resolved.get(key)
    if (hit !== undefined && (hit.at < 0 || Date.now() - hit.at < this.ttlMs)) return hit.r
    const generation = this.generation
    const r = await this.pfs.resolve(repo, rev)
    const forever = isCommitId(rev) && r.commit?.finished != null
    // Cached only if nothing changed meanwhile; otherwise an open right after a close
    // could be served the state before it (a stale or, with the kernel's newer size, torn file).
    if (forever || generation === this.generation) this.resolved.set(key, { r, at: forever ? -1 : Date.now() })
    return r
  }

  /** Forget resolutions of a repo (after this mount changed it, or a repo/branch appeared). */
  invalidate (repo?: string): void {
    this.invalidations++
    if (repo === undefined) { this.resolved.clear(); return }
    for (const key of this.resolved.keys()) if (key.startsWith(`${repo}\0`)) this.resolved.delete(key)
  }

  /** The entry at `path` under `root`, or null. */
  async stat (repo: string, root: string, path: string): Promise<FileInfo | null> {
    const key = `${root}\0${path}`
    const hit = this.stats.get(key)
    if (hit !== undefined) return 'none' in hit ? null : hit
    let info: FileInfo | null
    try {
      info = await this.pfs.stat(repo, `tree:${root}`, path)
    } catch (e) {
      if (!(isPfsError(e, 'NOT_FOUND') || isPfsError(e, 'NOT_A_DIRECTORY'))) throw e
      info = null
    }
    this.stats.set(key, info ?? NONE)
    return info
  }

  /** Names in a folder, read page by page from the tree once per tree state. */
  async list (repo: string, root: string, path: string): Promise<string[]> {
    const key = `${root}\0${path}`
    const hit = this.dirs.get(key)
    if (hit !== undefined) return hit
    const names: string[] = []
    let after: string | undefined
    do {
      const page = await this.pfs.list(repo, `tree:${root}`, path, { after, limit: LIST_PAGE })
      for (const e of page.entries) {
        names.push(e.name)
        this.stats.set(`${root}\0${e.path}`, e)
      }
      after = page.next
    } while (after !== undefined)
    this.dirs.set(key, names)
    return names
  }
}
