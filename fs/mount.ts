/**
 * Mounting: wires PfsFs to fuse-native, clears a stale mount left by a crash, and on a
 * clean stop saves open files, commits the write sessions this mount changed, and
 * unmounts. Mounted for the current user only unless `allowOther`.
 */
import Fuse from 'fuse-native'
import { promises as fsp } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import path from 'node:path'
import type { Pfs } from '../store/pfs.js'
import { busy } from '../store/errors.js'
import { PfsFs, type FsOptions } from './operations.js'
import { toErrno } from './errno.js'

const run = promisify(execFile)
/** How the (patched) binding passes UTIME_OMIT; see fs/patch-fuse-native.mjs. */
const UTIME_OMIT = 2 ** 52 - 1

export interface MountOptions extends FsOptions {
  allowOther?: boolean
}

export interface Mounted {
  dir: string
  fs: PfsFs
  /** Saves open files, commits changed sessions with `message`, unmounts. Idempotent. */
  unmount (message?: string): Promise<string[]>
}

/** True when `dir` is a FUSE mount whose process is gone ("Transport endpoint is not connected"). */
async function isStale (dir: string): Promise<boolean> {
  try {
    await fsp.stat(dir)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOTCONN'
  }
}

export async function isMountPoint (dir: string): Promise<boolean> {
  const mounts = await fsp.readFile('/proc/mounts', 'utf8').catch(() => '')
  const target = path.resolve(dir).replace(/ /g, '\\040')
  return mounts.split('\n').some(l => l.split(' ')[1] === target)
}

export async function lazyUnmount (dir: string): Promise<void> {
  await run('fusermount', ['-uz', dir]).catch(async () => await run('umount', ['-l', dir]).catch(() => {}))
}

export async function mountPfs (pfs: Pfs, dir: string, opts: MountOptions): Promise<Mounted> {
  dir = path.resolve(dir)
  if (await isStale(dir)) {
    opts.log(`pfs mount: clearing a stale mount at ${dir} (its process is gone)`)
    await lazyUnmount(dir)
  } else if (await isMountPoint(dir)) {
    throw busy(`${dir} is already mounted; run \`pfs unmount ${dir}\` first or choose another folder`, { dir })
  }
  await fsp.mkdir(dir, { recursive: true })
  const fs = new PfsFs(pfs, opts)
  const fuse = new Fuse(dir, handlers(fs, opts.log), {
    allowOther: opts.allowOther === true,
    fsname: 'pfs',
    subtype: 'pfs',
    maxRead: 1 << 20,
    // Keep the kernel's page cache across opens unless a file's size or mtime changed:
    // commits never change, so re-reading history is served from memory.
    autoCache: true,
    // Uploads on close can take longer than fuse-native's default 15 s.
    timeout: false,
    force: false
  })
  // FUSE 2 sends 4 KiB writes unless asked for big ones.
  const base = fuse._fuseOptions.bind(fuse)
  fuse._fuseOptions = () => `${base()},big_writes`.replace(/^,/, '-o')
  await new Promise<void>((resolve, reject) => fuse.mount(err => err ? reject(err) : resolve()))
  let stopping: Promise<string[]> | undefined
  return {
    dir,
    fs,
    unmount: async (message = 'commit on unmount') => {
      stopping ??= (async () => {
        try {
          return await fs.commitAll(message)
        } finally {
          await new Promise<void>(resolve => fuse.unmount(() => resolve()))
          if (await isMountPoint(dir)) await lazyUnmount(dir)
          await fsp.rm(opts.spoolDir, { recursive: true, force: true })
        }
      })()
      return await stopping
    }
  }
}

type Cb = (...args: unknown[]) => void

