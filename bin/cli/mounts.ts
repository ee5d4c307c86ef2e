/**
 * Where mounts are: the default folder, and a registry (one small file per mounted folder)
 * so `pfs unmount` can ask the right process to stop cleanly. The registry and the mounts'
 * spool folders live in a folder only this user can write (`$XDG_RUNTIME_DIR/pfs`, else
 * `<tmp>/pfs-<uid>`), checked before use, and a record is acted on only when it is this
 * user's and its process is the very mount it names.
 */
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { promises as fsp, constants } from 'node:fs'
import { invalidArgument } from '../../store/index.js'

export interface MountRecord {
  pid: number
  dir: string
  store: string
  /** The process's start time (field 22 of /proc/<pid>/stat), so a reused pid is not taken for it. */
  started?: string
}

const uid = (): number => process.getuid?.() ?? -1

/** This user's own folder for mount records and spools: created 0700, refused if anyone else could write it. */
export async function runtimeDir (): Promise<string> {
  const xdg = process.env.XDG_RUNTIME_DIR
  const dir = xdg !== undefined && xdg !== '' ? path.join(xdg, 'pfs') : path.join(os.tmpdir(), `pfs-${uid()}`)
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await fsp.lstat(dir)
  if (!st.isDirectory() || st.uid !== uid()) {
    const who = st.isDirectory() ? `belongs to uid ${st.uid}` : 'is not a folder'
    throw invalidArgument(`${dir} ${who}, so pfs cannot keep its mount records there safely; ` +
      'remove it, or set XDG_RUNTIME_DIR to a folder of your own', { dir })
  }
  if ((st.mode & 0o077) !== 0) await fsp.chmod(dir, 0o700)
  return dir
}

const recordFile = async (dir: string): Promise<string> => path.join(await runtimeDir(), 'mounts',
  createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16) + '.json')

/** `/pfs` when it exists and is writable or can be created, else `~/pfs`. */
export async function defaultMountDir (): Promise<string> {
  try {
    await fsp.mkdir('/pfs', { recursive: true })
    await fsp.access('/pfs', constants.W_OK)
    return '/pfs'
  } catch {
    return path.join(os.homedir(), 'pfs')
  }
}

/** Records this process as the mount at `dir`. */
export async function recordMount (dir: string, store: string): Promise<void> {
  const file = await recordFile(dir)
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  const rec: MountRecord = { pid: process.pid, dir: path.resolve(dir), store, started: await startTime(process.pid) }
  const tmp = `${file}.${process.pid}`
  await fsp.writeFile(tmp, JSON.stringify(rec), { mode: 0o600 })
  await fsp.rename(tmp, file)
}

/**
 * The live process mounted at `dir`, by its record: undefined when there is no record, or
 * when it is not trustworthy (not this user's file, another folder, a process that is gone
 * or is not the one that wrote it).
 */
export async function findMount (dir: string): Promise<MountRecord | undefined> {
  try {
    const file = await recordFile(dir)
    const st = await fsp.lstat(file)
    if (!st.isFile() || st.uid !== uid()) return undefined
    const rec = JSON.parse(await fsp.readFile(file, 'utf8')) as MountRecord
    if (!Number.isInteger(rec.pid) || rec.pid <= 1 || rec.dir !== path.resolve(dir)) return undefined
    if (!alive(rec.pid) || rec.started === undefined || await startTime(rec.pid) !== rec.started) return undefined
    const proc = await fsp.stat(`/proc/${rec.pid}`)
    return proc.uid === uid() ? rec : undefined
  } catch {
    return undefined
  }
}

export async function forgetMount (dir: string): Promise<void> {
  await fsp.rm(await recordFile(dir), { force: true })
}

export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A process's start time in clock ticks since boot, or undefined when it is gone. */
async function startTime (pid: number): Promise<string | undefined> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  // The command name (field 2) is in parentheses and may hold spaces: count after its end.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}
