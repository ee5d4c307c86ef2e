/**
 * Jobs end to end: a real `pfs mount` serves the store, datums run in real bubblewrap
 * sandboxes that read their inputs through that mount, and outputs become commits with
 * provenance. Incremental runs are proved by the job's own counts of datums run and
 * skipped, and by the outputs that change (or do not).
 */
import t, { type Test } from 'tap'
import type { Pfs } from '../store/api/pfs.js'
import type { WriteOp } from '../store/api/meta.js'
import { openPfs } from '../store/open.js'
import { LocalBackend } from '../runner/local.js'
import { runQueued } from '../runner/jobs.js'
import { parseSpec, pipelineDef } from '../runner/spec.js'
import { type Mount, mountPfs } from './helpers/mount.js'

async function setup (t: Test): Promise<{ pfs: Pfs, backend: LocalBackend, m: Mount }> {
  // The test runs the jobs itself, through the mount: the mount's own runner stays off.
  const m = await mountPfs(t, { args: ['--no-runner'] })
  const pfs = await openPfs({ store: m.store })
  t.teardown(() => pfs.close())
  t.equal(pfs.mode, 'remote', 'the test talks to the mount\'s server')
  return { pfs, backend: new LocalBackend({ mount: m.dir }), m }
}

const create = async (pfs: Pfs, yaml: string, opts: { update?: boolean, reprocess?: boolean } = {}): Promise<void> => {
  await pfs.createPipeline(pipelineDef(parseSpec(yaml, 'spec.yaml')), opts)
}

const UPPER = `
pipeline: {name: upper}
input: {pfs: {repo: words, glob: "/*"}}
transform:
  cmd: [sh]
  stdin:
    - 'for f in /pfs/words/*; do tr a-z A-Z < "$f" > /pfs/out/$(basename "$f"); done'
`

t.test('a pipeline runs each datum once, reuses what it ran before, and records provenance', async t => {
  const { pfs, backend } = await setup(t)
  await pfs.createRepo('words')
  await pfs.startCommit('words', 'master')
  for (let i = 0; i < 5; i++) await pfs.putFile('words', 'master', `w${i}.txt`, Buffer.from(`word ${i}\n`))
  const c1 = await pfs.finishCommit('words', 'master')
  await create(pfs, UPPER)
  const [first] = await runQueued(pfs, { backend })
  t.equal(first!.state, 'success', first!.reason)
  t.match(first!.stats, { datums: 5, processed: 5, skipped: 0, failed: 0 })
  t.equal((await pfs.readAll('upper', 'master', 'w3.txt')).toString(), 'WORD 3\n', 'the output commit has the results')
  const out = await pfs.inspectCommit('upper', 'master')
  t.equal(out.origin, 'pipeline')
  t.same(out.provenance.inputs, [{ repo: 'words', branch: 'master', commit: c1.id }], 'provenance names the input commit')
  t.match(out.provenance, { pipeline: { name: 'upper', version: 1 }, job: first!.id })

  // Change one file, add one, delete one: only the changed and added datums run.
  await pfs.startCommit('words', 'master')
  await pfs.putFile('words', 'master', 'w1.txt', Buffer.from('changed\n'))
  await pfs.putFile('words', 'master', 'w9.txt', Buffer.from('new\n'))
  await pfs.apply('words', 'master', [{ op: 'delete', path: 'w4.txt' }])
  await pfs.finishCommit('words', 'master')
  const [second] = await runQueued(pfs, { backend })
  t.match(second!.stats, { datums: 5, processed: 2, skipped: 3 }, 'exactly the changed and the added datum ran')
  const files = (await pfs.list('upper', 'master', '')).entries.map(e => e.name)
  t.same(files, ['w0.txt', 'w1.txt', 'w2.txt', 'w3.txt', 'w9.txt'], 'the deleted datum\'s output is gone')
  t.equal((await pfs.readAll('upper', 'master', 'w1.txt')).toString(), 'CHANGED\n')

  // Revert w1: its old key succeeded before, so nothing runs.
  await pfs.putFile('words', 'master', 'w1.txt', Buffer.from('word 1\n'))
  const [third] = await runQueued(pfs, { backend })
  t.match(third!.stats, { processed: 0, skipped: 5 }, 'a reverted datum is not run again')
  t.equal((await pfs.readAll('upper', 'master', 'w1.txt')).toString(), 'WORD 1\n', 'its old output is back')

  const listed = (await pfs.listDatums('upper', { job: third!.id })).entries
  t.same(listed.map(d => [d.inputs[0]!.path, d.state]), [['w1.txt', 'skipped']],
    'the job records the one datum it looked at; the other four were left as they were')
  const current = (await pfs.listDatums('upper')).entries
  t.same(current.map(d => d.inputs[0]!.path).sort(), ['w0.txt', 'w1.txt', 'w2.txt', 'w3.txt', 'w9.txt'],
    'the pipeline\'s datums are those of its inputs now (w4 is gone)')
})

