/**
 * What every phase of the mount benchmark shares: where things are, a fresh pfs mount
 * per phase (profiled when asked), timed reads, and figure formatting.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { GiB, MiB } from './measure.js'
import { run } from './peers.js'
import { PfsMount, type RcloneMount } from './mount-procs.js'
import { summarizeDir } from './mount-profile.js'

export interface Env {
  store: string
  plain: string
  /** pfs mount point, and the branch and commit folders of repo `data` in it. */
  mnt: string
  branch: string
  commitDir: string
  rclone: RcloneMount
  sizes: { read: number, entries: number, small: number, stream: number }
  /** Caches really dropped before cold runs (root). */
  cold: boolean
  profile?: string
}

/** Runs `fn` against a fresh pfs mount (profiled if asked), always unmounting after. */
export async function withMount<T> (env: Env, phase: string, fn: (m: PfsMount) => Promise<T>,
  extra: string[] = []): Promise<T> {
  const profDir = env.profile === undefined ? undefined : path.join(path.resolve(env.profile), phase)
  if (profDir !== undefined) await fsp.mkdir(profDir, { recursive: true })
  const m = await PfsMount.start(env.store, env.mnt, { cpuProfDir: profDir, extra })
  try {
    return await fn(m)
  } finally {
    await m.stop()
    if (profDir !== undefined) console.log(await summarizeDir(profDir, 15))
  }
}

export const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
export const rate = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000)
export const mibs = (r: number): string => `${r.toFixed(0)} MiB/s`
export const gib = (bytes: number): string => (bytes / GiB).toFixed(2)

/** `dd` of a whole file to /dev/null, checking every byte arrived; wall ms. */
export async function ddRead (file: string, size: number): Promise<number> {
  const r = await run('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M'])
  const copied = Number(/^(\d+) bytes/m.exec(r.stderr)?.[1])
  if (copied !== size) throw new Error(`dd read ${copied} bytes of ${file}, expected ${size}`)
  return r.ms
}
