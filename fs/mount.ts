/**
 * Mounting: wires PfsFs to fuse-native (fuse-handlers.ts), clears a stale mount left by a
 * crash, and on a clean stop saves open files, commits the write sessions this mount
 * changed, and unmounts. Mounted for the current user only unless `allowOther`; always
 * with `default_permissions`, so the kernel checks every caller against the files' owners
 * and permission bits.
 */
import Fuse from 'fuse-native'
import { promises as fsp } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import path from 'node:path'
import { type Pfs, busy, invalidArgument, printable } from '../store/index.js'
import { PfsFs, type FsOptions } from './operations.js'
import { handlers } from './fuse-handlers.js'

const run = promisify(execFile)

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
export async function isStale (dir: string): Promise<boolean> {
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

/**
 * Detaches a mount (`fusermount -uz`, else `umount -l`). Throws BUSY, with what both
 * said, when it is still mounted afterwards.
 */
export async function lazyUnmount (dir: string): Promise<void> {
  const said: string[] = []
  for (const [cmd, args] of [['fusermount', ['-uz', dir]], ['umount', ['-l', dir]]] as const) {
    try {
      await run(cmd, [...args])
      if (!await isMountPoint(dir)) return
      said.push(`${cmd}: still mounted afterwards`)
    } catch (e) {
      const err = e as { stderr?: string, message: string }
      said.push(`${cmd}: ${(err.stderr ?? '').trim() || err.message}`)
    }
  }
  if (!await isMountPoint(dir)) return
  const how = `close what uses it, or run \`umount -l ${dir}\` as root`
  throw busy(`could not unmount ${dir} (${said.join('; ')}); ${how}`, { dir })
}

const STAT_FAILURES: Record<string, string> = {
  ENOTDIR: 'part of its path is a file', EACCES: 'permission denied', ELOOP: 'a loop of symbolic links'
}

/** The mount point is an empty folder (created when missing): FUSE would hide what is in a full one. */
async function checkMountPoint (dir: string): Promise<void> {
  const st = await fsp.stat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    const reason = STAT_FAILURES[e.code ?? ''] ?? e.code ?? e.message
    throw invalidArgument(`cannot mount on ${printable(dir)}: ${reason}; name an empty folder`, { dir })
  })
  if (st === undefined) {
    await fsp.mkdir(dir, { recursive: true })
    return
  }
  if (!st.isDirectory()) {
    throw invalidArgument(`cannot mount on ${printable(dir)}: it is not a folder; name an empty folder ` +
      '(or one to create)', { dir })
  }
  const entries = await fsp.readdir(dir)
  if (entries.length > 0) {
    throw invalidArgument(`cannot mount on ${printable(dir)}: it is not empty (${entries.length} entries ` +
      'the mount would hide); name an empty folder', { dir })
  }
}

export async function mountPfs (pfs: Pfs, dir: string, opts: MountOptions): Promise<Mounted> {
  dir = path.resolve(dir)
  if (await isStale(dir)) {
    opts.log(`pfs mount: clearing a stale mount at ${dir} (its process is gone)`)
    await lazyUnmount(dir)
  } else if (await isMountPoint(dir)) {
    throw busy(`${dir} is already mounted; run \`pfs unmount ${dir}\` first or choose another folder`, { dir })
  }
  await checkMountPoint(dir)
  const fs = new PfsFs(pfs, opts)
  const allowOther = opts.allowOther === true
  const fuse: Fuse = new Fuse(dir, handlers(fs, opts.log, () => fuse.caller), {
    allowOther,
    // The kernel checks permission bits and owners (open, create, chmod, chown, utimens,
    // the sticky bit) from what getattr says, for every user, exactly as for a disk.
    defaultPermissions: true,
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
  // noatime: reading never changes an atime (it would be a write into the branch); an
  // atime set by touch -a or utimens is kept.
  fuse._fuseOptions = () => `${base()},big_writes,noatime`.replace(/^,/, '-o')
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
          // fuse-native unmounts through a shell (`fusermount -uz`); once in a while that
          // child's exit is never reported (seen under load: a zombie `sh`), and the stop
          // would wait for ever. After 5 s the check below detaches the folder if needed.
          await new Promise<void>(resolve => {
            const timer = setTimeout(resolve, 5000)
            fuse.unmount(() => { clearTimeout(timer); resolve() })
          })
          if (await isMountPoint(dir)) await lazyUnmount(dir)
          await fsp.rm(opts.spoolDir, { recursive: true, force: true })
        }
      })()
      return await stopping
    }
  }
}
