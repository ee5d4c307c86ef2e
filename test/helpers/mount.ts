/**
 * A real pfs mount for tests: `pfs mount` runs as a child process (so this process may
 * block freely), on a fresh store in a temp folder; commands against the mount run as
 * child processes too. Teardown always stops the mount and clears the mount point, even
 * when the test failed or the mount was killed.
 *
 * @example
 *   const m = await mountPfs(t)
 *   await m.pfs(['repo', 'create', 'images'])
 *   const r = await m.sh('echo hi > $M/images/master/a.txt && cat $M/images/master/a.txt')
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { promises as fsp, mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { PFS_BIN, runPfs, type RunResult, type RunOptions } from './cli.js'

const execFileP = promisify(execFile)

export interface Mount {
  /** The mount point; also $M in `sh`. */
  dir: string
  store: string
  /** A scratch folder outside the mount; $L in `sh`. */
  local: string
  proc: ChildProcess
  /** Output of the mount process so far. */
  output: () => string
  /** Runs `pfs <args> --store <store>`. */
  pfs: (args: string[], opts?: RunOptions) => Promise<RunResult>
  /** Runs a bash script with M, L and STORE set; cwd is `local`. */
  sh: (script: string, opts?: { timeoutMs?: number }) => Promise<RunResult>
  /** Starts the mount (again) after stop/kill. */
  start: (args?: string[]) => Promise<void>
  /** SIGTERM and wait: a clean stop (commits open sessions). */
  stop: () => Promise<void>
  /** SIGKILL: a crash; the mount point is left stale. */
  kill: () => Promise<void>
}

export interface MountOptions {
  args?: string[]
  store?: string
  /** More environment for the mount process (and only it). */
  env?: Record<string, string>
}

export async function mountPfs (t: Test, opts: MountOptions = {}): Promise<Mount> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pfs-mnt-'))
  const dir = path.join(root, 'pfs')
  const local = path.join(root, 'local')
  const store = opts.store ?? path.join(root, 'store')
  await fsp.mkdir(local)
  let out = ''
  const m: Mount = {
    dir,
    store,
    local,
    proc: undefined as unknown as ChildProcess,
    output: () => out,
    pfs: async (args, o = {}) => await runPfs(['--store', store, ...args], { cwd: local, ...o }),
    sh: async (script, o = {}) =>
      await sh(script, { M: dir, L: local, STORE: store, PFS_STORE: store }, local, o.timeoutMs ?? 60_000),
    start: async (args = opts.args ?? []) => {
      out = ''
      m.proc = spawn(process.execPath, [PFS_BIN, '--store', store, 'mount', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(opts.env) })
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pfs mount did not start in 30 s:\n${out}`)), 30_000)
        const onData = (b: Buffer): void => {
          out += b.toString()
          if (/^mounted /m.test(out)) { clearTimeout(timer); resolve() }
        }
        m.proc.stdout?.on('data', onData)
        m.proc.stderr?.on('data', (b: Buffer) => { out += b.toString() })
        m.proc.once('exit', code => { clearTimeout(timer); reject(new Error(`pfs mount exited (${String(code)}):\n${out}`)) })
      })
    },
    stop: async () => {
      if (m.proc.exitCode !== null || m.proc.signalCode !== null) return
      const exited = new Promise(resolve => m.proc.once('exit', resolve))
      m.proc.kill('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([exited, new Promise(resolve => { timer = setTimeout(resolve, 60_000) })])
      clearTimeout(timer)
    },
    kill: async () => {
      if (m.proc.exitCode !== null || m.proc.signalCode !== null) return
      const exited = new Promise(resolve => m.proc.once('exit', resolve))
      m.proc.kill('SIGKILL')
      await exited
    }
  }
  t.teardown(async () => {
    await m.stop().catch(() => {})
    if (m.proc.exitCode === null && m.proc.signalCode === null) await m.kill()
    await execFileP('fusermount', ['-uz', dir]).catch(() => {})
    await fsp.rm(root, { recursive: true, force: true }).catch(() => {})
  })
  await m.start()
  return m
}

function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // tap's loader hooks must not leak into the children
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, PFS_NO_PROGRESS_IN_TESTS: '1' }
  delete env.NODE_OPTIONS
  return env
}

async function sh (script: string, vars: Record<string, string>, cwd: string, timeoutMs: number): Promise<RunResult> {
  return await new Promise(resolve => {
    const child = spawn('bash', ['-c', script], { cwd, env: childEnv(vars), stdio: ['ignore', 'pipe', 'pipe'] })
    const outs: Buffer[] = []; const errs: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => outs.push(b))
    child.stderr.on('data', (b: Buffer) => errs.push(b))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', code => {
      clearTimeout(timer)
      const out = Buffer.concat(outs)
      resolve({ code, stdout: out.toString(), stderr: Buffer.concat(errs).toString(), out })
    })
  })
}
