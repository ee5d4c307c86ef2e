/**
 * Planning a job: which datums it must produce, at a cost that follows what changed.
 *
 * The output branch's head is the last successful job's commit; its provenance names the
 * input commits that job read and its pipeline version. When the version's hash is the
 * job's, the job is planned from the tree diff of each input between those commits and
 * its own ("diff" plan): an entry a glob matches is touched when the diff reaches it, a
 * datum is touched when it holds a touched entry (or, in a join or group, shares a key
 * with one), and only touched datums are looked at. The outputs of the base's touched
 * datums (found in the run cache by their keys) are removed; every other datum of the base
 * is unchanged and its outputs stay where they are. Otherwise (first job, a new version,
 * reprocessing, a base the run cache cannot explain) every datum is enumerated ("full").
 *
 * What a diff costs: one Merkle diff per input that moved (bounded to the glob's depth),
 * a stat of each touched entry on both sides, and for a cross, join or group that was
 * touched, the entries of its other inputs (a cross pairs the touched entries with all of
 * them; a join or group looks them up by key).
 */
import type { DatumRecord, FileInfo, JobInfo, Pfs, PipelineInfo } from '../store/index.js'
import { isPfsError } from '../store/index.js'
import {
  type CommitsOf, type Datum, type DatumInput, combine, combineParts, cronAsPfs, datumKey,
  entryOf, isSpecial, keyOfDatum, make, pfsEntries, product
} from './datums.js'
import { compileGlob, matchGlob } from './glob.js'
import { type Input, type PfsInput, type PipelineSpec, pfsInputs } from './spec.js'

export interface JobPlan {
  kind: 'full' | 'diff'
  /** Why the plan is full (a line for the job's reason), or what the diff was against. */
  why: string
  /** The datums the job produces (every datum, or the touched ones) and their keys. */
  datums: Datum[]
  keys: string[]
  /** diff: datums of the base left as they were (their outputs stay in place). */
  unchanged: number
  /** diff: output files of the base's touched datums, to remove before new outputs land. */
  remove: string[]
  /** diff: ids of datums of the base that are gone. */
  gone: string[]
  /** diff: the commit the job's output starts from (the base job's output). */
  base: string | null
}

type World = 'old' | 'new'

/** The job's input commits, by input name. */
export function jobCommits (spec: PipelineSpec, job: JobInfo): CommitsOf {
  const byBranch = new Map(job.inputs.map(i => [`${i.repo}@${i.branch}`, i.commit]))
  const names = new Map(pfsInputs(spec.input).map(i => [i.name, i]))
  return name => {
    const i = names.get(name)
    if (i === undefined) throw new Error(`no input named ${name}`)
    return { name, repo: i.repo, branch: i.branch, commit: byBranch.get(`${i.repo}@${i.branch}`) ?? null }
  }
}

export async function planJob (
  pfs: Pfs, spec: PipelineSpec, pipeline: PipelineInfo, job: JobInfo, versionHash: string
): Promise<JobPlan> {
  const commits = jobCommits(spec, job)
  const full = async (why: string): Promise<JobPlan> => {
    const datums = (await combine(spec.input, async p => await pfsEntries(pfs, p, commits(p.name)))).map(make)
    return {
      kind: 'full', why, datums, keys: datums.map(d => datumKey(d, versionHash)),
      unchanged: 0, remove: [], gone: [], base: null
    }
  }
  if (job.reprocess || spec.reprocess_spec === 'every_job') return await full('every datum runs again (reprocess)')
  const head = (await branchOf(pfs, pipeline.name, spec.output_branch))?.head ?? null
  if (head === null) return await full('the first job of the pipeline')
  const base = await pfs.inspectCommit(pipeline.name, head)
  const prov = base.provenance
  const baseVersion = pipeline.versions.find(v => v.version === prov.pipeline?.version)
  if (base.origin !== 'pipeline' || prov.pipeline?.name !== pipeline.name || prov.job === undefined) {
    return await full(`the output branch's head ${head.slice(0, 12)} is not a job's output`)
  }
  if (baseVersion?.hash !== versionHash) return await full(`the pipeline changed since job ${prov.job.slice(0, 12)}`)
  const baseJob = await pfs.inspectJob(prov.job).catch(() => undefined)
  if (baseJob === undefined) return await full(`job ${prov.job.slice(0, 12)} of the output's head is gone`)

  const was = new Map(prov.inputs.map(i => [`${i.repo}@${i.branch}`, i.commit]))
  const oldCommits: CommitsOf = name => {
    const c = commits(name)
    return { ...c, commit: was.get(`${c.repo}@${c.branch}`) ?? null }
  }
  const changed = await changedDatums(pfs, spec.input, oldCommits, commits, versionHash)
  const datums = changed.after.map(c => c.d)
  const keys = changed.after.map(c => c.key)
  const newIds = new Set(datums.map(x => x.id))
  const olds = changed.before
  const cached = await cachedAll(pfs, pipeline.name, olds.map(o => o.key))
  const remove = new Set<string>()
  for (const [i, rec] of cached.entries()) {
    if (rec === null) return await full(`the run cache lacks datum ${olds[i]!.d.id.slice(0, 12)} of the base`)
    for (const p of rec.outputs) remove.add(p)
  }
  return {
    kind: 'diff',
    why: `planned from the inputs' changes since job ${prov.job.slice(0, 12)}`,
    datums,
    keys,
    unchanged: Math.max(0, baseJob.stats.datums - olds.length),
    remove: [...remove].sort(),
    gone: olds.filter(o => !newIds.has(o.d.id)).map(o => o.d.id),
    base: head
  }
}

