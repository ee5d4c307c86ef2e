/**
 * FUSE syscalls -> Pfs calls. Branch folders are writable (every change goes into the
 * branch's write session); everything else is history and read-only (EROFS).
 * Callbacks run on Node's event loop: nothing here blocks it.
 */
import Fuse from 'fuse-native'
import { statfs as statfsCb } from 'node:fs'
import { promisify } from 'node:util'
import type { Pfs } from '../store/pfs.js'
import type { Resolved, WriteOp } from '../store/meta.js'
import { PfsError } from '../store/errors.js'
import { parseMountPath, COMMITS, type MountPath } from './paths.js'
import { Views } from './views.js'
import { Spools, type Spool } from './spools.js'
import { makeStat, statOf, type Stat } from './attrs.js'
import { Errno } from './errno.js'
import type { FileReader } from '../store/file-reader.js'

const statfs = promisify(statfsCb)
const O_ACCMODE = 3
const O_TRUNC = 0o1000
const XATTRS = ['user.pfs.commit', 'user.pfs.repo', 'user.pfs.branch']
/** libfuse's name for a file unlinked or replaced while still open (see `hide`). */
const HIDDEN = /\/\.fuse_hidden[0-9a-f]{16}$/

/**
 * An open file. A reader in a branch folder (`root` set) follows the branch: the kernel
 * keeps one size and one content per file, so every read must see the file as it is now
 * (another writer's open spool, or the current tree), never a snapshot from open time.
 * History readers and files unlinked while open keep the snapshot they opened.
 */
type Handle = { spool: Spool, write: boolean } | { reader: FileReader, root?: string }
interface View { repo: string, r: Resolved, branch: string | null, path: string }

export interface FsOptions {
  spoolDir: string
  /** Folder whose file system statfs reports (the store). */
  statfsPath: string
  /** Commit a branch's session after this long with no open writer and no change. */
  idleCommitMs?: number
  log: (msg: string) => void
}

