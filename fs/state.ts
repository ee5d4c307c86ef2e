/**
 * What every group of mount operations shares: the store, the caches of what paths name
 * (views), the open files (spools), the sessions this mount changed, and how a path
 * becomes a view of a rev at one moment. Callbacks run on Node's event loop: nothing here
 * blocks it.
 */
import Fuse from 'fuse-native'
import { type Pfs, type Resolved, type WriteOp, isPfsError, isCommitPrefix } from '../store/index.js'
import { parseMountPath, type ViewPath } from './paths.js'
import { Views } from './views.js'
import { Spools, type Spool } from './spools.js'
import { Sessions } from './sessions.js'
import { S_ISGID, type Owner, type Stat } from './attrs.js'
import { Errno } from './errno.js'

/** A rev resolved for a mount path: the tree to read, and the branch writes go to (if any). */
export interface View { repo: string, r: Resolved, branch: string | null, path: string }
export type WritableView = View & { branch: string }

export interface FsOptions {
  spoolDir: string
  /** Folder whose file system statfs reports (the store). */
  statfsPath: string
  /** Commit a branch's session after this long with no open writer and no change. */
  idleCommitMs?: number
  log: (msg: string) => void
}

export class MountState {
  readonly views: Views
  readonly spools: Spools
  readonly sessions: Sessions
  /** Files libfuse hid while open: mount path -> their attributes, for fgetattr. */
  readonly hidden = new Map<string, () => Stat>()
  readonly ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }
  private repoCache: { names: Set<string>, at: number } | undefined

  constructor (readonly pfs: Pfs, readonly opts: FsOptions) {
    this.views = new Views(pfs)
    this.spools = new Spools(pfs, opts.spoolDir, (repo, branch) => this.changed(repo, branch), opts.log)
    this.sessions = new Sessions(pfs, {
      idleCommitMs: opts.idleCommitMs,
      log: opts.log,
      hasOpen: (repo, branch) => this.spools.hasOpen(repo, branch),
      committed: repo => this.views.invalidate(repo)
    })
  }

  /** Repo names, cached for a second (`fresh` asks the store). */
  async repos (fresh = false): Promise<Set<string>> {
    if (fresh || this.repoCache === undefined || Date.now() - this.repoCache.at > 1000) {
      this.repoCache = { names: new Set((await this.pfs.listRepos()).map(r => r.name)), at: Date.now() }
    }
    return this.repoCache.names
  }

  async view (mp: ViewPath): Promise<View> {
    if (mp.history && !isCommitPrefix(mp.rev)) throw new Errno(Fuse.ENOENT)
    // A name that is not a rev at all (`ls /pfs/r/a{b`) is simply not there.
    const r = await this.views.resolve(mp.repo, mp.rev).catch(e => {
      throw isPfsError(e, 'INVALID_ARGUMENT') ? new Errno(Fuse.ENOENT) : e
    })
    return { repo: mp.repo, r, branch: mp.history ? null : r.branch, path: mp.path }
  }

  async viewOf (p: string): Promise<View> {
    const mp = parseMountPath(p)
    if (mp.kind === 'provenance') throw new Errno(Fuse.EROFS)
    if (mp.kind !== 'view') throw new Errno(Fuse.EPERM)
    return await this.view(mp)
  }

  /**
   * The view at a path and the spool open there, as of one moment. An upload that lands
   * while the view is being resolved invalidates the views and then drops its spool:
   * pairing "no spool" with the tree from before that upload would give the kernel an
   * old size (an O_APPEND write then lands at the old end of the file) or a writer an
   * old base (a lost update). So a view resolved across an invalidation is resolved again.
   */
  async current (p: string): Promise<{ v: View, spool: Spool | undefined }> {
    for (;;) {
      const generation = this.views.generation
      const v = await this.viewOf(p)
      const spool = v.branch === null ? undefined : this.spools.get(v.repo, v.branch, v.path)
      if (spool !== undefined || generation === this.views.generation) return { v, spool }
    }
  }

  /** A view whose changes go to a branch, or EROFS (history) / EPERM (the branch folder itself). */
  async writable (p: string): Promise<WritableView> {
    const v = await this.viewOf(p)
    if (v.branch === null) throw new Errno(Fuse.EROFS)
    if (v.path === '') throw new Errno(Fuse.EPERM)
    return v as WritableView
  }

  /** Something outside this mount changed a repo (the embedded engine tells us at once). */
  invalidate (repo: string): void {
    this.views.invalidate(repo)
    this.repoCache = undefined
  }

  /** This mount changed a branch: its views are stale, its session is ours to commit. */
  changed (repo: string, branch: string): void {
    this.views.invalidate(repo)
    this.sessions.changed(repo, branch)
  }

  /**
   * The owner a new entry at `v` records: its creator (`who`, the FUSE caller), and the
   * folder's group when the folder is set-group-ID, as on a disk. The mounting user is
   * recorded as no owner (absent fields are the mounting user), so a laptop's own files
   * stay its user's wherever the store is mounted.
   */
  async newOwner (v: WritableView, who: Owner | undefined): Promise<{ uid?: number, gid?: number, setgid: boolean }> {
    const uid = who?.uid ?? this.ids.uid
    let gid = who?.gid ?? this.ids.gid
    const cut = v.path.lastIndexOf('/')
    const parent = cut < 0 ? null : await this.views.stat(v.repo, v.r.root, v.path.slice(0, cut))
    const setgid = parent !== null && (parent.mode & S_ISGID) !== 0
    if (parent !== null && setgid) gid = parent.gid ?? this.ids.gid
    return {
      uid: uid === this.ids.uid ? undefined : uid,
      gid: gid === this.ids.gid ? undefined : gid,
      setgid
    }
  }

  async apply (v: WritableView, ops: WriteOp[]): Promise<void> {
    await this.pfs.apply(v.repo, v.branch, ops, { keepOpen: true })
    this.changed(v.repo, v.branch)
  }
}
