/**
 * The peers pfs is measured against: restic, run as a child process with a timer.
 * Each restic repository gets its own cache folder inside the benchmark folder, so a run
 * leaves nothing behind in ~/.cache.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { dirBytes } from './measure.js'

export interface RunResult { ms: number, stdout: string, stderr: string }

/**
 * Runs a command to completion; rejects with its stderr when it exits non-zero. With
 * `discardStdout`, its output goes straight to /dev/null (for gigabytes of it).
 */
export async function run (cmd: string, args: string[],
  opts: { env?: NodeJS.ProcessEnv, cwd?: string, discardStdout?: boolean } = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const out = opts.discardStdout === true ? 'ignore' : 'pipe'
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', out, 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s })
    child.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    child.on('error', reject)
    child.on('close', code => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (code === 0) resolve({ ms, stdout, stderr })
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${String(code)}: ${stderr.trim().slice(0, 500)}`))
    })
  })
}

/** A local restic repository. */
export class Restic {
  constructor (readonly repo: string) {}

  private env (): NodeJS.ProcessEnv {
    return {
      ...process.env,
      RESTIC_PASSWORD: 'x',
      RESTIC_CACHE_DIR: path.join(path.dirname(this.repo), `${path.basename(this.repo)}.cache`)
    }
  }

  async init (): Promise<void> {
    await run('restic', ['init', '--repo', this.repo], { env: this.env() })
  }

  /** `restic backup PATHS --quiet`; resolves to the wall time of the backup alone. */
  async backup (paths: string[], cwd?: string): Promise<number> {
    return (await run('restic', ['-r', this.repo, 'backup', ...paths, '--quiet'], { env: this.env(), cwd })).ms
  }

  /** `restic dump latest FILE > /dev/null` (restic checks every blob it reads); resolves to its wall time. */
  async dump (file: string): Promise<number> {
    return (await run('restic', ['-r', this.repo, 'dump', 'latest', file, '--quiet'],
      { env: this.env(), discardStdout: true })).ms
  }

  /** Bytes of blobs in the repository (`restic stats --mode raw-data`). */
  async rawDataBytes (): Promise<number> {
    const args = ['-r', this.repo, 'stats', '--mode', 'raw-data', '--json', '--quiet']
    const r = await run('restic', args, { env: this.env() })
    return (JSON.parse(r.stdout) as { total_size: number }).total_size
  }

  /** Bytes in the repository folder: packs, indexes, snapshots. */
  async repoBytes (): Promise<number> {
    return await dirBytes(this.repo)
  }
}

export async function resticVersion (): Promise<string> {
  return (await run('restic', ['version'])).stdout.trim().split(' ').slice(0, 2).join(' ')
}
