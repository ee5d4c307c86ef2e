/**
 * Cron inputs: specs as Pachyderm writes them, ticks made by the runner as commits to the
 * input's repo (`<pipeline>_<name>`), each queueing the pipeline's job; `overwrite` keeps
 * one file; missed ticks are made up by one. And a real mount ticking on its own.
 */
import t from 'tap'
import { parseCron } from '../runner/cron.js'
import { tickCrons } from '../runner/runner.js'
import { parseSpec, pipelineDef } from '../runner/spec.js'
import type { JobInfo } from '../store/api/meta.js'
import { tmpStore } from './helpers/stores.js'
import { mountPfs } from './helpers/mount.js'

const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number =>
  new Date(y, mo - 1, d, h, mi, s).getTime()

t.test('cron specs: macros, fields, steps, names, and what is wrong with a bad one', async t => {
  const from = local(2026, 12, 7, 10, 7, 30) // a Monday
  const next = (spec: string, after = from): number => parseCron(spec).next(after)
  t.equal(next('@every 90s'), from + 90_000)
  t.equal(next('@every 1h30m'), from + 5_400_000)
  t.equal(next('*/15 * * * *'), local(2026, 12, 7, 10, 15))
  t.equal(next('0 * * * *'), local(2026, 12, 7, 11, 0))
  t.equal(next('@hourly'), local(2026, 12, 7, 11, 0))
  t.equal(next('@daily'), local(2026, 12, 8))
  t.equal(next('@weekly'), local(2026, 12, 13), 'next Sunday')
  t.equal(next('@monthly'), local(2027, 1, 1))
  t.equal(next('@yearly'), local(2027, 1, 1))
  t.equal(next('30 9 * * MON-FRI', local(2026, 12, 11, 12)), local(2026, 12, 14, 9, 30), 'Friday noon: Monday 9:30')
  t.equal(next('0 0 1 JAN *'), local(2027, 1, 1))
  t.equal(next('0 12 13 * 5'), local(2026, 12, 11, 12), 'either day field, as cron: Friday the 11th')
  t.equal(next('15,45 8-9 * * *'), local(2026, 12, 8, 8, 15))
  t.equal(next('*/20 * * * * *'), from + 10_000, 'six fields: seconds first')
  for (const [bad, why] of [
    ['@every 0s', /a second or more/], ['@often', /unknown macro/], ['* * *', /3 fields/],
    ['61 * * * *', /minute '61' is not between 0 and 59/], ['5-1 * * * *', /runs backwards/],
    ['* * 30 2 *', /never comes due/], ['*/0 * * * *', /step must be 1 or more/], ['x * * * *', /minute 'x'/]
  ] as Array<[string, RegExp]>) {
    t.throws(() => next(bad), why, bad)
  }
  const e = t.throws(() => parseSpec('pipeline: {name: p}\ntransform: {cmd: [sh]}\ninput: {cron: {name: tick, spec: "@often"}}\n', 'cron.yaml'))
  t.match(String(e), /input\.cron\.spec: got "@often"; unknown macro @often/, 'a bad cron spec is a spec problem, by field')
})

t.test('ticks: a commit each, named for its time, queueing the job; overwrite keeps one', async t => {
  const pfs = await tmpStore(t)
  const spec = parseSpec(`
pipeline: {name: nightly}
input:
  cross:
    - cron: {name: tick, spec: "@every 60s"}
    - cron: {name: once, spec: "@every 60s", overwrite: true}
transform: {cmd: [sh, -c, 'ls /pfs/tick > /pfs/out/ticks']}
`, 'nightly.yaml')
  const p = await pfs.createPipeline(pipelineDef(spec))
  t.same((await pfs.listRepos()).map(r => r.name).sort(), ['nightly', 'nightly_once', 'nightly_tick'],
    'each cron input has its repo, named as Pachyderm names it')
  const t0 = p.created
  t.equal(await tickCrons(pfs, t0 + 30_000), t0 + 60_000, 'nothing due yet: it says when')
  t.equal((await pfs.inspectBranch('nightly_tick', 'master').catch(() => ({ head: null }))).head, null)

  const due = await tickCrons(pfs, t0 + 61_000)
  t.equal(due, t0 + 120_000)
  const name = new Date(t0 + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  t.same((await pfs.list('nightly_tick', 'master', '')).entries.map(e => e.name), [name], 'a file named for the tick')
  t.equal((await pfs.readAll('nightly_tick', 'master', name)).toString(), `${name}\n`)
  const jobs = (await pfs.listJobs({ pipeline: 'nightly' })).entries
  t.ok(jobs.some((j: JobInfo) => j.trigger.kind === 'commit' && j.trigger.repo === 'nightly_tick'), 'the tick queued a job')

  // Five minutes without a runner: one tick makes up for them, at the latest time due.
  await tickCrons(pfs, t0 + 5 * 60_000 + 5000)
  const ticks = (await pfs.list('nightly_tick', 'master', '')).entries
  t.equal(ticks.length, 2, 'one more tick, not four')
  t.equal(ticks[1]!.name, new Date(t0 + 5 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'))
  t.equal((await pfs.list('nightly_once', 'master', '')).entries.length, 1, 'overwrite: only the newest tick')
  await pfs.setPipelineState('nightly', 'stopped')
  const before = (await pfs.log('nightly_tick', 'master')).length
  await tickCrons(pfs, t0 + 60 * 60_000)
  t.equal((await pfs.log('nightly_tick', 'master')).length, before, 'a stopped pipeline does not tick')
})

t.test('a mount that owns the store ticks cron inputs and runs their jobs', async t => {
  const m = await mountPfs(t)
  const spec = `
pipeline: {name: clock}
input: {cron: {name: tick, spec: "@every 1s", overwrite: true}}
transform: {cmd: [sh, -c, 'ls /pfs/tick > /pfs/out/last']}
`
  t.equal((await m.pfs(['pipeline', 'create', '-f', '-'], { input: spec })).code, 0)
  const end = Date.now() + 30_000
  let out = ''
  while (Date.now() < end) {
    const r = await m.pfs(['cat', 'clock@master:last'])
    if (r.code === 0) { out = r.stdout; break }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.match(out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/, `the job saw the tick file: ${m.output()}`)
  // A tick a second: the next job may have opened its output commit (no provenance until
  // it finishes) between the cat and this; ask until the head is a finished job's commit.
  let prov = ''
  for (const until = Date.now() + 20_000; Date.now() < until;) {
    prov = (await m.pfs(['provenance', 'clock@master'])).stdout
    if (/clock_tick@/.test(prov)) break
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.match(prov, /clock_tick@[0-9a-f]{32} \(user\)/, 'provenance leads to the tick commit')
})
