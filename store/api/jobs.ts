/**
 * Pipelines and jobs as the store keeps them. The store does not read specs (runner/ owns
 * their meaning): it keeps each version's spec as JSON with the version's hash, knows
 * which branches trigger a pipeline and which repo is its output, and queues a job in the
 * same index batch as the commit that triggers it, so a crash never loses one.
 */

/** What `createPipeline` is given: the runner's checked spec and what it derived from it. */
export interface PipelineDef {
  name: string
  description?: string
  /** The spec as checked by the runner, stored as given. */
  spec: unknown
  /** Hash of what makes a new version (transform, image, env, inputs; not parallelism). */
  hash: string
  /** Branches whose new commits make a job. */
  inputs: Array<{ repo: string, branch: string }>
  /** Branch of the output repo (named after the pipeline) the jobs commit to. */
  outputBranch: string
  /** Input repos the pipeline feeds itself (a cron input's ticks), made if missing. */
  createRepos?: string[]
}

export interface PipelineVersion {
  version: number
  hash: string
  spec: unknown
  created: number
}

export interface PipelineInfo {
  name: string
  description: string
  /** 'stopped': new commits queue no jobs until `start`. */
  state: 'running' | 'stopped'
  created: number
  /** The current version (the newest). */
  version: number
  hash: string
  spec: unknown
  inputs: Array<{ repo: string, branch: string }>
  outputBranch: string
  /** Every version, oldest first. */
  versions: PipelineVersion[]
}

export type JobState = 'queued' | 'running' | 'success' | 'failure' | 'killed'

/** Counts and times of a job (milliseconds, bytes). */
export interface JobStats {
  datums: number
  processed: number
  skipped: number
  failed: number
  recovered: number
  bytesIn: number
  bytesOut: number
  /** From the job's start to its first datum's start. */
  firstDatumMs?: number
}

export interface JobInfo {
  id: string
  pipeline: string
  /** The pipeline version the job runs. */
  version: number
  /** Shared by every job and commit downstream of one user commit. */
  commitSet: string
  state: JobState
  /** Why it waits, failed or was killed, in a line. */
  reason: string
  /**
   * The commit of every input branch the job reads (null: no commit yet): its head when the
   * job was queued, or, for the output of an upstream job of the same commit set (`from`),
   * that job's output commit once it has finished.
   */
  inputs: Array<{ repo: string, branch: string, commit: string | null, from?: string }>
  /** Upstream jobs of the same commit set whose output commits this job waits for. */
  waitsFor: string[]
  /** What queued it: a commit to an input, or the pipeline's creation or update. */
  trigger: { kind: 'commit', repo: string, commit: string } | { kind: 'create' | 'update' }
  /** Run every datum again, even those that succeeded before. */
  reprocess: boolean
  created: number
  started: number | null
  finished: number | null
  /** The output commit, once the job opened one. */
  output: string | null
  stats: JobStats
}

/** What the runner may change of a job. */
export interface JobUpdate {
  state?: JobState
  reason?: string
  started?: number
  finished?: number
  output?: string
  stats?: Partial<JobStats>
}

export type DatumState = 'success' | 'failed' | 'recovered' | 'skipped'

/** A datum as a job left it: what it saw, how it ended, and where its output is. */
export interface DatumRecord {
  /** Hex SHA-256 of its input names and paths. */
  id: string
  /** Its id plus input content hashes and the pipeline version: equal keys, equal work. */
  key: string
  job: string
  state: DatumState
  inputs: Array<{ name: string, repo: string, commit: string, path: string }>
  /** The output files it wrote, as paths in the output repo. */
  outputs: string[]
  /** The output commit its files were written to (reused from there when skipped). */
  commit: string | null
  tries: number
  /** Why it failed, in a line (exit code, signal, timeout, out of memory). */
  reason: string
  exitCode: number | null
  /** Milliseconds preparing (inputs, sandbox), running and uploading. */
  ms: { prepare: number, run: number, upload: number }
  bytesIn: number
  bytesOut: number
  finished: number
}

/** One line a datum's command printed (or the runner wrote about it), as `appendLogs` takes it. */
export interface LogEntry {
  /** The datum's id; '' for a line about the whole job. */
  datum: string
  /** The datum's inputs, as `name:/path`. */
  paths: string[]
  /** 'pfs': a line of the runner's (a retry, a kill, a failure). */
  stream: 'stdout' | 'stderr' | 'pfs'
  line: string
  /** ms since the epoch. */
  time: number
  /** Which attempt of the datum, from 1. */
  attempt: number
}

/** A kept log line, as `readLogs` gives it. */
export interface LogLine extends LogEntry {
  job: string
  pipeline: string
}

export interface LogQuery {
  /** The lines of one pipeline's jobs, oldest job first. */
  pipeline?: string
  /** The lines of one job. */
  job?: string
  /** The lines of one datum (its id, or a prefix of at least 4 hex digits). */
  datum?: string
  /** A page's `next`: the lines kept after it. */
  after?: string
  /** Lines per page (default 1000); a page ends on a whole batch, so it may hold a few more. */
  limit?: number
}
