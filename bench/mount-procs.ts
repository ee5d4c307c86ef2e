/**
 * The processes the mount benchmark drives: a `pfs mount` child (optionally under
 * `node --cpu-prof`), an `rclone mount` of a plain folder, and timed shell commands.
 * Every mount is stopped with SIGTERM and, if it lingers, `fusermount -uz`, so a failed
 * run never leaves a mount behind in the benchmark folder.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from './peers.js'

/** The built CLI next to this file: dist/bench/ -> dist/bin/pfs.js. */
const PFS_BIN = fileURLToPath(new URL('../bin/pfs.js', import.meta.url))

/** Runs `sh -c script` with args as $1..; resolves to its wall time in ms. */
export async function sh (script: string, ...args: string[]): Promise<number> {
  return (await run('sh', ['-c', script, 'sh', ...args])).ms
}

/** `sync` then drop the page, dentry and inode caches; false when not permitted (not root). */
export async function dropCaches (): Promise<boolean> {
  try {
    await sh('sync; echo 3 > /proc/sys/vm/drop_caches')
    return true
  } catch {
    return false
  }
}

/** The pfs CLI against `store` (through the running mount's socket). */
export async function pfsCli (store: string, ...args: string[]): Promise<number> {
  return (await run(process.execPath, [PFS_BIN, '--store', store, ...args])).ms
}

async function isMounted (dir: string): Promise<boolean> {
  const target = path.resolve(dir).replace(/ /g, '\\040')
  const mounts = await fsp.readFile('/proc/mounts', 'utf8')
  return mounts.split('\n').some(l => l.split(' ')[1] === target)
}

async function waitFor (what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms
  while (!await ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function exited (child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true
  return await new Promise(resolve => {
    const t = setTimeout(() => resolve(false), ms)
    child.once('exit', () => { clearTimeout(t); resolve(true) })
  })
}

/** A mount child process: SIGTERM, wait, then a lazy unmount if it is still there. */
abstract class MountProc {
  constructor (readonly child: ChildProcess, readonly dir: string) {}

  get pid (): number { return this.child.pid as number }

  /** Peak resident set of the process so far, in bytes (VmHWM). */
  async peakRss (): Promise<number> {
    const status = await fsp.readFile(`/proc/${this.pid}/status`, 'utf8')
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status)
    if (m === null) throw new Error(`no VmHWM in /proc/${this.pid}/status`)
    return Number(m[1]) * 1024
  }

  async stop (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    if (!await exited(this.child, 120_000)) this.child.kill('SIGKILL')
    if (await isMounted(this.dir)) await run('fusermount', ['-uz', this.dir]).catch(() => {})
  }
}

/** Starts `node ...args` as a mount that prints a line starting with `mounted` when ready. */
async function startNodeMount<T extends MountProc> (make: (c: ChildProcess) => T, args: string[],
  what: string): Promise<T> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const m = make(child)
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-4000) })
  try {
    await waitFor(`${what} to print "mounted"`, 60_000, async () => {
      if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${err.trim()}`)
      return out.split('\n').some(l => l.startsWith('mounted'))
    })
  } catch (e) {
    await m.stop()
    throw e
  }
  return m
}

export class PfsMount extends MountProc {
  /**
   * Starts `pfs --store STORE mount DIR [extra...]` and resolves once it printed `mounted`.
   * With `cpuProfDir`, the process runs under `node --cpu-prof` and writes its profile
   * there when it stops.
   */
  static async start (store: string, dir: string,
    opts: { cpuProfDir?: string, extra?: string[] } = {}): Promise<PfsMount> {
    await fsp.mkdir(dir, { recursive: true })
    const prof = opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir]
    const args = [...prof, PFS_BIN, '--store', store, 'mount', dir, ...opts.extra ?? []]
    return await startNodeMount(c => new PfsMount(c, dir), args, 'pfs mount')
  }
}

/** bench/mount-floor.ts: a fuse-native file system that answers every call at once. */
export class FloorMount extends MountProc {
  static async start (dir: string, entries: number, bytes: number): Promise<FloorMount> {
    await fsp.mkdir(dir, { recursive: true })
    const script = fileURLToPath(new URL('./mount-floor.js', import.meta.url))
    const args = [script, dir, String(entries), String(bytes)]
    return await startNodeMount(c => new FloorMount(c, dir), args, 'the floor mount')
  }
}

export class RcloneMount extends MountProc {
  /** `rclone mount SRC DIR --vfs-cache-mode off` (a local folder as the remote). */
  static async start (src: string, dir: string): Promise<RcloneMount> {
    await fsp.mkdir(dir, { recursive: true })
    const child = spawn('rclone', ['mount', src, dir, '--vfs-cache-mode', 'off'], {
      stdio: ['ignore', 'ignore', 'pipe']
    })
    const m = new RcloneMount(child, dir)
    let err = ''
    child.stderr?.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-4000) })
    try {
      await waitFor('rclone mount', 30_000, async () => {
        if (child.exitCode !== null) throw new Error(`rclone mount exited with ${child.exitCode}: ${err.trim()}`)
        return await isMounted(dir)
      })
    } catch (e) {
      await m.stop()
      throw e
    }
    return m
  }
}

/** `rclone version`'s first line, e.g. `rclone v1.60.1-DEV`. */
export async function rcloneVersion (): Promise<string> {
  return (await run('rclone', ['version'])).stdout.split('\n')[0].trim()
}
