/**
 * Pipelines and jobs in the store: a job is queued in the very batch of the commit that
 * triggers it, a pipeline's output repo is written only by its running jobs, a failed
 * job's commit is kept without moving its branch, and a commit set follows a commit
 * downstream. In-process and through the server.
 */
import t, { type Test } from 'tap'
import type { Pfs } from '../store/api/pfs.js'
import type { JobInfo, PipelineDef } from '../store/api/meta.js'
import { PfsError } from '../store/api/errors.js'
import { openEngine } from '../store/engine/engine.js'
import { createPfs } from '../store/client/pfs-impl.js'
import { type StoreKind, tmpStore } from './helpers/stores.js'

const def = (name: string, inputs: string[], over: Partial<PipelineDef> = {}): PipelineDef => ({
  name,
  spec: { pipeline: { name }, transform: { cmd: ['sh'] } },
  hash: `h-${name}-1`,
  inputs: inputs.map(repo => ({ repo, branch: 'master' })),
  outputBranch: 'master',
  ...over
})

async function refused (t: Test, what: string, p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err)
  if (!(e instanceof PfsError)) { t.fail(`${what}: expected a PfsError, got ${String(e)}`); return }
  t.equal(e.code, code, `${what}: ${code}`)
  t.match(e.message, re, `${what}: ${e.message}`)
}

async function commitTo (pfs: Pfs, repo: string, file: string, body: string): Promise<string> {
  return (await pfs.putFile(repo, 'master', file, Buffer.from(body))).commit.id
}

