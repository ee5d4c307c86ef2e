/**
 * Names: mkdir (also of repos and branches), rmdir, unlink, rename, symlink, readlink.
 * Each change goes into the branch's session at once.
 */
import Fuse from 'fuse-native'
import { parseMountPath } from './paths.js'
import { S_ISGID, mknodKind, type Owner, type Stat } from './attrs.js'
import { HIDDEN } from './file-ops.js'
import type { MountState } from './state.js'
import { spoolStat, type Spool } from './spools.js'
import type { AttrOps } from './attr-ops.js'
import { Errno } from './errno.js'

export class NamespaceOps {
  constructor (private readonly m: MountState, private readonly attrs: AttrOps) {}

  async mkdir (p: string, mode: number, who?: Owner): Promise<void> {
    const mp = parseMountPath(p)
    if (mp.kind === 'repo') { await this.m.pfs.createRepo(mp.repo); await this.m.repos(true); return }
    if (mp.kind === 'commits' || (mp.kind === 'provenance' && mp.rev === undefined)) throw new Errno(Fuse.EEXIST)
    if (mp.kind === 'view' && mp.path === '') {
      if (mp.history) throw new Errno(Fuse.EROFS)
      await this.m.pfs.createBranch(mp.repo, mp.rev)
      this.m.views.invalidate(mp.repo)
      return
    }
    const v = await this.m.writable(p)
    const { setgid, ...owner } = await this.m.newOwner(v, who)
    // A folder made in a set-group-ID folder is set-group-ID too, as on a disk.
    await this.m.apply(v, [{ op: 'mkdir', path: v.path, mode: (mode & 0o7777) | (setgid ? S_ISGID : 0), ...owner }])
  }

  async rmdir (p: string): Promise<void> {
    const v = await this.m.writable(p)
    const info = await this.m.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind !== 'dir') throw new Errno(Fuse.ENOTDIR)
    // Files created here and still open are not in the tree yet, but the folder is not empty.
    if (this.m.spools.inDir(v.repo, v.branch, v.path).length > 0) throw new Errno(Fuse.ENOTEMPTY)
    await this.m.apply(v, [{ op: 'delete', path: v.path }])
  }

  async unlink (p: string): Promise<void> {
    if (this.m.hidden.delete(p)) return
    const v = await this.m.writable(p)
    const hadSpool = this.m.spools.get(v.repo, v.branch, v.path) !== undefined
    this.m.spools.detach(v.repo, v.branch, v.path)
    const info = await this.m.views.stat(v.repo, v.r.root, v.path)
    if (info === null) {
      if (hadSpool) return
      throw new Errno(Fuse.ENOENT)
    }
    if (info.kind === 'dir') throw new Errno(Fuse.EISDIR)
    await this.m.apply(v, [{ op: 'delete', path: v.path }])
  }

  async rename (from: string, to: string): Promise<void> {
    if (HIDDEN.test(to)) { await this.hide(from, to); return }
    const a = await this.m.writable(from)
    const b = await this.m.viewOf(to)
    if (b.branch === null) throw new Errno(Fuse.EROFS)
    if (a.repo !== b.repo || a.branch !== b.branch) throw new Errno(Fuse.EXDEV)
    // Open files below the source must be in the store before they move.
    for (const s of this.m.spools.all()) {
      const below = s.path === a.path || s.path.startsWith(a.path + '/')
      if (s.repo === a.repo && s.branch === a.branch && below) await this.m.spools.upload(s)
    }
    await this.m.apply(a, [{ op: 'rename', from: a.path, path: b.path }])
    this.m.spools.move(a.repo, a.branch, a.path, b.path)
  }

  /**
   * libfuse renames a file that is unlinked or replaced while open to `.fuse_hidden<hex>`
   * and unlinks that name after the last close (`hard_remove` would avoid this, but then
   * fuse-native, which cannot set nullpath_ok, fails reads of the open file). For
   * everyone else the file is gone, so it leaves the store now instead of being saved
   * under the hidden name; open handles keep reading through their fd.
   */
  private async hide (from: string, to: string): Promise<void> {
    const v = await this.m.writable(from)
    const spool = this.m.spools.get(v.repo, v.branch, v.path)
    const st = await this.attrs.getattr(from)
    // An open spool keeps changing: its attributes are read when asked for.
    const live = (s: Spool) => (): Stat => spoolStat(s, this.m.ids)
    this.m.hidden.set(to, spool === undefined ? () => st : live(spool))
    try {
      await this.unlink(from)
    } catch (e) {
      this.m.hidden.delete(to)
      throw e
    }
  }

  async symlink (target: string, p: string, who?: Owner): Promise<void> {
    const v = await this.m.writable(p)
    const { setgid: _, ...owner } = await this.m.newOwner(v, who)
    await this.m.apply(v, [{ op: 'symlink', path: v.path, target, ...owner }])
  }

  /**
   * mkfifo, a unix socket's bind, mknod: a special file in the branch, committed like any
   * entry (the kernel serves a fifo's or socket's traffic itself; pfs keeps the name).
   */
  async mknod (p: string, mode: number, rdev: number, who?: Owner): Promise<void> {
    const kind = mknodKind(mode)
    if (kind === undefined) throw new Errno(Fuse.EINVAL)
    const v = await this.m.writable(p)
    if (await this.m.views.stat(v.repo, v.r.root, v.path) !== null ||
      this.m.spools.get(v.repo, v.branch, v.path) !== undefined) throw new Errno(Fuse.EEXIST)
    const { setgid: _, ...owner } = await this.m.newOwner(v, who)
    const device = kind === 'chardev' || kind === 'blockdev'
    await this.m.apply(v, [kind === 'file'
      ? { op: 'put', path: v.path, chunks: [], mode: mode & 0o7777, ...owner }
      : { op: 'mknod', path: v.path, kind, mode: mode & 0o7777, rdev: device ? rdev : undefined, ...owner }])
  }

  async readlink (p: string): Promise<string> {
    const mp = parseMountPath(p)
    if (mp.kind === 'provenance') return await this.attrs.provenance.readlink(mp)
    const v = await this.m.viewOf(p)
    const info = await this.m.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind !== 'symlink') throw new Errno(Fuse.EINVAL)
    return info.target ?? ''
  }
}
