/**
 * Where mounts are: the default folder, and a registry (one small file per mounted
 * folder, in the temp folder) so `pfs unmount` can ask the right process to stop cleanly.
 */
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { promises as fsp, constants } from 'node:fs'

export interface MountRecord { pid: number, dir: string, store: string }

const registry = (): string => path.join(os.tmpdir(), 'pfs-mounts')
const recordFile = (dir: string): string =>
  path.join(registry(), createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16) + '.json')

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

export async function recordMount (rec: MountRecord): Promise<void> {
  await fsp.mkdir(registry(), { recursive: true, mode: 0o700 })
  await fsp.writeFile(recordFile(rec.dir), JSON.stringify(rec))
}

export async function findMount (dir: string): Promise<MountRecord | undefined> {
  try {
    return JSON.parse(await fsp.readFile(recordFile(dir), 'utf8')) as MountRecord
  } catch {
    return undefined
  }
}

export async function forgetMount (dir: string): Promise<void> {
  await fsp.rm(recordFile(dir), { force: true })
}

export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
