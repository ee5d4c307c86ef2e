/**
 * The fuse-native handler table: each syscall runs one async `PfsFs` call and answers
 * with its value or its errno (errno.ts is the one place errors become errnos).
 */
import Fuse from 'fuse-native'
import type { PfsFs } from './operations.js'
import { toErrno } from './errno.js'
import type { Owner } from './attrs.js'
import type { AttrChange } from '../store/index.js'

type Cb = (...args: unknown[]) => void
/** fuse-native calls each handler with the syscall's arguments and a reply callback. */
type Handler = (...args: never[]) => void

/** How the (patched) binding passes UTIME_OMIT; see fs/patch-fuse-native.mjs. */
const UTIME_OMIT = 2 ** 52 - 1

/** chown(2)'s "leave unchanged" (-1) as the binding passes it. */
const UNCHANGED = 0xffffffff

/**
 * `caller`: who made the request being dispatched (the patched binding sets it just before
 * each handler runs, so it is read at once, before any await).
 */
export function handlers (
  fs: PfsFs, log: (m: string) => void, caller: () => Owner | undefined = () => undefined
): Record<string, Handler> {
  const call = <T>(cb: Cb, fn: () => Promise<T>, ok: (cb: Cb, v: T) => void = (c, v) => c(0, v)): void => {
    // A reply that throws (a bad value refused by the binding) must not kill the mount:
    // every open file's unsaved bytes live in this process.
    fn().then(v => ok(cb, v), e => cb(toErrno(e, log)))
      .catch(e => log(`pfs mount: could not answer a FUSE call: ${(e as Error)?.stack ?? String(e)}`))
  }
  const bytes = (cb: Cb, n: number): void => cb(n)
  const done = (cb: Cb): void => cb(0)
  const { files, names, attrs } = fs
  return {
    init: (cb: Cb) => cb(0),
    getattr: (p: string, cb: Cb) => call(cb, async () => await attrs.getattr(p)),
    fgetattr: (p: string, _fd: number, cb: Cb) => call(cb, async () => await attrs.getattr(p)),
    // libfuse 2 does not add the dot entries; without them `ls -a` shows neither . nor ..
    readdir: (p: string, cb: Cb) => call(cb, async () => ['.', '..', ...await attrs.readdir(p)]),
    access: (p: string, mode: number, cb: Cb) => call(cb, async () => await attrs.access(p, mode), done),
    statfs: (_p: string, cb: Cb) => call(cb, async () => await attrs.statfs()),
    create: (p: string, mode: number, cb: Cb) => {
      const who = caller()
      call(cb, async () => await files.create(p, mode, who))
    },
    open: (p: string, flags: number, cb: Cb) => call(cb, async () => await files.open(p, flags)),
    read: (p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      call(cb, async () => await files.read(p, fd, buf, len, pos), bytes),
    write: (_p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      call(cb, async () => await files.write(fd, buf, len, pos), bytes),
    flush: (_p: string, fd: number, cb: Cb) => call(cb, async () => await files.flush(fd), done),
    // fuse-native passes (path, datasync, fd): the fd comes third here, unlike flush.
    fsync: (_p: string, _ds: number, fd: number, cb: Cb) => call(cb, async () => await files.flush(fd), done),
    release: (_p: string, fd: number, cb: Cb) => call(cb, async () => await files.release(fd), done),
    truncate: (p: string, size: number, cb: Cb) => call(cb, async () => await files.truncate(p, size), done),
    ftruncate: (p: string, fd: number, size: number, cb: Cb) =>
      call(cb, async () => await files.truncate(p, size, fd), done),
    mkdir: (p: string, mode: number, cb: Cb) => {
      const who = caller()
      call(cb, async () => await names.mkdir(p, mode, who), done)
    },
    rmdir: (p: string, cb: Cb) => call(cb, async () => await names.rmdir(p), done),
    unlink: (p: string, cb: Cb) => call(cb, async () => await names.unlink(p), done),
    rename: (a: string, b: string, cb: Cb) => call(cb, async () => await names.rename(a, b), done),
    symlink: (target: string, p: string, cb: Cb) => {
      const who = caller()
      call(cb, async () => await names.symlink(target, p, who), done)
    },
    readlink: (p: string, cb: Cb) => call(cb, async () => await names.readlink(p)),
    link: (_a: string, _b: string, cb: Cb) => cb(Fuse.EPERM),
    chmod: (p: string, mode: number, cb: Cb) => call(cb, async () => await attrs.setattr(p, { mode }), done),
    chown: (p: string, uid: number, gid: number, cb: Cb) => {
      const ch = { uid: uid === UNCHANGED ? undefined : uid, gid: gid === UNCHANGED ? undefined : gid }
      call(cb, async () => await attrs.setattr(p, ch), done)
    },
    // A time of 2^52-1 is UTIME_OMIT (`touch -a` leaves the mtime, `touch -m` the atime).
    utimens: (p: string, atime: number, mtime: number, cb: Cb, atimeNs?: number, mtimeNs?: number) => {
      const ch: AttrChange = {}
      if (atime < UTIME_OMIT) { ch.atime = atime; ch.atimeNs = atimeNs ?? 0 }
      if (mtime < UTIME_OMIT) { ch.mtime = mtime; ch.mtimeNs = mtimeNs ?? 0 }
      if (ch.atime === undefined && ch.mtime === undefined) { cb(0); return }
      call(cb, async () => await attrs.setattr(p, ch), done)
    },
    getxattr: (p: string, name: string, _pos: number, cb: Cb) => call(cb, async () => await attrs.getxattr(p, name)),
    listxattr: (p: string, cb: Cb) => cb(0, attrs.listxattr(p)),
    setxattr: (_p: string, _n: string, _v: Buffer, _pos: number, _f: number, cb: Cb) => cb(Fuse.EOPNOTSUPP),
    removexattr: (_p: string, _n: string, cb: Cb) => cb(Fuse.EOPNOTSUPP),
    mknod: (p: string, mode: number, dev: number, cb: Cb) => {
      const who = caller()
      call(cb, async () => await names.mknod(p, mode, dev, who), done)
    }
  }
}