for (const kind of ['embedded', 'remote'] as StoreKind[]) {
  t.test(`${kind}: creating a pipeline makes its output repo and a first job`, async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('images')
    const c1 = await commitTo(pfs, 'images', 'a.png', 'a')
    const p = await pfs.createPipeline(def('edges', ['images']))
    t.equal(p.version, 1)
    t.equal(p.state, 'running')
    t.same(p.versions.map(v => v.hash), ['h-edges-1'])
    t.equal((await pfs.inspectRepo('edges')).name, 'edges', 'the output repo is named after the pipeline')
    const jobs = (await pfs.listJobs({ pipeline: 'edges' })).entries
    t.equal(jobs.length, 1)
    t.match(jobs[0], { pipeline: 'edges', version: 1, state: 'queued', trigger: { kind: 'create' } })
    t.same(jobs[0]!.inputs, [{ repo: 'images', branch: 'master', commit: c1 }], 'inputs at their heads')
    await refused(t, 'a second create', pfs.createPipeline(def('edges', ['images'])), 'EXISTS', /pipeline update/)
    await refused(t, 'a pipeline over a plain repo', pfs.createPipeline(def('images', [])), 'EXISTS',
      /output repo is named after it/)
    await refused(t, 'an input that does not exist', pfs.createPipeline(def('x', ['nope'])), 'NOT_FOUND', /nope/)
    await refused(t, 'its own output as input', pfs.createPipeline(def('loop', ['loop'])), 'NOT_FOUND', /loop/)

    const v2 = await pfs.createPipeline(def('edges', ['images'], { hash: 'h-edges-2' }),
      { update: true, reprocess: true })
    t.equal(v2.version, 2)
    t.same(v2.versions.map(v => v.version), [1, 2], 'inspect shows every version')
    const newest = (await pfs.listJobs({ pipeline: 'edges' })).entries[0]!
    t.match(newest, { version: 2, trigger: { kind: 'update' }, reprocess: true })
    await refused(t, 'update of a missing pipeline', pfs.createPipeline(def('zz', ['images']), { update: true }),
      'NOT_FOUND', /zz/)
  })

  t.test(`${kind}: a commit to an input queues a job in its own batch`, async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('images')
    await pfs.createRepo('labels')
    await pfs.createPipeline(def('train', ['images', 'labels']))
    const l1 = await commitTo(pfs, 'labels', 'l.csv', 'cat')
    const i1 = await commitTo(pfs, 'images', 'a.png', 'a')
    const jobs = (await pfs.listJobs({ pipeline: 'train' })).entries
    t.equal(jobs.length, 3, 'create, and one per input commit')
    t.match(jobs[0], { trigger: { kind: 'commit', repo: 'images', commit: i1 }, commitSet: i1 })
    t.same(jobs[0]!.inputs.map(i => i.commit), [i1, l1], 'every input at the head the commit saw')
    t.same(jobs[1]!.inputs.map(i => i.commit), [null, l1], 'a branch with no commit yet is null')
    t.match(jobs[0]!.reason, new RegExp(`waiting for job ${jobs[1]!.id.slice(0, 12)} of this pipeline to finish first`),
      'a job says why it waits: the one before it')
    t.equal(jobs[2]!.reason, 'waiting for the runner')
    t.equal((await pfs.inspectJob(jobs[0]!.id)).id, jobs[0]!.id)
    t.same((await pfs.listJobs({ commitSet: i1 })).entries.map(j => j.id), [jobs[0]!.id], 'jobs of a commit set')

    await pfs.setPipelineState('train', 'stopped')
    await commitTo(pfs, 'images', 'b.png', 'b')
    t.equal((await pfs.listJobs({ pipeline: 'train' })).entries.length, 3, 'a stopped pipeline queues nothing')
    await pfs.setPipelineState('train', 'running')
    await commitTo(pfs, 'images', 'c.png', 'c')
    t.equal((await pfs.listJobs({ pipeline: 'train' })).entries.length, 4)
    const page = await pfs.listJobs({ pipeline: 'train', limit: 3 })
    t.equal(page.entries.length, 3)
    const rest = await pfs.listJobs({ pipeline: 'train', after: page.next })
    t.equal(rest.entries.length, 1, 'paged')
    await refused(t, 'a repo a pipeline reads', pfs.deleteRepo('images', { force: true }), 'CONFLICT',
      /input of pipeline train/)
  })

  t.test(`${kind}: the output repo is written only by a running job of its pipeline`, async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('images')
    await pfs.createPipeline(def('edges', ['images']))
    await pfs.createPipeline(def('score', ['edges']))
    const job = (await pfs.listJobs({ pipeline: 'edges' })).entries[0]!
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['put', () => pfs.putFile('edges', 'master', 'x', Buffer.from('x'))],
      ['start', () => pfs.startCommit('edges', 'master')],
      ['rm', () => pfs.apply('edges', 'master', [{ op: 'mkdir', path: 'd' }])],
      ['a queued job', () => pfs.startCommit('edges', 'master', { job: job.id })]
    ]
    for (const [what, w] of writes) await refused(t, what, w(), 'READ_ONLY', /only (its jobs|a running job)/)
    await refused(t, 'delete the output repo', pfs.deleteRepo('edges', { force: true }), 'CONFLICT', /pipeline delete/)

    await pfs.updateJob(job.id, { state: 'running', started: Date.now() })
    await pfs.startCommit('edges', 'master', { job: job.id })
    await pfs.modify('edges', 'master', [{ op: 'mkdir', path: 'out' }], { job: job.id })
    await refused(t, 'a job of another pipeline', pfs.startCommit('images', 'master', { job: job.id }),
      'INVALID_ARGUMENT',
      /no pipeline's output/)
    const out = await pfs.finishCommit('edges', 'master', {
      job: job.id, origin: 'pipeline',
      provenance: { inputs: [], pipeline: { name: 'edges', version: 1 }, job: job.id }
    })
    t.equal(out.origin, 'pipeline')
    t.equal(out.provenance.job, job.id)
    const downs = (await pfs.listJobs({ pipeline: 'score' })).entries
    const down = downs[0]!
    t.equal(downs.length, 1, 'no second job below')
    t.match(down, { trigger: { kind: 'create' }, waitsFor: [], inputs: [{ repo: 'edges', commit: out.id, from: job.id }] },
      'score\'s first job, queued while edges\' job had not finished, waited for it and reads its output')
    await pfs.updateJob(job.id,
      { state: 'success', finished: Date.now(), output: out.id, stats: { datums: 1, processed: 1 } })
    const done = await pfs.inspectJob(job.id)
    t.match(done, { state: 'success', output: out.id, stats: { datums: 1, processed: 1, skipped: 0 } })
    await refused(t, 'a finished job moves on', pfs.updateJob(job.id, { state: 'running' }), 'CONFLICT', /is success/)
    await refused(t, 'a finished job writes', pfs.startCommit('edges', 'master', { job: job.id }), 'READ_ONLY',
      /success/)
    await refused(t, 'a bad job id', pfs.inspectJob('nope'), 'INVALID_ARGUMENT', /32 hex/)
    await refused(t, 'an unknown job', pfs.inspectJob('0'.repeat(32)), 'NOT_FOUND', /pfs job list/)
    await refused(t, 'a bad stat', pfs.updateJob(down.id, { stats: { speed: 1 } as never }), 'INVALID_ARGUMENT',
      /speed/)
  })

  t.test(`${kind}: a failed job's commit is kept, marked, and moves nothing`, async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('images')
    await pfs.createPipeline(def('edges', ['images']))
    await pfs.createPipeline(def('score', ['edges']))
    const job = (await pfs.listJobs({ pipeline: 'edges' })).entries[0]!
    await pfs.updateJob(job.id, { state: 'running' })
    await pfs.modify('edges', 'master', [{ op: 'mkdir', path: 'half' }], { job: job.id, keepOpen: true })
    await pfs.startCommit('images', 'master')
    await refused(t, 'a user marking a commit failed', pfs.finishCommit('images', 'master', { failed: true }),
      'INVALID_ARGUMENT', /only a job marks/)
    await pfs.abortCommit('images', 'master')
    const failed = await pfs.finishCommit('edges', 'master', { job: job.id, failed: true })
    t.equal(failed.failed, true)
    const br = await pfs.inspectBranch('edges', 'master')
    t.equal(br.head, null, 'the branch did not move')
    t.equal(br.open, null, 'and its session is closed')
    t.equal((await pfs.inspectCommit('edges', failed.id)).failed, true, 'the commit is kept')
    t.equal((await pfs.listJobs({ pipeline: 'score' })).entries.length, 1, 'nothing downstream was queued')
  })

  t.test(`${kind}: a commit flows through a DAG once: jobs below wait for the outputs above`, async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('raw')
    await pfs.createPipeline(def('prep', ['raw']))
    await pfs.createPipeline(def('train', ['prep']))
    await pfs.createPipeline(def('score', ['train', 'raw']))
    for (const j of (await pfs.listJobs()).entries) await pfs.updateJob(j.id, { state: 'killed' })
    const c = await commitTo(pfs, 'raw', 'a', 'a')
    const set = (await pfs.listJobs({ commitSet: c })).entries
    t.same(set.map(j => j.pipeline).sort(), ['prep', 'score', 'train'], 'one job per pipeline below, one commit set')
    const job = (name: string): JobInfo => set.find(j => j.pipeline === name)!
    t.same(job('prep').waitsFor, [])
    t.same(job('train').waitsFor, [job('prep').id], 'train waits for prep\'s job')
    t.same(job('score').waitsFor, [job('train').id], 'score waits for train, not for raw')
    t.match(job('score').reason, /waiting for the output of train/)
    t.match(job('score').inputs, [{ repo: 'train', from: job('train').id }, { repo: 'raw', commit: c }])

    // prep's job makes its commit: train reads it now, and nothing new is queued.
    const prep = job('prep')
    await pfs.updateJob(prep.id, { state: 'running' })
    const out = await pfs.putFile('prep', 'master', 'x', Buffer.from('x'), { job: prep.id })
    await pfs.updateJob(prep.id, { state: 'success' })
    const train = await pfs.inspectJob(job('train').id)
    t.same(train.waitsFor, [], 'train waits no more')
    t.equal(train.inputs[0]!.commit, out.commit.id, 'and reads prep\'s output of this commit set')
    t.equal((await pfs.listJobs({ pipeline: 'train' })).entries.filter(j => j.state === 'queued').length, 1,
      'no second train job')

    // train's job fails: score, waiting for it, fails too, saying why.
    await pfs.updateJob(train.id, { state: 'running' })
    await pfs.updateJob(train.id, { state: 'failure', reason: 'datum x failed' })
    const score = await pfs.inspectJob(job('score').id)
    t.equal(score.state, 'failure')
    t.match(score.reason, /upstream job [0-9a-f]{12} of pipeline train failed/)
    t.equal((await pfs.listJobs({ waiting: true })).entries.length, 0, 'nothing is left waiting')

    await refused(t, 'a cycle', pfs.createPipeline(def('prep', ['raw', 'score']), { update: true }),
      'INVALID_ARGUMENT', /cannot read score: score reads the output of prep/)
    await pfs.setPipelineState('train', 'stopped')
    await refused(t, 'a cycle through a stopped pipeline', pfs.createPipeline(def('prep', ['raw', 'score']),
      { update: true }), 'INVALID_ARGUMENT', /cannot read score/)
  })

  t.test(`${kind}: a job waits for another set's unfinished output, and reads the branch as it is if that fails`, async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('x')
    await pfs.createRepo('y')
    await pfs.createPipeline(def('a', ['x']))
    await pfs.createPipeline(def('b', ['a', 'y']))
    for (const j of (await pfs.listJobs()).entries) await pfs.updateJob(j.id, { state: 'killed' })
    const x1 = await commitTo(pfs, 'x', 'f', '1')
    const [ja, jb] = ['a', 'b'].map(p => (async () => (await pfs.listJobs({ commitSet: x1, pipeline: p })).entries[0]!)())
    const [a1, b1] = [await ja, await jb]
    const y1 = await commitTo(pfs, 'y', 'g', '1')
    const b2 = (await pfs.listJobs({ commitSet: y1, pipeline: 'b' })).entries[0]!
    t.same(b2.waitsFor, [a1.id], 'b\'s job for y waits for a\'s newer output, of another commit set')
    t.match(b2.reason, new RegExp(`waiting for the output of a \\(job ${a1.id.slice(0, 12)}\\)`))
    await pfs.updateJob(a1.id, { state: 'running' })
    await pfs.updateJob(a1.id, { state: 'failure', reason: 'a datum failed' })
    t.equal((await pfs.inspectJob(b1.id)).state, 'failure', 'b\'s job of the same set fails with it')
    const after = await pfs.inspectJob(b2.id)
    t.equal(after.state, 'queued', 'b\'s job for y does not: it reads a as it is')
    t.same(after.waitsFor, [])
    t.equal(after.inputs.find(i => i.repo === 'a')!.commit, null, 'a has no output yet')
    t.equal(after.inputs.find(i => i.repo === 'y')!.commit, y1)
  })

  t.test(`${kind}: deleting a pipeline`, async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('images')
    await pfs.createPipeline(def('edges', ['images']))
    await pfs.createPipeline(def('keep', ['images']))
    await pfs.deletePipeline('edges')
    await refused(t, 'gone', pfs.inspectPipeline('edges'), 'NOT_FOUND', /pfs pipeline list/)
    await refused(t, 'its repo too', pfs.inspectRepo('edges'), 'NOT_FOUND', /edges/)
    t.same((await pfs.listJobs()).entries.map(j => j.pipeline), ['keep'], 'and its jobs')
    await pfs.deletePipeline('keep', { keepRepo: true })
    await pfs.putFile('keep', 'master', 'now-mine', Buffer.from('x'))
    t.ok(true, 'a kept output repo is a plain repo again')
    await commitTo(pfs, 'images', 'a.png', 'a')
    t.same((await pfs.listJobs()).entries, [], 'no pipeline, no job')
    t.same(await pfs.listPipelines(), [])
  })
}

