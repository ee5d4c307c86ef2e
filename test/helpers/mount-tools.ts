/**
 * Small things the mount stories share: the CLI's `--json` answers, waiting for
 * something the mount shows eventually, and a python one-off run against the mount.
 *
 * @example
 *   const log = await pfsJson<CommitInfo[]>(m, ['log', 'images@master'])
 *   await until(async () => (await m.sh('cat $M/images/master/a')).stdout === 'new\n', 2000)
 */
import { existsSync, promises as fsp } from 'node:fs'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import type { Test } from 'tap'
import type { Mount } from './mount.js'
import type { RunResult } from './cli.js'

/**
 * The python3 interpreter itself: `python3` on PATH may be a version manager's shim
 * (pyenv) that costs a second per start on a busy machine.
 */
export const PY = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim()

/** Runs `pfs <args> --json` and parses its answer; throws with stderr when it fails. */
export async function pfsJson<T> (m: Mount, args: string[]): Promise<T> {
  const r = await m.pfs(['--json', ...args])
  if (r.code !== 0) throw new Error(`pfs ${args.join(' ')} exited ${String(r.code)}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

/**
 * Polls `check` every 100 ms until it returns true or `ms` passed; returns how long it
 * took, or -1 when it never became true.
 */
export async function until (check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await check()) return Date.now() - start
    if (Date.now() - start > ms) return -1
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** Runs a python3 program (given as text) with M, L and STORE in its environment. */
export async function python (m: Mount, program: string, args: string[] = []): Promise<RunResult> {
  const quoted = [program, ...args].map(a => `'${a.replace(/'/g, "'\\''")}'`)
  return await m.sh(`'${PY}' -c ${quoted.join(' ')}`)
}

export interface Background {
  pid: number
  /** Waits until the file `$L/<name>` exists (the program's way to say "I got here"). */
  reached: (name: string, ms?: number) => Promise<boolean>
  /** Creates `$L/<name>` (the test's way to say "go on"). */
  signal: (name: string) => Promise<void>
  /** What the program printed so far. */
  log: () => Promise<string>
  /** SIGKILL, if it still runs. */
  kill: () => void
}

/**
 * Starts a python3 program in the background (cwd $L, output to a log file), for the
 * stories where a process holds a file open while something else happens. It is killed
 * when the test ends.
 */
export async function pythonInBackground (t: Test, m: Mount, program: string,
  args: string[] = []): Promise<Background> {
  const name = `bg-${Date.now()}-${Math.random().toString(16).slice(2)}`
  const logFile = path.join(m.local, `${name}.log`)
  const quoted = [program, ...args].map(a => `'${a.replace(/'/g, "'\\''")}'`)
  const r = await m.sh(`'${PY}' -c ${quoted.join(' ')} > '${logFile}' 2>&1 & echo $!`)
  const pid = Number(r.stdout.trim())
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`could not start python: ${r.stderr}`)
  const alive = (): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
  const bg: Background = {
    pid,
    reached: async (file, ms = 20_000) => await until(async () => existsSync(path.join(m.local, file)), ms) >= 0,
    signal: async file => { await fsp.writeFile(path.join(m.local, file), '') },
    log: async () => await fsp.readFile(logFile, 'utf8').catch(() => ''),
    kill: () => { if (alive()) process.kill(pid, 'SIGKILL') }
  }
  t.teardown(() => bg.kill())
  return bg
}
