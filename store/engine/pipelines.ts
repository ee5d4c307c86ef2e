/**
 * Pipelines and jobs in the index (see store/api/jobs.ts). Records:
 * - `pl/<name>` PipelineRec, `pv/<name>/<version>` PipelineVersion;
 * - `pin/<repo>/<branch>/<pipeline>`: the branches that trigger each pipeline;
 * - `jb/<id>` JobInfo, `jq/<pipeline>/<created>/<id>` a pipeline's jobs in order,
 *   `jt/<created>/<id>` every job in order.
 * A commit that finishes on an input branch queues its jobs in its own batch (`onCommit`),
 * so no job is ever lost; the output repo is written only by a running job of its pipeline.
 */
import type * as M from '../api/meta.js'
import { checkRefName } from '../api/names.js'
import { conflict, exists, invalidArgument, notFound, readOnly } from '../api/errors.js'
import {
  type BatchOp, type CommitRec, type RepoRec, getMany, k, lastPart, range, writeBatch
} from './index-db.js'
import { repoRec } from './records.js'
import { journal } from './journal.js'
import type { Core } from './core.js'
import { JobQueue, TERMINAL, isStat } from './job-queue.js'

interface PipelineRec {
  name: string
  description: string
  state: 'running' | 'stopped'
  created: number
  version: number
  inputs: Array<{ repo: string, branch: string }>
  outputBranch: string
}

const JOB_ID = /^[0-9a-f]{32}$/
/** Which states a job may move to from each (running → queued: a restarted runner resumes it). */
const NEXT: Record<M.JobState, ReadonlySet<M.JobState>> = {
  queued: new Set(['running', 'killed', 'failure']),
  running: new Set(['queued', 'success', 'failure', 'killed']),
  success: new Set(),
  failure: new Set(),
  killed: new Set()
}

export class Pipelines {
  private readonly queue: JobQueue

  constructor (private readonly core: Core, private readonly changed: (repo: string) => void) {
    this.queue = new JobQueue(core.db)
  }

  private get db (): Core['db'] { return this.core.db }

  private async rec (name: string): Promise<PipelineRec> {
    const rec = await this.db.get(k('pl', name)) as PipelineRec | undefined
    if (rec === undefined) throw notFound('pipeline', name, 'see `pfs pipeline list`')
    return rec
  }

  private async info (rec: PipelineRec): Promise<M.PipelineInfo> {
    const versions: M.PipelineVersion[] = []
    for await (const [, v] of range<M.PipelineVersion>(this.db, k('pv', rec.name))) versions.push(v)
    const cur = versions[versions.length - 1]!
    return { ...rec, hash: cur.hash, spec: cur.spec, versions }
  }

