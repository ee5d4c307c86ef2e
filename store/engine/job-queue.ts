/**
 * Queueing jobs, and commit sets. A commit on a branch that pipelines read queues, in its
 * own batch, one job for every running pipeline downstream of it (the whole DAG below the
 * branch), all in one commit set. A job whose input is the output of another job of the
 * set waits for it (`waitsFor`): when that job's output commit finishes, the input is set
 * to it and the wait ends; when that job fails or is killed, so is every job waiting on
 * it, saying why. So a commit flows through a DAG once, and every output of it has the
 * provenance of that one commit.
 *
 * Records: `jb <id>` JobInfo, `jq <pipeline> <created> <id>` a pipeline's jobs in order,
 * `jt <created> <id>` every job in order, `jw <created> <id>` the jobs not finished,
 * `jwt <upstream job> <job>` which jobs wait on which.
 */
import { randomBytes } from 'node:crypto'
import type * as M from '../api/meta.js'
import { type BatchOp, type Db, k, lastPart, range } from './index-db.js'

/** What queueing needs of a pipeline record. */
export interface QueuedPipeline {
  name: string
  state: 'running' | 'stopped'
  version: number
  inputs: Array<{ repo: string, branch: string }>
  outputBranch: string
}

export const TERMINAL: ReadonlySet<M.JobState> = new Set(['success', 'failure', 'killed'])
const EMPTY_STATS: M.JobStats = {
  datums: 0, processed: 0, skipped: 0, failed: 0, recovered: 0, bytesIn: 0, bytesOut: 0
}
const emptyStats = (): M.JobStats => ({ ...EMPTY_STATS })
export const isStat = (key: string): boolean => key in EMPTY_STATS || key === 'firstDatumMs'

export class JobQueue {
  constructor (private readonly db: Db) {}

  private async pipeline (name: string): Promise<QueuedPipeline | undefined> {
    return await this.db.get(k('pl', name)) as QueuedPipeline | undefined
  }

  /**
   * Running pipelines that read a branch, directly or through other pipelines, inputs
   * first; with `stopped`, stopped ones (and what is below them) too.
   */
  async downstream (repo: string, branch: string, stopped = false): Promise<QueuedPipeline[]> {
    const found = new Map<string, QueuedPipeline>()
    const todo: Array<[string, string]> = [[repo, branch]]
    while (todo.length > 0) {
      const [r, b] = todo.shift()!
      for await (const [key] of range(this.db, k('pin', r, b))) {
        const name = lastPart(key)
        if (found.has(name)) continue
        const p = await this.pipeline(name)
        if (p === undefined || (p.state !== 'running' && !stopped)) continue
        found.set(name, p)
        todo.push([p.name, p.outputBranch])
      }
    }
    // Inputs first: a pipeline comes after every pipeline of the set whose output it reads.
    const out: QueuedPipeline[] = []
    const placed = new Set<string>()
    const outputOf = new Map([...found.values()].map(p => [`${p.name}@${p.outputBranch}`, p.name]))
    const place = (p: QueuedPipeline): void => {
      if (placed.has(p.name)) return
      placed.add(p.name)
      for (const i of p.inputs) {
        const up = outputOf.get(`${i.repo}@${i.branch}`)
        if (up !== undefined) place(found.get(up)!)
      }
      out.push(p)
    }
    for (const p of found.values()) place(p)
    return out
  }

  /**
   * The ops that queue one job for each pipeline, in one commit set: inputs at their
   * branches' heads (`moved`: the branch a commit just moved), or, for the output of
   * another pipeline of the list, the commit its job will make.
   */
  async queue (
    list: QueuedPipeline[], trigger: M.JobInfo['trigger'], opts: {
      moved?: { repo: string, branch: string, head: string }
      reprocess?: boolean
      now: number
      commitSet?: string
    }
  ): Promise<{ ops: BatchOp[], jobs: M.JobInfo[] }> {
    const ids = new Map(list.map(p => [`${p.name}@${p.outputBranch}`, randomBytes(16).toString('hex')]))
    const ops: BatchOp[] = []
    const jobs: M.JobInfo[] = []
    for (const p of list) {
      const id = ids.get(`${p.name}@${p.outputBranch}`)!
      const inputs: M.JobInfo['inputs'] = []
      const waitsFor: string[] = []
      const waits: string[] = []
      for (const i of p.inputs) {
        if (opts.moved !== undefined && opts.moved.repo === i.repo && opts.moved.branch === i.branch) {
          inputs.push({ ...i, commit: opts.moved.head })
          continue
        }
        // The output of a pipeline of this set: the job waits for that job's commit (and
        // fails if it fails). The output of a running pipeline whose newest job has not
        // finished: it waits for that commit too rather than read what it will replace,
        // but should that job fail, it reads the branch as it is ("soft").
        const hard = ids.get(`${i.repo}@${i.branch}`)
        const soft = hard === undefined ? await this.unfinished(i.repo, i.branch) : undefined
        const from = hard ?? soft
        const br = await this.db.get(k('br', i.repo, i.branch)) as { head: string | null } | undefined
        if (from !== undefined) {
          waitsFor.push(from)
          waits.push(hard !== undefined ? `${i.repo} in the same commit set` : `${i.repo} (job ${from.slice(0, 12)})`)
          inputs.push({ ...i, commit: br?.head ?? null, from })
          ops.push({ type: 'put', key: k('jwt', from, id), value: hard !== undefined ? '' : 'soft' })
        } else {
          inputs.push({ ...i, commit: br?.head ?? null })
        }
      }
      const job: M.JobInfo = {
        id,
        pipeline: p.name,
        version: p.version,
        commitSet: opts.commitSet ?? (trigger.kind === 'commit' ? trigger.commit : id),
        state: 'queued',
        reason: waits.length > 0 ? `waiting for the output of ${waits.join(', ')}` : await this.behind(p.name),
        inputs,
        waitsFor,
        trigger,
        reprocess: opts.reprocess === true,
        created: opts.now,
        started: null,
        finished: null,
        output: null,
        stats: emptyStats()
      }
      jobs.push(job)
      ops.push(
        { type: 'put', key: k('jb', id), value: job },
        { type: 'put', key: k('jq', p.name, opts.now, id), value: '' },
        { type: 'put', key: k('jt', opts.now, id), value: '' },
        { type: 'put', key: k('jw', opts.now, id), value: '' }
      )
    }
    return { ops, jobs }
  }

