/**
 * Open files: create, open, read, write, flush (close and fsync), release, truncate.
 * Writes go to a spool and reach the branch's session on close; readers in a branch
 * folder follow the branch, history readers keep what they opened.
 */
import Fuse from 'fuse-native'
import type { OpenFile } from '../store/index.js'
import type { Spool } from './spools.js'
import type { Owner } from './attrs.js'
import type { MountState } from './state.js'
import { Errno } from './errno.js'

const O_ACCMODE = 3
const O_TRUNC = 0o1000
/** libfuse's name for a file unlinked or replaced while still open (see namespace-ops.ts). */
export const HIDDEN = /\/\.fuse_hidden[0-9a-f]{16}$/

/**
 * An open file. A reader in a branch folder (`root` set) follows the branch: the kernel
 * keeps one size and one content per file, so every read must see the file as it is now
 * (another writer's open spool, or the current tree), never a snapshot from open time.
 * History readers and files unlinked while open keep the snapshot they opened.
 */
type Handle = { spool: Spool, write: boolean } | { reader: OpenFile, root?: string }

export class FileOps {
  private readonly handles = new Map<number, Handle>()
  private nextFd = 10

  constructor (private readonly m: MountState) {}

  async create (p: string, mode: number, who?: Owner): Promise<number> {
    const v = await this.m.writable(p)
    const { setgid: _, ...meta } = await this.m.newOwner(v, who)
    const s = await this.m.spools.open(
      v.repo, v.branch, v.path,
      { baseRoot: v.r.root, size: 0, mode: mode & 0o7777, mtime: Date.now(), truncate: true, create: true, meta }
    )
    this.m.changed(v.repo, v.branch)
    return this.handle({ spool: s, write: true })
  }

  async open (p: string, flags: number): Promise<number> {
    const write = (flags & O_ACCMODE) !== 0
    const { v, spool } = await this.m.current(p)
    if (write && v.branch === null) throw new Errno(Fuse.EROFS)
    if (spool !== undefined) {
      spool.refs++
      if (write && (flags & O_TRUNC) !== 0) await this.m.spools.truncate(spool, 0)
      return this.handle({ spool, write })
    }
    const info = await this.m.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind === 'dir') throw new Errno(Fuse.EISDIR)
    if (write) {
      const truncate = (flags & O_TRUNC) !== 0
      const s = await this.m.spools.open(v.repo, v.branch as string, v.path, {
        baseRoot: v.r.root, size: info.size, mode: info.mode, mtime: info.mtime, truncate, create: false, meta: info
      })
      return this.handle({ spool: s, write: true })
    }
    const reader = await this.m.pfs.openFile(v.repo, `tree:${v.r.root}`, v.path)
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
    if ('spool' in h) return await this.m.spools.read(h.spool, buf, len, pos)
    if (h.root !== undefined && !HIDDEN.test(p)) {
      const { v, spool } = await this.m.current(p)
      if (spool !== undefined) return await this.m.spools.read(spool, buf, len, pos)
      if (v.r.root !== h.root && await this.m.views.stat(v.repo, v.r.root, v.path) !== null) {
        h.reader = await this.m.pfs.openFile(v.repo, `tree:${v.r.root}`, v.path)
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
    return await this.m.spools.write(h.spool, buf, len, pos)
  }

  /** close(2) and fsync(2): the file's content goes into the branch's session. */
  async flush (fd: number): Promise<void> {
    const h = this.get(fd)
    if ('spool' in h && h.write) await this.m.spools.upload(h.spool)
  }

  async release (fd: number): Promise<void> {
    const h = this.handles.get(fd)
    this.handles.delete(fd)
    if (h !== undefined && 'spool' in h) await this.m.spools.release(h.spool)
  }

  async truncate (p: string, size: number, fd?: number): Promise<void> {
    const h = fd === undefined ? undefined : this.handles.get(fd)
    if (h !== undefined && 'spool' in h) { await this.m.spools.truncate(h.spool, size); return }
    const { v, spool } = await this.m.current(p)
    if (v.branch === null) throw new Errno(Fuse.EROFS)
    if (v.path === '') throw new Errno(Fuse.EPERM)
    if (spool !== undefined) { await this.m.spools.truncate(spool, size); return }
    const info = await this.m.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    if (info.kind === 'dir') throw new Errno(Fuse.EISDIR)
    const s = await this.m.spools.open(v.repo, v.branch, v.path, {
      baseRoot: v.r.root, size: info.size, mode: info.mode, mtime: info.mtime, truncate: size === 0, create: false,
      meta: info
    })
    try {
      await this.m.spools.truncate(s, size)
    } finally {
      await this.m.spools.release(s)
    }
  }
}