/**
 * The datums that differ between two sets of input commits: those of the old side that are
 * gone or changed, and those of the new side that are new or changed (each with its key).
 * Every other datum is the same on both sides.
 */
export async function changedDatums (
  pfs: Pfs, input: Input, before: CommitsOf, after: CommitsOf, versionHash: string
): Promise<{ before: Keyed[], after: Keyed[] }> {
  const d = new DiffPlanner(pfs, { old: before, new: after })
  const keyed = (x: Datum): Keyed => ({ d: x, key: datumKey(x, versionHash) })
  const olds = new Map((await d.touched(input, 'old')).map(make).map(x => [x.id, keyed(x)]))
  const news = new Map((await d.touched(input, 'new')).map(make).map(x => [x.id, keyed(x)]))
  for (const [id, n] of news) {
    // Touched, yet the same: a join key that moved between entries of equal content, say.
    if (olds.get(id)?.key === n.key) { olds.delete(id); news.delete(id) }
  }
  return { before: [...olds.values()], after: [...news.values()] }
}

interface Keyed { d: Datum, key: string }

/** The touched datums of an input tree, on each side of the diff, memoized per node. */
class DiffPlanner {
  private readonly leaves = new Map<string, Promise<{ paths: string[], all: boolean }>>()
  private readonly alls = new Map<string, Promise<DatumInput[][]>>()
  private readonly touchedMemo = new Map<string, Promise<DatumInput[][]>>()

  constructor (private readonly pfs: Pfs, private readonly commits: Record<World, CommitsOf>) {}

  /** Datums of `input` on one side that hold a touched entry. */
  async touched (input: Input, w: World): Promise<DatumInput[][]> {
    const id = `${w}:${JSON.stringify(input)}`
    let p = this.touchedMemo.get(id)
    if (p === undefined) this.touchedMemo.set(id, p = this.computeTouched(input, w))
    return await p
  }

  private async computeTouched (input: Input, w: World): Promise<DatumInput[][]> {
    if ('pfs' in input) return (await this.leafTouched(input.pfs, w)).map(e => [e])
    if ('cron' in input) return (await this.leafTouched(cronAsPfs(input.cron), w)).map(e => [e])
    const [kind, list] = Object.entries(input)[0] as ['union' | 'cross' | 'join' | 'group', Input[]]
    if (kind === 'union') {
      const out: DatumInput[][] = []
      for (const x of list) out.push(...await this.touched(x, w))
      return out
    }
    if (kind === 'cross') {
      // Every combination with at least one touched part: each touched part with all of the others.
      const out: DatumInput[][] = []
      for (let i = 0; i < list.length; i++) {
        const mine = await this.touched(list[i]!, w)
        if (mine.length === 0) continue
        const parts: DatumInput[][][] = []
        for (const [j, x] of list.entries()) parts.push(j === i ? mine : await this.all(x, w))
        out.push(...product(parts))
      }
      return out
    }
    // join, group: a touched entry on either side touches every datum with its key.
    const keys = new Set<string>()
    for (const x of list) {
      for (const side of ['old', 'new'] as const) for (const dd of await this.touched(x, side)) keys.add(keyOfDatum(dd))
    }
    if (keys.size === 0) return []
    const parts: DatumInput[][][] = []
    for (const x of list) parts.push((await this.all(x, w)).filter(dd => keys.has(keyOfDatum(dd))))
    return combineParts(kind, list, parts)
  }

