/**
 * The floor under any fuse-native mount: a file system whose every callback answers at
 * once from memory, mounted with the same options as pfs (max_read 1 MiB, big_writes).
 * What it measures is the cost of the kernel <-> libfuse <-> Node round trips alone, so
 * pfs figures can be split into "FUSE binding" and "pfs". Run as a child process:
 *
 *   node dist/bench/mount-floor.js MNT ENTRIES FILE_BYTES     (prints `mounted`; SIGTERM stops it)
 *
 * Layout: /many/ with ENTRIES files of 100 bytes, /big (FILE_BYTES of zeros, read-only),
 * and any other name in / can be created and written (bytes are dropped).
 */
import Fuse from 'fuse-native'
import { fileURLToPath } from 'node:url'

type Cb = (...args: unknown[]) => void
/** fuse-native calls each handler with the syscall's arguments and a reply callback. */
type Handler = (...args: never[]) => void

function floorOps (entries: number, bigSize: number): Record<string, Handler> {
  const now = new Date()
  const stat = (mode: number, size: number): object => ({
    mtime: now, atime: now, ctime: now, nlink: 1, size, mode, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0
  })
  const zeros = Buffer.alloc(1 << 20)
  const names = Array.from({ length: entries }, (_, i) => `f${String(i).padStart(6, '0')}`)
  const isDir = (p: string): boolean => p === '/' || p === '/many'
  return {
    readdir: (p: string, cb: Cb) =>
      cb(0, p === '/' ? ['.', '..', 'many', 'big'] : p === '/many' ? ['.', '..', ...names] : []),
    getattr: (p: string, cb: Cb) =>
      cb(0, isDir(p) ? stat(0o40755, 4096) : stat(0o100644, p === '/big' ? bigSize : p.startsWith('/many/') ? 100 : 0)),
    fgetattr: (p: string, _fd: number, cb: Cb) =>
      cb(0, isDir(p) ? stat(0o40755, 4096) : stat(0o100644, p === '/big' ? bigSize : 0)),
    open: (_p: string, _flags: number, cb: Cb) => cb(0, 42),
    create: (_p: string, _mode: number, cb: Cb) => cb(0, 43),
    read: (_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
      const n = Math.max(0, Math.min(len, bigSize - pos, zeros.length))
      zeros.copy(buf, 0, 0, n)
      cb(n)
    },
    write: (_p: string, _fd: number, _buf: Buffer, len: number, _pos: number, cb: Cb) => cb(len),
    flush: (_p: string, _fd: number, cb: Cb) => cb(0),
    release: (_p: string, _fd: number, cb: Cb) => cb(0),
    truncate: (_p: string, _size: number, cb: Cb) => cb(0),
    ftruncate: (_p: string, _fd: number, _size: number, cb: Cb) => cb(0),
    utimens: (_p: string, _a: number, _m: number, cb: Cb) => cb(0),
    chmod: (_p: string, _mode: number, cb: Cb) => cb(0),
    // As pfs answers: no value (ENODATA) for anything but its own names.
    getxattr: (_p: string, _name: string, _pos: number, cb: Cb) => cb(0, null),
    listxattr: (_p: string, cb: Cb) => cb(0, [])
  }
}

async function main (): Promise<void> {
  const [mnt, entries, bytes] = process.argv.slice(2)
  if (mnt === undefined) throw new Error('usage: node dist/bench/mount-floor.js MNT ENTRIES FILE_BYTES')
  const ops = floorOps(Number(entries ?? 0), Number(bytes ?? 0))
  const fuse = new Fuse(mnt, ops, { maxRead: 1 << 20, autoCache: true, timeout: false, force: true, mkdir: true })
  const base = fuse._fuseOptions.bind(fuse)
  fuse._fuseOptions = () => `${base()},big_writes`.replace(/^,/, '-o')
  await new Promise<void>((resolve, reject) => fuse.mount(err => err ? reject(err) : resolve()))
  console.log(`mounted ${mnt}`)
  process.once('SIGTERM', () => fuse.unmount(() => process.exit(0)))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