t.test('jobs survive a restart; a rebuild keeps a failed commit off its branch', async t => {
  const pfs = await tmpStore(t)
  await pfs.createRepo('images')
  await pfs.createPipeline(def('edges', ['images']))
  const c = await commitTo(pfs, 'images', 'a.png', 'a')
  // Newest first: the commit's job, then the creation's.
  const [job2, job] = (await pfs.listJobs({ pipeline: 'edges' })).entries as [JobInfo, JobInfo]
  await pfs.updateJob(job.id, { state: 'running' })
  const ok = await pfs.modify('edges', 'master', [{ op: 'mkdir', path: 'good' }], { job: job.id })
  await pfs.updateJob(job2.id, { state: 'running' })
  await pfs.modify('edges', 'master', [{ op: 'mkdir', path: 'bad' }], { job: job2.id, keepOpen: true })
  const failed = await pfs.finishCommit('edges', 'master', { job: job2.id, failed: true })
  await pfs.close()

  const engine = await openEngine(pfs.dir)
  t.teardown(() => engine.close())
  const again = createPfs(engine, engine.objects, await engine.config(), 'embedded')
  t.equal((await again.listJobs({ pipeline: 'edges' })).entries.length, 2, 'jobs are in the index')
  t.equal((await again.inspectJob(job.id)).trigger.kind, 'create')
  t.equal((await again.listJobs({ commitSet: c })).entries.length, 1)
  await again.rebuildIndex()
  t.equal((await again.inspectBranch('edges', 'master')).head, ok.commit.id, 'the rebuilt branch is at the good commit')
  t.equal((await again.inspectCommit('edges', failed.id)).failed, true, 'the failed commit is still there')
})