t.test('failures: retries, err_cmd, accepted codes, timeouts, collisions', async t => {
  const { pfs, backend } = await setup(t)
  await pfs.createRepo('in')
  await pfs.startCommit('in', 'master')
  await pfs.putFile('in', 'master', 'a', Buffer.from('a'))
  await pfs.putFile('in', 'master', 'b', Buffer.from('b'))
  await pfs.finishCommit('in', 'master')
  await create(pfs, `
pipeline: {name: flaky}
input: {pfs: {repo: in, glob: "/*"}}
transform: {cmd: [sh, -c, 'echo trying >&2; test "$(basename $in)" = a || exit 7; echo ok > /pfs/out/$(basename $in)']}
datum_tries: 2
`)
  const [job] = await runQueued(pfs, { backend })
  t.equal(job!.state, 'failure')
  t.match(job!.reason, /datum [0-9a-f]{12} \(in:\/b\) failed: exit code 7; last output: stderr: trying/)
  const failed = (await pfs.listDatums('flaky', { job: job!.id })).entries.find(d => d.state === 'failed')!
  t.equal(failed.tries, 2, 'datum_tries is the total number of attempts')
  t.equal((await pfs.inspectBranch('flaky', 'master')).head, null, 'a failed job does not move the output branch')
  t.equal((await pfs.inspectCommit('flaky', job!.output!)).failed, true, 'its commit is kept, marked failed')

  await create(pfs, `
pipeline: {name: flaky}
input: {pfs: {repo: in, glob: "/*"}}
transform:
  cmd: [sh, -c, 'test "$(basename $in)" = a || exit 7; echo ok > /pfs/out/$(basename $in)']
  accept_return_code: [7]
`, { update: true })
  const [accepted] = await runQueued(pfs, { backend })
  t.equal(accepted!.state, 'success', 'accept_return_code takes 7 as success')

  await create(pfs, `
pipeline: {name: slow}
input: {pfs: {repo: in, glob: "/*"}}
transform: {cmd: [sh, -c, 'sleep 30'], err_cmd: [sh, -c, 'exit 0']}
datum_timeout: 2s
datum_tries: 1
`)
  const [slow] = await runQueued(pfs, { backend })
  t.equal(slow!.state, 'success', 'err_cmd recovered the timed-out datums')
  t.match(slow!.stats, { recovered: 2, processed: 0 })
  const rec = (await pfs.listDatums('slow', { job: slow!.id })).entries[0]!
  t.match(rec.reason, /recovered by err_cmd after: timed out after/)
  // A recovered datum is done with: the next job reuses it until its inputs change.
  await pfs.putFile('in', 'master', 'c', Buffer.from('c'))
  const jobs = await runQueued(pfs, { backend })
  const next = jobs.find(j => j.pipeline === 'slow')!
  t.match(next.stats, { datums: 3, recovered: 1, skipped: 2 }, 'only the new datum ran (and was recovered)')

  await create(pfs, `
pipeline: {name: clash}
input: {pfs: {repo: in, glob: "/*"}}
transform: {cmd: [sh, -c, 'echo x > /pfs/out/same']}
`)
  const [clash] = await runQueued(pfs, { backend })
  t.equal(clash!.state, 'failure')
  t.match(clash!.reason, /datums [0-9a-f]{12} and [0-9a-f]{12} both wrote same/)
})