  async create (def: M.PipelineDef, opts: { update?: boolean, reprocess?: boolean }): Promise<M.PipelineInfo> {
    checkDef(def)
    return await this.core.lock(async () => {
      const now = this.core.clock()
      const old = await this.db.get(k('pl', def.name)) as PipelineRec | undefined
      if (old !== undefined && opts.update !== true) {
        throw exists('pipeline', def.name, '`pfs pipeline update` makes a new version of it')
      }
      if (old === undefined && opts.update === true) throw notFound('pipeline', def.name, 'create it first')
      const ops: BatchOp[] = []
      const made = new Set<string>()
      for (const name of def.createRepos ?? []) {
        if (name === def.name || await this.db.get(k('repo', name)) !== undefined) continue
        const rec: RepoRec = { name, description: `ticks of a cron input of pipeline ${def.name}`, created: now }
        await journal(this.core.objects, { op: 'repo-create', time: now, repo: name, description: rec.description })
        ops.push({ type: 'put', key: k('repo', name), value: rec })
        made.add(name)
      }
      for (const i of def.inputs) {
        if (!made.has(i.repo)) await repoRec(this.db, i.repo)
        if (i.repo === def.name) throw invalidArgument(`pipeline ${def.name} cannot read its own output repo`)
      }
      const repo = await this.db.get(k('repo', def.name)) as RepoRec | undefined
      if (repo === undefined) {
        const rec: RepoRec = {
          name: def.name, description: `output of pipeline ${def.name}`, created: now, pipeline: def.name
        }
        await journal(this.core.objects, { op: 'repo-create', time: now, repo: def.name, description: rec.description })
        ops.push({ type: 'put', key: k('repo', def.name), value: rec })
      } else if (repo.pipeline !== def.name) {
        throw exists('repo', def.name,
          "a pipeline's output repo is named after it; rename the pipeline or delete the repo")
      }
      const version = (old?.version ?? 0) + 1
      const rec: PipelineRec = {
        name: def.name,
        description: def.description ?? '',
        state: old?.state ?? 'running',
        created: old?.created ?? now,
        version,
        inputs: def.inputs,
        outputBranch: def.outputBranch
      }
      for (const i of old?.inputs ?? []) ops.push({ type: 'del', key: k('pin', i.repo, i.branch, def.name) })
      for (const i of def.inputs) ops.push({ type: 'put', key: k('pin', i.repo, i.branch, def.name), value: '' })
      const v: M.PipelineVersion = { version, hash: def.hash, spec: def.spec, created: now }
      ops.push(
        { type: 'put', key: k('pl', def.name), value: rec },
        { type: 'put', key: k('pv', def.name, version), value: v }
      )
      await this.refuseCycle(def)
      const trigger = { kind: old === undefined ? 'create' as const : 'update' as const }
      ops.push(...(await this.queue.queue([rec], trigger, { reprocess: opts.reprocess === true, now })).ops)
      await writeBatch(this.db, ops)
      this.changed(def.name)
      return await this.info(rec)
    })
  }

  /** A pipeline must not read, through others, what it writes: a commit would flow around forever. */
  private async refuseCycle (def: M.PipelineDef): Promise<void> {
    const below = await this.queue.downstream(def.name, def.outputBranch, true)
    const reads = new Set(def.inputs.map(i => `${i.repo}@${i.branch}`))
    const back = below.find(p => reads.has(`${p.name}@${p.outputBranch}`))
    if (back !== undefined) {
      throw invalidArgument(`pipeline ${def.name} cannot read ${back.name}: ${back.name} reads the output of ` +
        `${def.name}, so each would run on the other's output forever`, { pipeline: def.name, input: back.name })
    }
  }

  /**
   * The jobs a commit that just finished on `rec.branch` queues, as ops for its batch: one
   * for every pipeline downstream of the branch, in one commit set (the commit's, or that
   * of the job that made it). A commit made by a job whose set already holds the jobs
   * below it hands them its commit instead.
   */
  async onCommit (rec: CommitRec, job: string | undefined): Promise<BatchOp[]> {
    const ops: BatchOp[] = []
    const covered = new Set<string>()
    let commitSet: string | undefined
    if (job !== undefined) {
      ops.push(...await this.queue.fill(job, rec, covered))
      // A newer job of this pipeline will replace this output: what is below waits for that one.
      const newest = await this.queue.unfinished(rec.repo, rec.branch)
      if (newest !== undefined && newest !== job) return ops
      commitSet = (await this.db.get(k('jb', job)) as M.JobInfo | undefined)?.commitSet
    }
    const list = (await this.queue.downstream(rec.repo, rec.branch)).filter(p => !covered.has(p.name))
    if (list.length === 0) return ops
    const trigger = { kind: 'commit' as const, repo: rec.repo, commit: rec.id }
    const moved = { repo: rec.repo, branch: rec.branch, head: rec.id }
    ops.push(...(await this.queue.queue(list, trigger, {
      moved, now: rec.finished ?? this.core.clock(), commitSet: commitSet ?? rec.id
    })).ops)
    return ops
  }

