/**
 * A file or folder of a commit written to a local path. Each file goes to a temp name
 * beside its destination and is renamed into place once whole, so an interrupted get
 * never leaves a half-written file under the real name. Times and modes follow the
 * store; folder times are set last, since writing into a folder changes its mtime.
 * Run as root, owners follow the store too (as `tar x` and `cp -a` do for root); fifos
 * and devices are made with mknod(1). Sockets are skipped, as tar skips them (a socket
 * only means something to the process that bound it), and so are devices unless run as
 * root (only root may make them); the result counts what was skipped.
 */
import { createWriteStream, promises as fsp } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Readable } from 'node:stream'
import type { FileInfo, MetaApi } from '../api/meta.js'
import { normPath } from '../api/names.js'
import { invalidArgument, printable } from '../api/errors.js'
import { type ProgressOptions, throttle } from '../api/progress.js'

/** Files written, their bytes, and special files not made (sockets; devices when not root). */
export interface GetResult { files: number, bytes: number, skipped: number }

export interface GetSource {
  meta: Pick<MetaApi, 'stat' | 'walk'>
  read: (repo: string, rev: string, path: string) => Promise<Readable>
}

export async function getLocal (s: GetSource, repo: string, rev: string, p: string, dest: string,
  opts: ProgressOptions): Promise<GetResult> {
  const src = normPath(p)
  const root = await s.meta.stat(repo, rev, src)
  const out = { files: 0, bytes: 0, skipped: 0 }
  const fetch = async (info: FileInfo, to: string): Promise<void> => {
    const device = info.kind === 'chardev' || info.kind === 'blockdev'
    if (info.kind === 'socket' || (device && process.getuid?.() !== 0)) { out.skipped++; return }
    await fetchEntry(s, repo, rev, info, to)
    if (info.kind === 'file') { out.files++; out.bytes += info.size }
  }
  if (root.kind !== 'dir') {
    if (root.kind === 'file' && await intoSpecialFile(s, repo, rev, root, dest)) {
      return { files: 1, bytes: root.size, skipped: 0 }
    }
    await fetch(root, dest)
    return out
  }
  const tick = throttle(opts.onProgress)
  const progress = (final = false): void => {
    tick({ phase: 'get', done: out.files, bytes: out.bytes, totalBytes: root.size }, final)
  }
  await fsp.mkdir(dest, { recursive: true })
  const dirs: Array<{ to: string, mtime: number }> = []
  let after: string | undefined
  do {
    const page = await s.meta.walk(repo, rev, src, { after, limit: 1000 })
    for (const f of page.entries) {
      const rel = src === '' ? f.path : f.path.slice(src.length + 1)
      const to = path.join(dest, ...rel.split('/'))
      await fetch(f, to)
      if (f.kind === 'dir') dirs.push({ to, mtime: f.mtime })
      progress()
    }
    after = page.next
  } while (after !== undefined)
  for (const d of dirs.reverse()) await fsp.utimes(d.to, new Date(), new Date(d.mtime))
  progress(true)
  return out
}

/**
 * A file named as the destination that is a fifo or a character device (`-o /dev/stdout`,
 * `-o /dev/null`, a named pipe) is written into, as `cp` does, never replaced by a regular
 * file; a socket or a block device is refused. Returns false for anything else.
 */
async function intoSpecialFile (s: GetSource, repo: string, rev: string, info: FileInfo, dest: string):
Promise<boolean> {
  const st = await fsp.stat(dest).catch(() => undefined)
  if (st === undefined || st.isFile() || st.isDirectory() || st.isSymbolicLink()) return false
  if (st.isFIFO() || st.isCharacterDevice()) {
    await pipeline(await s.read(repo, rev, info.path), createWriteStream(dest, { flags: 'w' }))
      .catch((e: NodeJS.ErrnoException) => { throw Object.assign(e, { path: e.path ?? dest }) })
    return true
  }
  const what = st.isSocket() ? 'a socket' : st.isBlockDevice() ? 'a block device' : 'a special file'
  throw invalidArgument(`local path '${printable(dest)}' is ${what}; pfs get writes regular files, ` +
    'fifos and character devices: give another path', { path: dest })
}

async function fetchEntry (s: GetSource, repo: string, rev: string, info: FileInfo, to: string): Promise<void> {
  if (info.kind === 'symlink') {
    await fsp.rm(to, { force: true })
    await fsp.symlink(info.target ?? '', to)
    await chownAsStored(to, info)
    await fsp.lutimes(to, new Date(info.atime ?? info.mtime), new Date(info.mtime))
    return
  }
  if (info.kind === 'dir') {
    await fsp.mkdir(to, { recursive: true })
    await chownAsStored(to, info)
    await fsp.chmod(to, info.mode)
    return
  }
  const tmp = `${to}.pfs-tmp-${randomBytes(4).toString('hex')}`
  try {
    if (info.kind === 'file') {
      await pipeline(await s.read(repo, rev, info.path), createWriteStream(tmp, { mode: info.mode }))
    } else {
      await makeNode(tmp, info)
    }
    await chownAsStored(tmp, info)
    await fsp.chmod(tmp, info.mode)
    await fsp.utimes(tmp, new Date(info.atime ?? info.mtime), new Date(info.mtime))
    await fsp.rename(tmp, to)
  } catch (e) {
    await fsp.rm(tmp, { force: true })
    throw e
  }
}

const run = promisify(execFile)

/** A fifo or device node at `to`, by mknod(1) (Node has no mknod). */
async function makeNode (to: string, info: FileInfo): Promise<void> {
  const rdev = info.rdev ?? 0
  // Linux's encoding of a device number (major and minor split across the bits).
  const major = ((rdev >>> 8) & 0xfff) | Math.floor(rdev / 2 ** 32) & ~0xfff
  const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff)
  const args = info.kind === 'fifo' ? [to, 'p'] : [to, info.kind === 'chardev' ? 'c' : 'b', `${major}`, `${minor}`]
  await run('mknod', args).catch((e: Error & { stderr?: string }) => {
    const why = (e.stderr ?? e.message).trim()
    throw invalidArgument(`cannot make ${info.kind} '${printable(to)}': ${why}`, { path: to })
  })
}

/** Gives `to` the stored owner when run as root (others cannot, and their files are theirs). */
async function chownAsStored (to: string, info: FileInfo): Promise<void> {
  if (process.getuid?.() !== 0 || (info.uid === undefined && info.gid === undefined)) return
  await fsp.lchown(to, info.uid ?? -1, info.gid ?? -1)
}
