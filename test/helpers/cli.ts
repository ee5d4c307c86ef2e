/**
 * Runs the built `pfs` binary (dist/bin/pfs.js, made by `npx tsc`) as a child process
 * against a fresh store in a temp folder, removed when the test ends.
 *
 * @example
 *   const { run, local } = pfsCli(t)
 *   const r = await run(['repo', 'create', 'images'])
 *   t.equal(r.code, 0)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

/** The binary under test; PFS_CLI_BIN points at another build (e.g. an installed one). */
export const PFS_BIN = process.env.PFS_CLI_BIN ?? fileURLToPath(new URL('../../dist/bin/pfs.js', import.meta.url))

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout as bytes, for binary files. */
  out: Buffer
}

export interface RunOptions {
  input?: string | Buffer
  cwd?: string
  env?: Record<string, string | undefined>
  /** Kill the child after this long; default 60 s. */
  timeoutMs?: number
}

export interface PfsCli {
  /** The store folder passed as --store. */
  store: string
  /** A scratch folder for local files (also the default cwd). */
  local: string
  run (args: string[], opts?: RunOptions): Promise<RunResult>
  /** Writes files under `local`: { 'a/b.txt': 'hello' }; returns their folder. */
  files (tree: Record<string, string | Buffer>, under?: string): string
}

export function pfsCli (t: Test): PfsCli {
  // Short paths under the system temp folder: `<store>/pfs.sock` must fit in 107 bytes.
  const root = mkdtempSync(path.join(os.tmpdir(), 'pfs-cli-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const store = path.join(root, 'store')
  const local = path.join(root, 'local')
  mkdirSync(local)
  return {
    store,
    local,
    run: (args, opts = {}) => runPfs(['--store', store, ...args], { cwd: local, ...opts }),
    files (tree, under = '') {
      const base = path.join(local, under)
      for (const [rel, data] of Object.entries(tree)) {
        const file = path.join(base, rel)
        mkdirSync(path.dirname(file), { recursive: true })
        writeFileSync(file, data)
      }
      return base
    }
  }
}

/** A user's mistake: exit 1, one line on stderr starting `pfs: ` (matching `re`), no stack trace. */
export function oneLineMistake (t: Test, r: RunResult, re?: RegExp): void {
  t.equal(r.code, 1, 'exit code 1')
  const lines = r.stderr.split('\n').filter(l => l !== '')
  t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`)
  t.match(lines[0], /^pfs: /)
  t.notMatch(r.stderr, /^\s+at /m, 'no stack trace')
  if (re) t.match(lines[0], re)
}

export async function runPfs (args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = spawnPfs(args, opts)
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (b: Buffer) => out.push(b))
  child.stderr.on('data', (b: Buffer) => err.push(b))
  child.stdin.on('error', () => {}) // a command that does not read stdin may exit first
  child.stdin.end(opts.input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', c => resolve(c))
  }).finally(() => clearTimeout(timer))
  const stdout = Buffer.concat(out)
  return { code, stdout: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), out: stdout }
}

/** Starts the binary and returns the child, for long-running commands like `serve`. */
export function spawnPfs (args: string[], opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {}): ChildProcessWithoutNullStreams {
  const env: NodeJS.ProcessEnv = { ...process.env, PFS_NO_PROGRESS_IN_TESTS: '1' }
  // The child must not find a server or store of the machine running the tests.
  // NODE_OPTIONS: tap's loader hooks would slow every child down and are not ours to test.
  for (const k of ['PFS_STORE', 'PFS_SERVER', 'PFS_TOKEN', 'PFS_TOKEN_FILE', 'PFS_DEBUG', 'NODE_OPTIONS']) delete env[k]
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return spawn(process.execPath, [PFS_BIN, ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
}