  /** Every datum of `input` on one side (for the untouched parts of a cross, join or group). */
  private async all (input: Input, w: World): Promise<DatumInput[][]> {
    const id = `${w}:${JSON.stringify(input)}`
    let p = this.alls.get(id)
    if (p === undefined) {
      this.alls.set(id, p = combine(input, async pi => await pfsEntries(this.pfs, pi, this.commits[w](pi.name))))
    }
    return await p
  }

  /** The touched entries of a pfs input that exist on one side. */
  private async leafTouched (p: PfsInput, w: World): Promise<DatumInput[]> {
    const at = this.commits[w](p.name)
    if (at.commit === null) return []
    const { paths, all } = await this.touchedPaths(p)
    if (all) return await pfsEntries(this.pfs, p, at)
    const glob = compileGlob(p.glob)
    const out: DatumInput[] = []
    for (const path of paths) {
      const info = await statIfAny(this.pfs, p.repo, at.commit, path)
      if (info === undefined) continue
      if (glob.depth === 0 && (info.count ?? 0) === 0) continue // an empty input has no datum
      if (glob.depth === undefined && info.kind === 'dir') continue // `**` matches files
      if (isSpecial(info.kind)) continue
      const captures = matchGlob(glob, path)
      if (captures !== undefined) out.push(entryOf(p, { ...at, commit: at.commit }, info, captures))
    }
    return out
  }

  /** Paths of the entries a glob matches that differ between the sides (or all of them). */
  private async touchedPaths (p: PfsInput): Promise<{ paths: string[], all: boolean }> {
    const id = `${p.repo}@${p.branch} ${p.glob}`
    let r = this.leaves.get(id)
    if (r === undefined) this.leaves.set(id, r = this.diffLeaf(p))
    return await r
  }

  private async diffLeaf (p: PfsInput): Promise<{ paths: string[], all: boolean }> {
    const [a, b] = [this.commits.old(p.name).commit, this.commits.new(p.name).commit]
    if (a === b) return { paths: [], all: false }
    if (a === null || b === null) return { paths: [], all: true }
    const glob = compileGlob(p.glob)
    if (glob.depth === 0) return { paths: [''], all: false }
    const changes = await this.pfs.diff(p.repo, a, b, glob.depth === undefined ? {} : { levels: glob.depth })
    const paths = changes
      .filter(c => glob.depth === undefined
        ? c.kind !== 'dir' && !isSpecial(c.kind)
        : c.path.split('/').length === glob.depth)
      .filter(c => matchGlob(glob, c.path) !== undefined)
      .map(c => c.path)
    return { paths: [...new Set(paths)], all: false }
  }
}

async function branchOf (pfs: Pfs, repo: string, branch: string): Promise<{ head: string | null } | undefined> {
  try {
    return await pfs.inspectBranch(repo, branch)
  } catch (e) {
    if (isPfsError(e, 'NOT_FOUND')) return undefined
    throw e
  }
}

async function statIfAny (pfs: Pfs, repo: string, commit: string, path: string): Promise<FileInfo | undefined> {
  try {
    return await pfs.stat(repo, commit, path)
  } catch (e) {
    if (isPfsError(e, 'NOT_FOUND')) return undefined
    throw e
  }
}

/** Run-cache records of many keys, a thousand per call. */
export async function cachedAll (pfs: Pfs, pipeline: string, keys: string[]): Promise<Array<DatumRecord | null>> {
  const out: Array<DatumRecord | null> = []
  for (let i = 0; i < keys.length; i += 1000) out.push(...await pfs.cachedDatums(pipeline, keys.slice(i, i + 1000)))
  return out
}