export class PfsFs {
  readonly views: Views
  readonly spools: Spools
  private readonly handles = new Map<number, Handle>()
  private nextFd = 10
  /** Branches this mount changed: `repo\0branch`. */
  readonly touched = new Set<string>()
  private readonly idle = new Map<string, NodeJS.Timeout>()
  /** Files libfuse hid while open: mount path -> their attributes, for fgetattr. */
  private readonly hidden = new Map<string, () => Stat>()
  private repoCache: { names: Set<string>, at: number } | undefined
  private readonly ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }

  constructor (readonly pfs: Pfs, private readonly opts: FsOptions) {
    this.views = new Views(pfs)
    this.spools = new Spools(pfs, opts.spoolDir, (repo, branch) => this.changed(repo, branch), opts.log)
  }

  // ---- state helpers ----
  private async repos (fresh = false): Promise<Set<string>> {
    if (fresh || this.repoCache === undefined || Date.now() - this.repoCache.at > 1000) {
      this.repoCache = { names: new Set((await this.pfs.listRepos()).map(r => r.name)), at: Date.now() }
    }
    return this.repoCache.names
  }

  private async view (mp: Extract<MountPath, { kind: 'view' }>, inCommits: boolean): Promise<View> {
    if (inCommits && !/^[0-9a-f]{4,32}$/.test(mp.rev)) throw new Errno(Fuse.ENOENT)
    // A name that is not a rev at all (`ls /pfs/r/a{b`) is simply not there.
    const r = await this.views.resolve(mp.repo, mp.rev).catch(e => {
      throw e instanceof PfsError && e.code === 'INVALID_ARGUMENT' ? new Errno(Fuse.ENOENT) : e
    })
    return { repo: mp.repo, r, branch: inCommits ? null : r.branch, path: mp.path }
  }

  private async viewOf (p: string): Promise<View> {
    const mp = parseMountPath(p)
    if (mp.kind !== 'view') throw new Errno(Fuse.EPERM)
    return await this.view(mp, p.split('/')[2] === COMMITS)
  }

  /**
   * The view at a path and the spool open there, as of one moment. An upload that lands
   * while the view is being resolved invalidates the views and then drops its spool:
   * pairing "no spool" with the tree from before that upload would give the kernel an
   * old size (an O_APPEND write then lands at the old end of the file) or a writer an
   * old base (a lost update). So a view resolved across an invalidation is resolved again.
   */
  private async current (p: string): Promise<{ v: View, spool: Spool | undefined }> {
    for (;;) {
      const generation = this.views.generation
      const v = await this.viewOf(p)
      const spool = v.branch === null ? undefined : this.spools.get(v.repo, v.branch, v.path)
      if (spool !== undefined || generation === this.views.generation) return { v, spool }
    }
  }

  /** A view whose changes go to a branch, or EROFS. */
  private async writable (p: string): Promise<View & { branch: string }> {
    const v = await this.viewOf(p)
    if (v.branch === null) throw new Errno(Fuse.EROFS)
    if (v.path === '') throw new Errno(Fuse.EPERM)
    return v as View & { branch: string }
  }

  /** Something outside this mount changed a repo (the embedded engine tells us at once). */
  invalidate (repo: string): void {
    this.views.invalidate(repo)
    this.repoCache = undefined
  }

  changed (repo: string, branch: string): void {
    this.views.invalidate(repo)
    const key = `${repo}\0${branch}`
    this.touched.add(key)
    if (this.opts.idleCommitMs === undefined) return
    clearTimeout(this.idle.get(key))
    this.idle.set(key, setTimeout(() => { void this.idleCommit(repo, branch) }, this.opts.idleCommitMs).unref())
  }

  private async idleCommit (repo: string, branch: string): Promise<void> {
    const key = `${repo}\0${branch}`
    if (this.spools.hasOpen(repo, branch)) { this.changed(repo, branch); return }
    this.idle.delete(key)
    try {
      await this.pfs.finishCommit(repo, branch, { message: `idle commit after ${Math.round((this.opts.idleCommitMs ?? 0) / 1000)}s` })
      this.touched.delete(key)
      this.views.invalidate(repo)
    } catch (e) {
      if (!(e instanceof PfsError && e.code === 'CONFLICT')) this.opts.log(`pfs mount: idle commit of ${repo}@${branch} failed: ${(e as Error).message}`)
    }
  }

  private async apply (v: View & { branch: string }, ops: WriteOp[]): Promise<void> {
    await this.pfs.apply(v.repo, v.branch, ops, { keepOpen: true })
    this.changed(v.repo, v.branch)
  }

  /** Uploads open files, then commits every session this mount changed. */
  async commitAll (message: string): Promise<string[]> {
    for (const s of this.spools.all()) await this.spools.upload(s).catch(e => this.opts.log(`pfs mount: could not save ${s.repo}@${s.branch}:${s.path}: ${(e as Error).message}`))
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
        if (e instanceof PfsError && e.code === 'CONFLICT') this.touched.delete(key)
        else this.opts.log(`pfs mount: could not commit ${repo}@${branch}: ${(e as Error).message}; its write session stays open`)
      }
    }
    return done
  }

  // ---- attributes and listing ----
  async getattr (p: string): Promise<Stat> {
    const hid = this.hidden.get(p)
    if (hid !== undefined) return hid()
    const mp = parseMountPath(p)
    const now = Date.now()
    if (mp.kind === 'root') return makeStat('dir', 0, 0o755, now, this.ids)
    if (!(await this.repos()).has(mp.repo) && !(await this.repos(true)).has(mp.repo)) throw new Errno(Fuse.ENOENT)
    if (mp.kind === 'repo') return makeStat('dir', 0, 0o755, now, this.ids)
    if (mp.kind === 'commits') return makeStat('dir', 0, 0o555, now, this.ids)
    const { v, spool: s } = await this.current(p)
    if (v.path === '') return makeStat('dir', 0, v.branch === null ? 0o555 : 0o755, v.r.commit?.finished ?? v.r.commit?.started ?? now, this.ids)
    if (s !== undefined) return makeStat('file', s.size, s.mode, s.mtime, this.ids)
    const info = await this.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    return statOf(info, this.ids)
  }

  async readdir (p: string): Promise<string[]> {
    const mp = parseMountPath(p)
    if (mp.kind === 'root') return [...await this.repos(true)]
    if (mp.kind === 'repo') return [COMMITS, ...(await this.pfs.listBranches(mp.repo)).map(b => b.name)]
    if (mp.kind === 'commits') return await this.commitIds(mp.repo)
    const v = await this.view(mp, p.split('/')[2] === COMMITS)
    const info = v.path === '' ? null : await this.views.stat(v.repo, v.r.root, v.path)
    if (v.path !== '' && info === null) throw new Errno(Fuse.ENOENT)
    if (info !== null && info.kind !== 'dir') throw new Errno(Fuse.ENOTDIR)
    const names = await this.views.list(v.repo, v.r.root, v.path)
    if (v.branch === null) return names
    const extra = this.spools.inDir(v.repo, v.branch, v.path).map(s => s.path.slice(s.path.lastIndexOf('/') + 1))
    if (extra.length === 0) return names
    const set = new Set(names)
    return [...names, ...extra.filter(n => !set.has(n))]
  }

  private async commitIds (repo: string): Promise<string[]> {
    const ids: string[] = []
    let after: string | undefined
    do {
      const page = await this.pfs.listCommits(repo, { after, limit: 10_000 })
      ids.push(...page.entries.map(c => c.id))
      after = page.next
    } while (after !== undefined)
    return ids
  }

  // ---- files ----
  async create (p: string, mode: number): Promise<number> {
    const v = await this.writable(p)
    const s = await this.spools.open(v.repo, v.branch, v.path, { baseRoot: v.r.root, size: 0, mode: mode & 0o7777, mtime: Date.now(), truncate: true, create: true })
    this.changed(v.repo, v.branch)
    return this.handle({ spool: s, write: true })
  }

  async open (p: string, flags: number): Promise<number> {
    const write = (flags & O_ACCMODE) !== 0
    const { v, spool } = await this.current(p)
    if (write && v.branch === null) throw new Errno(Fuse.EROFS)
    if (spool !== undefined) {
      spool.refs++
      if (write && (flags & O_TRUNC) !== 0) await this.spools.truncate(spool, 0)
      return this.handle({ spool, write })
    }
    const info = await this.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind === 'dir') throw new Errno(Fuse.EISDIR)
    if (write) {
      const s = await this.spools.open(v.repo, v.branch as string, v.path, { baseRoot: v.r.root, size: info.size, mode: info.mode, mtime: info.mtime, truncate: (flags & O_TRUNC) !== 0, create: false })
      return this.handle({ spool: s, write: true })
    }
    const reader = await this.pfs.openFile(v.repo, `tree:${v.r.root}`, v.path)
    return this.handle(v.branch === null ? { reader } : { reader, root: v.r.root })
  }

  private handle (h: Handle): number {
    const fd = this.nextFd++
    this.handles.set(fd, h)
    return fd
  }

  private get (fd: number): Handle {
    const h = this.handles.get(fd)
    if (h === undefined) throw new Errno(Fuse.EBADF)
    return h
  }

  async read (p: string, fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.get(fd)
    if ('spool' in h) return await this.spools.read(h.spool, buf, len, pos)
    if (h.root !== undefined && !HIDDEN.test(p)) {
      const { v, spool } = await this.current(p)
      if (spool !== undefined) return await this.spools.read(spool, buf, len, pos)
      if (v.r.root !== h.root && await this.views.stat(v.repo, v.r.root, v.path) !== null) {
        h.reader = await this.pfs.openFile(v.repo, `tree:${v.r.root}`, v.path)
        h.root = v.r.root
      }
    }
    const data = await h.reader.read(pos, len)
    data.copy(buf)
    return data.length
  }

  async write (fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.get(fd)
    if (!('spool' in h) || !h.write) throw new Errno(Fuse.EBADF)
    return await this.spools.write(h.spool, buf, len, pos)
  }

  /** close(2) and fsync(2): the file's content goes into the branch's session. */
  async flush (fd: number): Promise<void> {
    const h = this.get(fd)
    if ('spool' in h && h.write) await this.spools.upload(h.spool)
  }

  async release (fd: number): Promise<void> {
    const h = this.handles.get(fd)
    this.handles.delete(fd)
    if (h !== undefined && 'spool' in h) await this.spools.release(h.spool)
  }

  async truncate (p: string, size: number, fd?: number): Promise<void> {
    const h = fd === undefined ? undefined : this.handles.get(fd)
    if (h !== undefined && 'spool' in h) { await this.spools.truncate(h.spool, size); return }
    const { v, spool } = await this.current(p)
    if (v.branch === null) throw new Errno(Fuse.EROFS)
    if (v.path === '') throw new Errno(Fuse.EPERM)
    if (spool !== undefined) { await this.spools.truncate(spool, size); return }
    const info = await this.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind === 'dir') throw new Errno(Fuse.EISDIR)
    const s = await this.spools.open(v.repo, v.branch, v.path, { baseRoot: v.r.root, size: info.size, mode: info.mode, mtime: info.mtime, truncate: size === 0, create: false })
    try {
      await this.spools.truncate(s, size)
    } finally {
      await this.spools.release(s)
    }
  }

  // ---- namespace ----
  async mkdir (p: string, mode: number): Promise<void> {
    const mp = parseMountPath(p)
    if (mp.kind === 'repo') { await this.pfs.createRepo(mp.repo); await this.repos(true); return }
    if (mp.kind === 'commits') throw new Errno(Fuse.EEXIST)
    if (mp.kind === 'view' && mp.path === '') {
      if (p.split('/')[2] === COMMITS) throw new Errno(Fuse.EROFS)
      await this.pfs.createBranch(mp.repo, mp.rev)
      this.views.invalidate(mp.repo)
      return
    }
    const v = await this.writable(p)
    await this.apply(v, [{ op: 'mkdir', path: v.path, mode: mode & 0o7777 }])
  }

  async rmdir (p: string): Promise<void> {
    const v = await this.writable(p)
    const info = await this.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind !== 'dir') throw new Errno(Fuse.ENOTDIR)
    // Files created here and still open are not in the tree yet, but the folder is not empty.
    if (this.spools.inDir(v.repo, v.branch, v.path).length > 0) throw new Errno(Fuse.ENOTEMPTY)
    await this.apply(v, [{ op: 'delete', path: v.path }])
  }

  async unlink (p: string): Promise<void> {
    if (this.hidden.delete(p)) return
    const v = await this.writable(p)
    const hadSpool = this.spools.get(v.repo, v.branch, v.path) !== undefined
    this.spools.detach(v.repo, v.branch, v.path)
    const info = await this.views.stat(v.repo, v.r.root, v.path)
    if (info === null) {
      if (hadSpool) return
      throw new Errno(Fuse.ENOENT)
    }
    if (info.kind === 'dir') throw new Errno(Fuse.EISDIR)
    await this.apply(v, [{ op: 'delete', path: v.path }])
  }

  async rename (from: string, to: string): Promise<void> {
    if (HIDDEN.test(to)) { await this.hide(from, to); return }
    const a = await this.writable(from)
    const b = await this.viewOf(to)
    if (b.branch === null) throw new Errno(Fuse.EROFS)
    if (a.repo !== b.repo || a.branch !== b.branch) throw new Errno(Fuse.EXDEV)
    // Open files below the source must be in the store before they move.
    for (const s of this.spools.all()) {
      if (s.repo === a.repo && s.branch === a.branch && (s.path === a.path || s.path.startsWith(a.path + '/'))) await this.spools.upload(s)
    }
    await this.apply(a, [{ op: 'rename', from: a.path, path: b.path }])
    this.spools.move(a.repo, a.branch, a.path, b.path)
  }

  /**
   * libfuse renames a file that is unlinked or replaced while open to `.fuse_hidden<hex>`
   * and unlinks that name after the last close (`hard_remove` would avoid this, but then
   * fuse-native, which cannot set nullpath_ok, fails reads of the open file). For
   * everyone else the file is gone, so it leaves the store now instead of being saved
   * under the hidden name; open handles keep reading through their fd.
   */
  private async hide (from: string, to: string): Promise<void> {
    const v = await this.writable(from)
    const spool = this.spools.get(v.repo, v.branch, v.path)
    const st = await this.getattr(from)
    this.hidden.set(to, spool === undefined ? () => st : () => makeStat('file', spool.size, spool.mode, spool.mtime, this.ids))
    try {
      await this.unlink(from)
    } catch (e) {
      this.hidden.delete(to)
      throw e
    }
  }

  async symlink (target: string, p: string): Promise<void> {
    const v = await this.writable(p)
    await this.apply(v, [{ op: 'symlink', path: v.path, target }])
  }

  async readlink (p: string): Promise<string> {
    const v = await this.viewOf(p)
    const info = await this.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind !== 'symlink') throw new Errno(Fuse.EINVAL)
    return info.target ?? ''
  }

  async setattr (p: string, attrs: { mode?: number, mtime?: number }): Promise<void> {
    const v = await this.writable(p)
    const s = this.spools.get(v.repo, v.branch, v.path)
    if (s !== undefined) {
      if (attrs.mode !== undefined) s.mode = attrs.mode & 0o7777
      if (attrs.mtime !== undefined) { s.mtime = attrs.mtime; s.timesSet = true }
      s.dirty = true
      if (await this.views.stat(v.repo, v.r.root, v.path) === null) return
    }
    await this.apply(v, [{ op: 'setattr', path: v.path, mode: attrs.mode === undefined ? undefined : attrs.mode & 0o7777, mtime: attrs.mtime }])
  }

  // ---- extended attributes, statfs ----
  async getxattr (p: string, name: string): Promise<Buffer | null> {
    const mp = parseMountPath(p)
    if (mp.kind !== 'view' || !XATTRS.includes(name)) return null
    const v = await this.viewOf(p)
    if (v.path !== '' && await this.views.stat(v.repo, v.r.root, v.path) === null && (v.branch === null || this.spools.get(v.repo, v.branch, v.path) === undefined)) throw new Errno(Fuse.ENOENT)
    const value = name === 'user.pfs.commit' ? v.r.commit?.id : name === 'user.pfs.repo' ? v.repo : (v.branch ?? v.r.commit?.branch)
    return value === undefined || value === null ? null : Buffer.from(value)
  }

  listxattr (p: string): string[] {
    return parseMountPath(p).kind === 'view' ? XATTRS : []
  }

  async statfs (): Promise<Record<string, number>> {
    const s = await statfs(this.opts.statfsPath)
    return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0x7066, flag: 0, namemax: 255 }
  }
}
