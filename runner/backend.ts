/**
 * Where a datum runs. The runner plans jobs and keeps their state; a backend only runs one
 * datum's command and reports how it ended. The local backend (local.ts) runs a bubblewrap
 * sandbox; the Kubernetes one will run a pod. Both see the datum's inputs through a pfs
 * mount, read-only, and write `/pfs/out`.
 */

/** One input entry a datum sees: `/pfs/<name>/<path>` is `<repo>` at `<commit>`, `<path>`. */
interface DatumView {
  name: string
  repo: string
  commit: string
  /** Path inside the commit; '' is the whole commit. */
  path: string
}

export interface Resources {
  /** Cores (1.5 is one and a half). */
  cpu?: number
  memoryBytes?: number
  gpu?: { type: string, number: number }
}

export interface DatumRun {
  job: string
  datum: string
  cmd: string[]
  /** Written to the command's stdin, then closed. */
  stdin: string
  env: Record<string, string>
  inputs: DatumView[]
  /**
   * The local folder that is the datum's `/pfs/out`: the backend makes it (and whatever
   * the datum writes ends up in it); the runner adds what is there to the output commit.
   */
  outDir: string
  workingDir?: string
  network: boolean
  /** Kill the whole process tree after this long. */
  timeoutMs?: number
  resources: Resources
  /** Every line of stdout and stderr as it comes. */
  onLog: (stream: 'stdout' | 'stderr', line: string) => void
}

export interface DatumResult {
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  /** Killed for going over its memory limit. */
  outOfMemory: boolean
  /** Stopped through the AbortSignal. */
  stopped: boolean
  ms: number
  /** Limits that could not be enforced here (recorded, not applied). */
  warnings: string[]
  /** Why the command could not be started at all. */
  error?: string
}

export interface Backend {
  readonly name: string
  run (d: DatumRun, signal?: AbortSignal): Promise<DatumResult>
}
