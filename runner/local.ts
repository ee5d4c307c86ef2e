/**
 * The local backend: each datum is a bubblewrap sandbox. Its root is an empty read-only
 * tmpfs with the host's /usr and /etc read-only; `/pfs/<input>/<path>` are read-only binds
 * of the datum's entries in a pfs mount (`<mount>/<repo>/.commits/<commit>/<path>`), so
 * nothing is copied and big files stream; `/pfs/out` is the datum's output folder; `/tmp`
 * is private; there is no network unless the spec asks. Every namespace is unshared, so
 * killing the sandbox (timeout, stop, runner exit) ends its whole process tree.
 */
import { spawn } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { createInterface } from 'node:readline'
import path from 'node:path'
import { invalidArgument } from '../store/index.js'
import type { Backend, DatumResult, DatumRun } from './backend.js'
import { makeCgroup } from './cgroup.js'

export interface LocalOptions {
  /** Where a pfs mount of the store is: `<mount>/<repo>/.commits/<commit>/` is read. */
  mount: string
  /** The bubblewrap binary (default `bwrap` on PATH). */
  bwrap?: string
}

/** How long output may go on after the sandbox exited before its pipes are cut. */
const DRAIN_MS = 2000

/** Host folders the sandbox sees read-only, and the links a Debian root has. */
const SYSTEM = ['--ro-bind', '/usr', '/usr', '--ro-bind', '/etc', '/etc',
  '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin',
  '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64']

export class LocalBackend implements Backend {
  readonly name = 'local'
  constructor (private readonly opts: LocalOptions) {}

  /** The bwrap arguments of a datum (exported for the sandbox's own start-cost benchmark). */
  args (d: DatumRun): string[] {
    const a = ['--tmpfs', '/', ...SYSTEM, '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp',
      '--unshare-all', '--die-with-parent', '--new-session']
    if (d.network) a.push('--share-net', '--ro-bind-try', '/run/systemd/resolve', '/run/systemd/resolve')
    const names = [...new Set(d.inputs.map(i => i.name))]
    for (const name of names) {
      if (name === 'out' || name.includes('/')) throw invalidArgument(`an input cannot be named '${name}'`)
      a.push('--tmpfs', `/pfs/${name}`)
    }
    for (const i of d.inputs) {
      const src = path.join(this.opts.mount, i.repo, '.commits', i.commit, i.path)
      a.push('--ro-bind', src, i.path === '' ? `/pfs/${i.name}` : path.posix.join('/pfs', i.name, i.path))
    }
    for (const name of names) a.push('--remount-ro', `/pfs/${name}`)
    a.push('--bind', d.outDir, '/pfs/out', '--remount-ro', '/', '--chdir', d.workingDir ?? '/pfs')
    a.push('--clearenv', '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'HOME', '/tmp',
      '--setenv', 'TMPDIR', '/tmp')
    for (const [k, v] of Object.entries(d.env)) a.push('--setenv', k, v)
    return [...a, '--', ...d.cmd]
  }

  async run (d: DatumRun, signal?: AbortSignal): Promise<DatumResult> {
    const started = Date.now()
    await fsp.mkdir(d.outDir, { recursive: true })
    const cg = await makeCgroup(`${d.job.slice(0, 12)}-${d.datum.slice(0, 12)}-${process.pid}`, d.resources)
    const warnings = [...cg.warnings]
    if (d.resources.gpu !== undefined) {
      warnings.push(`gpu ${d.resources.gpu.type} × ${d.resources.gpu.number} recorded; the local backend has no GPUs`)
    }
    const bwrap = this.opts.bwrap ?? 'bwrap'
    // With limits, the first process joins the cgroup, then becomes bwrap: nothing it starts escapes.
    const join = 'for f in $PFS_CGROUP_PROCS; do echo $$ > "$f" || exit 125; done; exec "$@"'
    const [file, argv] = cg.cgroup === undefined
      ? [bwrap, this.args(d)]
      : ['/bin/sh', ['-c', join, 'sh', bwrap, ...this.args(d)]]
    // A process group of its own: a kill reaches bwrap's inner process too, which a kill of
    // bwrap alone can miss (killed between its fork and the inner one's death-signal setup,
    // the inner bwrap lives on, holding the datum's output pipes open).
    const child = spawn(file, argv, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PFS_CGROUP_PROCS: cg.cgroup?.procs.join(' ') ?? '' }
    })
    let timedOut = false
    let stopped = false
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }
    const timer = d.timeoutMs !== undefined ? setTimeout(() => { timedOut = true; kill() }, d.timeoutMs) : undefined
    const onAbort = (): void => { stopped = true; kill() }
    signal?.addEventListener('abort', onAbort)
    if (signal?.aborted === true) onAbort()
    const readers: Array<{ close: () => void }> = []
    const lines = (stream: 'stdout' | 'stderr', from: NodeJS.ReadableStream): Promise<void> => new Promise(resolve => {
      const rl = createInterface({ input: from, crlfDelay: Infinity })
      readers.push(rl)
      rl.on('line', l => { d.onLog(stream, l) })
      rl.on('close', resolve)
    })
    // Output ends when the sandbox exits; should anything still hold the pipes after that
    // (a process that escaped the kill), they are cut a moment later rather than waited on.
    let cutTimer: NodeJS.Timeout | undefined
    const cut = (): void => {
      const t = cutTimer = setTimeout(() => {
        kill()
        for (const rl of readers) rl.close()
        child.stdout.destroy()
        child.stderr.destroy()
      }, DRAIN_MS)
      t.unref()
    }
    child.stdin.on('error', () => {}) // a command that does not read its stdin may exit first
    child.stdin.end(d.stdin)
    let error: string | undefined
    const [[code, sig]] = await Promise.all([
      new Promise<[number | null, NodeJS.Signals | null]>(resolve => {
        child.on('error', e => {
          const missing = (e as NodeJS.ErrnoException).code === 'ENOENT'
          error = missing
            ? `${bwrap} is not installed; install bubblewrap (\`make\` does, or apt-get install bubblewrap)`
            : e.message
          resolve([null, null])
        })
        child.on('exit', (c, s) => { cut(); resolve([c, s]) })
      }),
      lines('stdout', child.stdout),
      lines('stderr', child.stderr)
    ]).finally(() => {
      clearTimeout(cutTimer)
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    })
    let outOfMemory = false
    if (cg.cgroup !== undefined) {
      // The kernel's OOM killer ends the process with SIGKILL; bwrap reports it as 137.
      if (sig === 'SIGKILL' || code === 137) outOfMemory = !timedOut && !stopped && await cg.cgroup.outOfMemory()
      await cg.cgroup.remove()
    }
    return {
      exitCode: code, signal: sig, timedOut, outOfMemory, stopped, ms: Date.now() - started, warnings,
      ...(error !== undefined ? { error } : {})
    }
  }
}