t.test('a job stopped by pfs job stop while its datums end quickly: the runner goes on', async t => {
  const { pfs, backend } = await setup(t)
  await pfs.createRepo('many')
  await pfs.startCommit('many', 'master')
  for (let i = 0; i < 60; i++) await pfs.putFile('many', 'master', `f${i}`, Buffer.from(String(i)))
  await pfs.finishCommit('many', 'master')
  await create(pfs, `
pipeline: {name: quick}
input: {pfs: {repo: many, glob: "/*"}}
transform: {cmd: [sh, -c, 'cp $many /pfs/out/']}
`)
  let stopped = false
  const jobs = await runQueued(pfs, {
    backend,
    onEvent: e => {
      if (e.kind === 'datum' && !stopped) {
        stopped = true
        void pfs.updateJob(e.job, { state: 'killed', reason: 'stopped by a test', finished: Date.now() })
      }
    }
  })
  t.equal(jobs.length, 1)
  t.equal(jobs[0]!.state, 'killed', 'the job ends killed, and runQueued returns')
  t.ok(jobs[0]!.stats.processed < 60, 'it stopped before every datum ran')
  await pfs.putFile('many', 'master', 'f0', Buffer.from('again'))
  const [next] = await runQueued(pfs, { backend })
  t.equal(next!.state, 'success', `the next job runs: ${next!.reason}`)
  t.equal((await pfs.list('quick', 'master', '', { limit: 100 })).entries.length, 60, 'and has every output')
})

t.test('a three-stage DAG shares one commit set and its provenance leads back to the input', async t => {
  const { pfs, backend, m } = await setup(t)
  await pfs.createRepo('raw')
  await create(pfs, `
pipeline: {name: prep}
input: {pfs: {repo: raw, glob: "/*"}}
transform: {cmd: [sh, -c, 'wc -c < $raw > /pfs/out/$(basename $raw).len']}
`)
  await create(pfs, `
pipeline: {name: train}
input: {pfs: {repo: prep, glob: "/"}}
transform: {cmd: [sh, -c, 'cat /pfs/prep/*.len | awk "{s+=\\$1} END {print s}" > /pfs/out/model']}
`)
  await create(pfs, `
pipeline: {name: score}
input:
  cross:
    - pfs: {repo: train, glob: "/"}
    - pfs: {repo: raw, glob: "/*"}
transform: {cmd: [python3, -c, 'import os; m=int(open("/pfs/train/model").read()); n=os.path.basename(os.environ["raw"]); open("/pfs/out/"+n, "w").write(str(m))']}
`)
  await runQueued(pfs, { backend })
  await pfs.startCommit('raw', 'master')
  await pfs.putFile('raw', 'master', 'x', Buffer.from('12345'))
  await pfs.putFile('raw', 'master', 'y', Buffer.from('123'))
  const input = await pfs.finishCommit('raw', 'master')
  const jobs = await runQueued(pfs, { backend })
  t.ok(jobs.every(j => j.state === 'success'), jobs.map(j => `${j.pipeline}: ${j.state} ${j.reason}`).join('; '))
  t.equal((await pfs.readAll('train', 'master', 'model')).toString().trim(), '8')
  t.equal((await pfs.readAll('score', 'master', 'y')).toString(), '8')
  const set = (await pfs.listJobs({ commitSet: input.id })).entries.map(j => j.pipeline).sort()
  t.same(set, ['prep', 'score', 'train'], 'one job per pipeline below the commit, in its commit set')
  const scoreJob = (await pfs.listJobs({ commitSet: input.id, pipeline: 'score' })).entries[0]!
  t.same(scoreJob.waitsFor, [], 'score waited for train\'s output, and got it')
  const score = await pfs.inspectCommit('score', 'master')
  const trainCommit = score.provenance.inputs.find(i => i.repo === 'train')!.commit
  const prepCommit = (await pfs.inspectCommit('train', trainCommit)).provenance.inputs[0]!.commit
  const rawCommit = (await pfs.inspectCommit('prep', prepCommit)).provenance.inputs[0]!.commit
  t.equal(rawCommit, input.id, 'score -> train -> prep -> the raw commit')
  const xattr = await m.sh(`python3 -c 'import os; print(os.getxattr("'$M/score/.commits/${score.id}'", "user.pfs.provenance").decode())'`)
  t.equal(xattr.code, 0, `${xattr.stderr}\n${m.output()}`)
  const prov = JSON.parse(xattr.stdout) as { origin: string, job: string, inputs: unknown[] }
  t.match(prov, { commit: score.id, origin: 'pipeline', job: score.provenance.job, pipeline: { name: 'score', version: 1 } },
    'the mount shows the provenance of an output commit as an xattr of its folder')
  t.same(prov.inputs, score.provenance.inputs)

  // The same graph by name: each output commit's folder under .provenance links to its inputs.
  const walk = await m.sh([
    'ls $M/score/.provenance/master',
    `readlink $M/score/.provenance/${score.id}/train`,
    'cat $M/score/.provenance/master/train/model',
    'cat $M/score/.provenance/master/train/../../../prep/.provenance/master/raw/x',
    'ls $M/train/.provenance/master/prep/',
    'touch $M/score/.provenance/master/x 2>&1 || true'
  ].join('; echo --; '))
  t.equal(walk.code, 0, walk.stderr)
  const [names, link, model, raw, prep, write] = walk.stdout.split('--\n').map(s => s.trim())
  t.equal(names, 'raw\ntrain', 'one link per input repo')
  t.equal(link, `../../../train/.commits/${trainCommit}`, 'a relative link to the input commit')
  t.equal(model, '8', 'cd-able: the model the scores were made with')
  t.equal(raw, '12345', 'and on up the DAG to the raw data')
  t.equal(prep, 'x.len\ny.len')
  t.match(write, /Read-only file system/)
})