  /** Refuses a write to a pipeline's output repo unless it comes from a running job of it. */
  async checkWrite (repo: string, job: string | undefined): Promise<void> {
    const rec = await repoRec(this.db, repo)
    if (rec.pipeline === undefined) {
      if (job !== undefined) throw invalidArgument(`repo '${repo}' is no pipeline's output; a job writes only its own`)
      return
    }
    if (job === undefined) {
      throw readOnly(`repo '${repo}' is the output of pipeline ${rec.pipeline}: only its jobs write to it; ` +
        'change its inputs, or its spec with `pfs pipeline update`', { repo, pipeline: rec.pipeline })
    }
    const j = await this.job(job)
    if (j.pipeline !== rec.pipeline || j.state !== 'running') {
      throw readOnly(`job ${job} is ${j.state === 'running' ? `a job of pipeline ${j.pipeline}` : j.state}; ` +
        `only a running job of pipeline ${rec.pipeline} writes to repo '${repo}'`, { repo, job })
    }
  }

  async list (): Promise<M.PipelineInfo[]> {
    const out: M.PipelineInfo[] = []
    for await (const [, rec] of range<PipelineRec>(this.db, 'pl')) out.push(await this.info(rec))
    return out
  }

  async inspect (name: string): Promise<M.PipelineInfo> {
    return await this.info(await this.rec(name))
  }

  async setState (name: string, state: 'running' | 'stopped'): Promise<M.PipelineInfo> {
    if (state !== 'running' && state !== 'stopped') {
      throw invalidArgument(`a pipeline is 'running' or 'stopped', not ${JSON.stringify(state)}`)
    }
    return await this.core.lock(async () => {
      const rec = await this.rec(name)
      rec.state = state
      await writeBatch(this.db, [{ type: 'put', key: k('pl', name), value: rec }])
      return await this.info(rec)
    })
  }

  /** Drops the pipeline, its versions and jobs; the output repo too unless `keepRepo`. */
  async delete (
    name: string, opts: { keepRepo?: boolean }, dropRepo: (ops: BatchOp[]) => Promise<void>,
    dropLogs: () => Promise<BatchOp[]>
  ): Promise<void> {
    await this.core.lock(async () => {
      const rec = await this.rec(name)
      const ops: BatchOp[] = [{ type: 'del', key: k('pl', name) }, ...await dropLogs()]
      for (const i of rec.inputs) ops.push({ type: 'del', key: k('pin', i.repo, i.branch, name) })
      for (const p of ['pv', 'dt', 'rc']) {
        for await (const [key] of range(this.db, k(p, name))) ops.push({ type: 'del', key })
      }
      for await (const [key] of range(this.db, k('jq', name))) {
        const id = lastPart(key)
        const j = await this.db.get(k('jb', id)) as M.JobInfo | undefined
        ops.push({ type: 'del', key }, { type: 'del', key: k('jb', id) })
        for await (const [dk] of range(this.db, k('jd', id))) ops.push({ type: 'del', key: dk })
        // Jobs below it in a commit set will not get its output.
        if (j !== undefined) await this.queue.cascade({ ...j, state: 'killed' }, this.core.clock(), ops)
        if (j !== undefined) {
          ops.push({ type: 'del', key: k('jt', j.created, id) }, { type: 'del', key: k('jw', j.created, id) })
        }
      }
      if (opts.keepRepo === true) {
        const repo = await this.db.get(k('repo', name)) as RepoRec | undefined
        if (repo !== undefined) {
          const { pipeline: _p, ...plain } = repo
          ops.push({ type: 'put', key: k('repo', name), value: plain })
        }
      } else {
        await dropRepo(ops)
      }
      await writeBatch(this.db, ops)
      this.changed(name)
    })
  }

  async job (id: string): Promise<M.JobInfo> {
    if (typeof id !== 'string' || !JOB_ID.test(id)) {
      throw invalidArgument(`bad job id ${JSON.stringify(id)?.slice(0, 40)}; ` +
        'expected 32 hex digits (see `pfs job list`)')
    }
    const j = await this.db.get(k('jb', id)) as M.JobInfo | undefined
    if (j === undefined) throw notFound('job', id, 'see `pfs job list`')
    return j
  }