/** fuse-native handlers: each runs an async PfsFs call and answers with its value or errno. */
function handlers (fs: PfsFs, log: (m: string) => void): Record<string, (...args: any[]) => void> {
  const call = <T>(cb: Cb, fn: () => Promise<T>, ok: (cb: Cb, v: T) => void = (c, v) => c(0, v)): void => {
    // A reply that throws (a bad value refused by the binding) must not kill the mount:
    // every open file's unsaved bytes live in this process.
    fn().then(v => ok(cb, v), e => cb(toErrno(e, log))).catch(e => log(`pfs mount: could not answer a FUSE call: ${(e as Error)?.stack ?? String(e)}`))
  }
  const bytes = (cb: Cb, n: number): void => cb(n)
  const done = (cb: Cb): void => cb(0)
  return {
    init: (cb: Cb) => cb(0),
    getattr: (p: string, cb: Cb) => call(cb, async () => await fs.getattr(p)),
    fgetattr: (p: string, _fd: number, cb: Cb) => call(cb, async () => await fs.getattr(p)),
    // libfuse 2 does not add the dot entries; without them `ls -a` shows neither . nor ..
    readdir: (p: string, cb: Cb) => call(cb, async () => ['.', '..', ...await fs.readdir(p)]),
    access: (_p: string, _mode: number, cb: Cb) => cb(0),
    statfs: (_p: string, cb: Cb) => call(cb, async () => await fs.statfs()),
    create: (p: string, mode: number, cb: Cb) => call(cb, async () => await fs.create(p, mode)),
    open: (p: string, flags: number, cb: Cb) => call(cb, async () => await fs.open(p, flags)),
    read: (p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => call(cb, async () => await fs.read(p, fd, buf, len, pos), bytes),
    write: (_p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => call(cb, async () => await fs.write(fd, buf, len, pos), bytes),
    flush: (_p: string, fd: number, cb: Cb) => call(cb, async () => await fs.flush(fd), done),
    // fuse-native passes (path, datasync, fd): the fd comes third here, unlike flush.
    fsync: (_p: string, _ds: number, fd: number, cb: Cb) => call(cb, async () => await fs.flush(fd), done),
    release: (_p: string, fd: number, cb: Cb) => call(cb, async () => await fs.release(fd), done),
    truncate: (p: string, size: number, cb: Cb) => call(cb, async () => await fs.truncate(p, size), done),
    ftruncate: (p: string, fd: number, size: number, cb: Cb) => call(cb, async () => await fs.truncate(p, size, fd), done),
    mkdir: (p: string, mode: number, cb: Cb) => call(cb, async () => await fs.mkdir(p, mode), done),
    rmdir: (p: string, cb: Cb) => call(cb, async () => await fs.rmdir(p), done),
    unlink: (p: string, cb: Cb) => call(cb, async () => await fs.unlink(p), done),
    rename: (a: string, b: string, cb: Cb) => call(cb, async () => await fs.rename(a, b), done),
    symlink: (target: string, p: string, cb: Cb) => call(cb, async () => await fs.symlink(target, p), done),
    readlink: (p: string, cb: Cb) => call(cb, async () => await fs.readlink(p)),
    link: (_a: string, _b: string, cb: Cb) => cb(Fuse.EPERM),
    chmod: (p: string, mode: number, cb: Cb) => call(cb, async () => await fs.setattr(p, { mode }), done),
    chown: (_p: string, _u: number, _g: number, cb: Cb) => cb(0),
    // mtime 2^52-1 is UTIME_OMIT (`touch -a`): nothing to store, since atime is not kept.
    utimens: (p: string, _atime: number, mtime: number, cb: Cb) => mtime >= UTIME_OMIT ? cb(0) : call(cb, async () => await fs.setattr(p, { mtime }), done),
    getxattr: (p: string, name: string, _pos: number, cb: Cb) => call(cb, async () => await fs.getxattr(p, name)),
    listxattr: (p: string, cb: Cb) => cb(0, fs.listxattr(p)),
    setxattr: (_p: string, _n: string, _v: Buffer, _pos: number, _f: number, cb: Cb) => cb(Fuse.EOPNOTSUPP),
    removexattr: (_p: string, _n: string, cb: Cb) => cb(Fuse.EOPNOTSUPP),
    mknod: (_p: string, _mode: number, _dev: number, cb: Cb) => cb(Fuse.EPERM)
  }
}