t.test('a 1,000-file input: add, change, delete one file and exactly one datum runs; a revert runs none', async t => {
  const { pfs, backend } = await setup(t)
  await pfs.createRepo('many')
  await pfs.putFile('many', 'master', 'seed', Buffer.from('x\n'))
  const chunks = (await pfs.readPlan('many', 'master', 'seed')).chunks.map(c => [c.id, c.size] as [string, number])
  await pfs.startCommit('many', 'master')
  const ops: WriteOp[] = [{ op: 'delete', path: 'seed' }]
  for (let i = 0; i < 1000; i++) ops.push({ op: 'put', path: `f${String(i).padStart(4, '0')}`, chunks })
  await pfs.apply('many', 'master', ops)
  await pfs.finishCommit('many', 'master')
  await create(pfs, `
pipeline: {name: count}
input: {pfs: {repo: many, glob: "/*"}}
transform: {cmd: [sh, -c, 'n=$(basename $many); echo "RAN $n"; wc -c < $many > /pfs/out/$n']}
`)
  // What ran in a job, by the lines its datums printed (kept in the store).
  const ran = async (job: string): Promise<string[]> => {
    const out: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await pfs.readLogs({ job, after })
      out.push(...page.entries.filter(l => l.line.startsWith('RAN ')).map(l => l.line.slice(4)))
      if (page.entries.length === 0) return out.sort()
      after = page.next
    }
  }
  const [first] = await runQueued(pfs, { backend })
  t.equal(first!.state, 'success', first!.reason)
  t.equal((await ran(first!.id)).length, 1000, 'the first job runs every datum')

  const step = async (what: string, change: () => Promise<unknown>, want: string[]): Promise<void> => {
    await change()
    const [job] = await runQueued(pfs, { backend })
    t.equal(job!.state, 'success', `${what}: ${job!.reason}`)
    t.same(await ran(job!.id), want, `${what}: ${want.length === 0 ? 'nothing ran' : `only ${want.join(' ')} ran`}`)
    t.equal(job!.stats.processed, want.length)
  }
  await step('a file added', () => pfs.putFile('many', 'master', 'f1000', Buffer.from('new file\n')), ['f1000'])
  t.equal((await pfs.readAll('count', 'master', 'f1000')).toString().trim(), '9')
  await step('a file changed', () => pfs.putFile('many', 'master', 'f0500', Buffer.from('changed\n')), ['f0500'])
  t.equal((await pfs.readAll('count', 'master', 'f0500')).toString().trim(), '8')
  await step('a file deleted', () => pfs.apply('many', 'master', [{ op: 'delete', path: 'f0007' }]), [])
  await t.rejects(pfs.stat('count', 'master', 'f0007'), /not found/, 'its output went with it')
  await step('the change reverted', () => pfs.putFile('many', 'master', 'f0500', Buffer.from('x\n')), [])
  t.equal((await pfs.readAll('count', 'master', 'f0500')).toString().trim(), '2', 'the old output is back')
  t.equal((await pfs.list('count', 'master', '', { limit: 2000 })).entries.length, 1000, '1,000 outputs, one per datum')
})