  async listJobs (
    opts: { pipeline?: string, commitSet?: string, waiting?: boolean } & M.PageOptions
  ): Promise<M.Page<M.JobInfo>> {
    const limit = Math.min(Math.max(1, opts.limit ?? 1000), 10_000)
    if (opts.pipeline !== undefined) await this.rec(opts.pipeline)
    const prefix = opts.pipeline !== undefined ? k('jq', opts.pipeline) : opts.waiting === true ? 'jw' : 'jt'
    const entries: M.JobInfo[] = []
    let skipping = opts.after !== undefined
    let next: string | undefined
    // Newest first: the index keeps them oldest first, so read in reverse.
    for await (const [key] of range(this.db, prefix, { reverse: true })) {
      const id = lastPart(key)
      if (skipping) {
        if (id === opts.after) skipping = false
        continue
      }
      const j = await this.db.get(k('jb', id)) as M.JobInfo | undefined
      if (j === undefined || (opts.commitSet !== undefined && j.commitSet !== opts.commitSet)) continue
      if (opts.waiting === true && TERMINAL.has(j.state)) continue
      if (entries.length === limit) { next = entries[entries.length - 1]!.id; break }
      entries.push(j)
    }
    return next === undefined ? { entries } : { entries, next }
  }

  async putDatums (job: string, datums: M.DatumRecord[], opts: { gone?: string[] }): Promise<void> {
    if (!Array.isArray(datums)) throw invalidArgument('putDatums() takes a list of datum records')
    for (const d of datums) checkDatum(d, job)
    const gone = opts.gone ?? []
    if (!Array.isArray(gone) || !gone.every(id => typeof id === 'string' && HEX64.test(id))) {
      throw invalidArgument('putDatums(): gone is a list of datum ids')
    }
    await this.core.lock(async () => {
      const j = await this.job(job)
      if (j.state !== 'running') throw conflict(`job ${job} is ${j.state}; only a running job records datums`, { job })
      const ops: BatchOp[] = []
      for (const d of datums) {
        ops.push(
          { type: 'put', key: k('dt', j.pipeline, d.id), value: d },
          { type: 'put', key: k('jd', job, d.id), value: d }
        )
        if (d.state === 'success' || d.state === 'recovered') {
          ops.push({ type: 'put', key: k('rc', j.pipeline, d.key), value: d })
        }
      }
      for (const id of gone) ops.push({ type: 'del', key: k('dt', j.pipeline, id) })
      await writeBatch(this.db, ops)
    })
  }

  async listDatums (pipeline: string, opts: { job?: string } & M.PageOptions): Promise<M.Page<M.DatumRecord>> {
    await this.rec(pipeline)
    const limit = Math.min(Math.max(1, Number(opts.limit ?? 10_000) || 10_000), 100_000)
    let prefix = k('dt', pipeline)
    if (opts.job !== undefined) {
      const j = await this.job(opts.job)
      if (j.pipeline !== pipeline) {
        throw invalidArgument(`job ${opts.job} is a job of pipeline ${j.pipeline}, not ${pipeline}`)
      }
      prefix = k('jd', opts.job)
    }
    const after = typeof opts.after === 'string' ? `${prefix}\x00${opts.after}` : undefined
    const entries: M.DatumRecord[] = []
    for await (const [, d] of range<M.DatumRecord>(this.db, prefix, { after, limit: limit + 1 })) entries.push(d)
    if (entries.length <= limit) return { entries }
    entries.pop()
    return { entries, next: entries[entries.length - 1]!.id }
  }

  async cachedDatums (pipeline: string, keys: string[]): Promise<Array<M.DatumRecord | null>> {
    if (!Array.isArray(keys)) throw invalidArgument('cachedDatums() takes a list of datum keys')
    await this.rec(pipeline)
    const recs = await getMany<M.DatumRecord>(this.db, keys.map(key => k('rc', pipeline, String(key))))
    return recs.map(r => r ?? null)
  }