  /**
   * The newest job of the running pipeline whose output is this branch, if it has not
   * finished (a stopped pipeline's queued job would hold a waiter until it is started).
   */
  async unfinished (repo: string, branch: string): Promise<string | undefined> {
    const owner = (await this.db.get(k('repo', repo)) as { pipeline?: string } | undefined)?.pipeline
    if (owner === undefined) return undefined
    const p = await this.pipeline(owner)
    if (p === undefined || p.outputBranch !== branch || p.state !== 'running') return undefined
    for await (const [key] of range(this.db, k('jq', owner), { reverse: true, limit: 1 })) {
      const j = await this.db.get(k('jb', lastPart(key))) as M.JobInfo | undefined
      if (j !== undefined && !TERMINAL.has(j.state)) return j.id
    }
    return undefined
  }

  /** Why a new job of a pipeline waits: an older one still to finish (they run in commit order), or the runner. */
  private async behind (pipeline: string): Promise<string> {
    for await (const [key] of range(this.db, k('jq', pipeline), { reverse: true, limit: 1 })) {
      const j = await this.db.get(k('jb', lastPart(key))) as M.JobInfo | undefined
      if (j !== undefined && !TERMINAL.has(j.state)) {
        return `waiting for job ${j.id.slice(0, 12)} of this pipeline to finish first (jobs run in commit order)`
      }
    }
    return 'waiting for the runner'
  }

  /**
   * A job's output commit finished: the jobs waiting for it read that commit now. Adds to
   * `covered` the pipelines of those jobs and of every job waiting on them in turn: they
   * have their jobs already, so the commit queues new ones only for the other pipelines
   * below it.
   */
  async fill (
    job: string, rec: { id: string, repo: string, branch: string }, covered: Set<string>
  ): Promise<BatchOp[]> {
    const ops: BatchOp[] = []
    for await (const [key] of range(this.db, k('jwt', job))) {
      ops.push({ type: 'del', key })
      const j = await this.db.get(k('jb', lastPart(key))) as M.JobInfo | undefined
      if (j === undefined || TERMINAL.has(j.state)) continue
      for (const i of j.inputs) if (i.from === job && i.repo === rec.repo && i.branch === rec.branch) i.commit = rec.id
      j.waitsFor = j.waitsFor.filter(w => w !== job)
      if (j.waitsFor.length === 0) j.reason = 'waiting for the runner'
      ops.push({ type: 'put', key: k('jb', j.id), value: j })
      await this.cover(j, covered, new Set([job]))
    }
    return ops
  }

  private async cover (j: M.JobInfo, covered: Set<string>, seen: Set<string>): Promise<void> {
    if (seen.has(j.id)) return
    seen.add(j.id)
    covered.add(j.pipeline)
    for await (const [key] of range(this.db, k('jwt', j.id))) {
      const w = await this.db.get(k('jb', lastPart(key))) as M.JobInfo | undefined
      if (w !== undefined && !TERMINAL.has(w.state)) await this.cover(w, covered, seen)
    }
  }

  /**
   * A job that failed or was killed: every job of its commit set waiting on it (and on
   * those) fails, saying why; a job that only waited for its newer output ("soft") reads
   * the branch as it is instead.
   */
  async cascade (failed: M.JobInfo, now: number, ops: BatchOp[], seen = new Set<string>()): Promise<void> {
    for await (const [key, wait] of range<string>(this.db, k('jwt', failed.id))) {
      ops.push({ type: 'del', key })
      const id = lastPart(key)
      if (seen.has(id)) continue
      seen.add(id)
      const j = await this.db.get(k('jb', id)) as M.JobInfo | undefined
      if (j === undefined || TERMINAL.has(j.state)) continue
      if (wait === 'soft') {
        j.waitsFor = j.waitsFor.filter(w => w !== failed.id)
        for (const i of j.inputs) if (i.from === failed.id) delete i.from
        if (j.waitsFor.length === 0) j.reason = 'waiting for the runner'
        ops.push({ type: 'put', key: k('jb', id), value: j })
        continue
      }
      j.state = 'failure'
      const how = failed.state === 'killed' ? 'was killed' : 'failed'
      j.reason = `its input ${failed.pipeline} has no new output to read: upstream job ` +
        `${failed.id.slice(0, 12)} of pipeline ${failed.pipeline} ${how}`
      j.finished = now
      ops.push({ type: 'put', key: k('jb', id), value: j }, { type: 'del', key: k('jw', j.created, id) })
      await this.cascade(j, now, ops, seen)
    }
  }
}