  async updateJob (id: string, u: M.JobUpdate): Promise<M.JobInfo> {
    if (u === null || typeof u !== 'object') throw invalidArgument('updateJob() takes an object of changes')
    return await this.core.lock(async () => {
      const j = await this.job(id)
      if (u.state !== undefined && u.state !== j.state) {
        if (!(u.state in NEXT)) throw invalidArgument(`unknown job state ${JSON.stringify(u.state)}`)
        if (!NEXT[j.state].has(u.state)) {
          throw conflict(`job ${id} is ${j.state}${TERMINAL.has(j.state) ? ' (finished)' : ''}; ` +
            `it cannot become ${u.state}`, { job: id, state: j.state })
        }
        j.state = u.state
      }
      if (u.reason !== undefined) j.reason = String(u.reason)
      for (const f of ['started', 'finished'] as const) {
        const v = u[f]
        if (v === undefined) continue
        if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(`job ${f} must be a time in ms, not ${String(v)}`)
        j[f] = v
      }
      if (u.output !== undefined) j.output = String(u.output)
      if (u.stats !== undefined) {
        for (const [key, v] of Object.entries(u.stats)) {
          if (!isStat(key)) throw invalidArgument(`unknown job stat '${key}'`)
          if (!Number.isFinite(v) || (v as number) < 0) throw invalidArgument(`job stat ${key} must be a count`)
          ;(j.stats as unknown as Record<string, number>)[key] = v as number
        }
      }
      const ops: BatchOp[] = [{ type: 'put', key: k('jb', id), value: j }]
      if (TERMINAL.has(j.state)) ops.push({ type: 'del', key: k('jw', j.created, id) })
      if (j.state === 'failure' || j.state === 'killed') await this.queue.cascade(j, this.core.clock(), ops)
      await writeBatch(this.db, ops)
      return j
    })
  }
}

const DATUM_STATES: ReadonlySet<string> = new Set(['success', 'failed', 'recovered', 'skipped'])
const HEX64 = /^[0-9a-f]{64}$/

function checkDatum (d: M.DatumRecord, job: string): void {
  if (d === null || typeof d !== 'object') throw invalidArgument('a datum record is an object')
  if (typeof d.id !== 'string' || !HEX64.test(d.id) || typeof d.key !== 'string' || !HEX64.test(d.key)) {
    throw invalidArgument('a datum record needs its id and key (64 hex digits each)')
  }
  if (!DATUM_STATES.has(d.state)) {
    throw invalidArgument(`datum ${d.id.slice(0, 12)}: unknown state ${JSON.stringify(d.state)}`)
  }
  if (!Array.isArray(d.outputs) || !d.outputs.every(p => typeof p === 'string')) {
    throw invalidArgument(`datum ${d.id.slice(0, 12)}: outputs must be a list of paths`)
  }
  if (!Array.isArray(d.inputs)) throw invalidArgument(`datum ${d.id.slice(0, 12)}: inputs must be a list`)
  if (d.job !== job) throw invalidArgument(`datum ${d.id.slice(0, 12)} names job ${String(d.job)}, not ${job}`)
}

function checkDef (def: M.PipelineDef): void {
  if (def === null || typeof def !== 'object') throw invalidArgument('createPipeline() takes a pipeline definition')
  checkRefName('repo', def.name)
  checkRefName('branch', def.outputBranch)
  if (typeof def.hash !== 'string' || def.hash === '') {
    throw invalidArgument(`pipeline ${def.name}: a version hash is required`)
  }
  if (!Array.isArray(def.inputs)) throw invalidArgument(`pipeline ${def.name}: inputs must be a list of repo branches`)
  for (const i of def.inputs) {
    checkRefName('repo', i?.repo)
    checkRefName('branch', i?.branch)
  }
  const create = def.createRepos ?? []
  if (!Array.isArray(create) || !create.every(r => def.inputs.some(i => i.repo === r))) {
    throw invalidArgument(`pipeline ${def.name}: createRepos must name input repos`)
  }
}
