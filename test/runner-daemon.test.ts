/**
 * The runner inside the process that owns the store: `pfs mount` runs the pipelines while
 * every other command talks to it. A put returns at once, `pfs wait` follows the mount's
 * runner, logs outlive the sandboxes, `pfs job stop` kills a running job's processes, and
 * kill -9 of the runner mid-job resumes with what it finished: no output lost or doubled.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { DatumRecord, JobInfo, LogLine } from '../store/api/meta.js'
import { type Mount, mountPfs } from './helpers/mount.js'

const run = promisify(execFile)

async function until<T> (what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

async function pfsJson<T> (m: Mount, args: string[]): Promise<T> {
  const r = await m.pfs([...args, '--json'])
  if (r.code !== 0) throw new Error(`pfs ${args.join(' ')}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

async function words (t: Test, m: Mount, files: Record<string, string>): Promise<void> {
  const script = Object.entries(files).map(([f, body]) => `printf '${body}' > $L/in/${f}`).join('\n')
  t.equal((await m.sh(`mkdir -p $L/in\n${script}`)).code, 0)
  const r = await m.pfs(['put', 'words@master:/', 'in/'])
  t.equal(r.code, 0, r.stderr)
}

t.test('a mount that owns the store runs the pipelines; put returns, wait follows, logs stay', async t => {
  const m = await mountPfs(t)
  t.equal((await m.pfs(['repo', 'create', 'words'])).code, 0)
  await words(t, m, { 'a.txt': 'alpha', 'b.txt': 'beta' })
  const spec = `
pipeline: {name: upper}
input: {pfs: {repo: words, glob: "/*"}}
transform:
  cmd: [sh, -c, 'echo "reading $words"; echo "to stderr" >&2; tr a-z A-Z < $words > /pfs/out/$(basename $words)']
`
  const created = await m.pfs(['pipeline', 'create', '-f', '-'], { input: spec })
  t.equal(created.code, 0, created.stderr)
  t.notMatch(created.stdout, /job [0-9a-f]{12} of upper/, 'the command did not run the job: the mount does')
  const waited = await m.pfs(['wait', 'words@master'])
  t.equal(waited.code, 0, `${waited.stderr}\n${m.output()}`)
  t.equal((await m.pfs(['cat', 'upper@master:b.txt'])).stdout, 'BETA')
  t.equal((await m.sh('cat $M/upper/master/a.txt')).stdout, 'ALPHA', 'and the mount shows the output')

  await words(t, m, { 'c.txt': 'gamma' })
  t.equal((await m.pfs(['wait', 'words@master'])).code, 0)
  const [job] = await pfsJson<JobInfo[]>(m, ['job', 'list', '-p', 'upper'])
  t.match(job!.stats, { processed: 1, skipped: 2, failed: 0 }, 'the mount\'s runner planned from the diff')
  t.match(job!.reason, '', 'a job that succeeded has no reason left')

  const logs = (await m.pfs(['logs', '-p', 'upper', '--json'])).stdout.trim().split('\n').map(l => JSON.parse(l) as LogLine)
  const reads = logs.filter(l => l.stream === 'stdout').map(l => l.line).sort()
  t.same(reads, ['reading /pfs/words/a.txt', 'reading /pfs/words/b.txt', 'reading /pfs/words/c.txt'],
    'every datum\'s output is kept, once')
  const c = logs.find(l => l.line === 'reading /pfs/words/c.txt')!
  t.match(c, { pipeline: 'upper', job: job!.id, paths: ['words:/c.txt'], attempt: 1 }, 'tagged with job, datum, paths')
  t.ok(logs.some(l => l.stream === 'stderr' && l.line === 'to stderr'), 'stderr too')
  const one = await m.pfs(['logs', '--job', job!.id.slice(0, 8), '--datum', c.datum.slice(0, 8)])
  t.equal(one.stdout, `[${job!.id.slice(0, 12)} ${c.datum.slice(0, 12)} words:/c.txt] reading /pfs/words/c.txt\n` +
    `[${job!.id.slice(0, 12)} ${c.datum.slice(0, 12)} words:/c.txt] to stderr\n`, 'one datum\'s lines, tagged')

  const inspected = await m.pfs(['datum', 'inspect', 'upper', c.datum.slice(0, 8)])
  t.equal(inspected.code, 0, inspected.stderr)
  t.match(inspected.stdout, /state:\s+success/)
  t.match(inspected.stdout, /inputs:\s+words: words@[0-9a-f]{32}:\/c\.txt/)
  t.match(inspected.stdout, /outputs:\s+c\.txt/)
  t.match(inspected.stdout, /time:\s+[\d.]+ s preparing, [\d.]+ s running, [\d.]+ s uploading/)
  const bad = await m.pfs(['datum', 'inspect', 'upper', 'ffffffff'])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /datum 'ffffffff' not found/)

  // A job left queued by a pipeline stopped meanwhile: pfs wait says so instead of waiting for ever.
  // Its first job runs long, so the job of the next commit is still queued behind it when it
  // stops; meanwhile upper's job for that commit runs beside it (pipelines do not wait on each other).
  const lazy = 'pipeline: {name: lazy}\ninput: {pfs: {repo: words, glob: "/"}}\ntransform: {cmd: [sleep, "60"]}\n'
  t.equal((await m.pfs(['pipeline', 'create', '-f', '-'], { input: lazy })).code, 0)
  const first = await until('lazy\'s first job to start', async () => {
    const [j] = await pfsJson<JobInfo[]>(m, ['job', 'list', '-p', 'lazy'])
    return j?.state === 'running' ? j : undefined
  })
  await words(t, m, { 'd.txt': 'delta' })
  t.equal((await m.pfs(['pipeline', 'stop', 'lazy'])).code, 0)
  const stuck = await m.pfs(['wait', 'words@master'])
  t.equal(stuck.code, 1, stuck.stderr)
  t.match(stuck.stderr, /job [0-9a-f]{12} of pipeline lazy cannot run now \(queued: pipeline lazy is stopped; `pfs pipeline start lazy` runs it\)/)
  t.equal((await m.pfs(['job', 'stop', first.id])).code, 0)
})

t.test('pfs job stop kills a running job in the mount: its processes are gone', async t => {
  const m = await mountPfs(t)
  t.equal((await m.pfs(['repo', 'create', 'words'])).code, 0)
  await words(t, m, { 'a.txt': 'a' })
  const marker = `sleep ${70_000 + (process.pid % 10_000)}`
  const spec = `
pipeline: {name: slow}
input: {pfs: {repo: words, glob: "/*"}}
transform: {cmd: [sh, -c, '${marker}']}
`
  t.equal((await m.pfs(['pipeline', 'create', '-f', '-'], { input: spec })).code, 0)
  const job = await until('the job to start', async () => {
    const [j] = await pfsJson<JobInfo[]>(m, ['job', 'list', '-p', 'slow'])
    const up = await run('pgrep', ['-f', marker]).then(() => true, () => false)
    return j?.state === 'running' && up ? j : undefined
  })
  const stopped = await m.pfs(['job', 'stop', job.id.slice(0, 10)])
  t.equal(stopped.code, 0, stopped.stderr)
  await until('the datum\'s processes to go', async () =>
    await run('pgrep', ['-f', marker]).then(() => undefined, () => true), 20_000)
  t.pass('the sandbox was killed')
  t.equal((await pfsJson<JobInfo>(m, ['job', 'inspect', job.id])).state, 'killed')
  // The runner goes on: a new version that finishes runs, starting a fresh output commit.
  const quick = spec.replace(`'${marker}'`, '\'echo done > /pfs/out/x\'')
  t.equal((await m.pfs(['pipeline', 'update', '-f', '-'], { input: quick })).code, 0)
  t.equal((await m.pfs(['wait', 'words@master'])).code, 1, 'the killed job is still in the commit set')
  const latest = await until('the new version\'s job', async () => {
    const [j] = await pfsJson<JobInfo[]>(m, ['job', 'list', '-p', 'slow'])
    return j?.state === 'success' ? j : undefined
  })
  t.equal(latest.version, 2)
  t.equal((await m.pfs(['cat', 'slow@master:x'])).stdout, 'done\n')
})

t.test('kill -9 of the runner mid-job: it resumes with what it finished, nothing lost or doubled', async t => {
  const m = await mountPfs(t)
  t.equal((await m.pfs(['repo', 'create', 'words'])).code, 0)
  const files: Record<string, string> = {}
  for (let i = 0; i < 8; i++) files[`w${i}.txt`] = `word ${i}`
  await words(t, m, files)
  const spec = `
pipeline: {name: slow}
input: {pfs: {repo: words, glob: "/*"}}
parallelism_spec: {constant: 1}
transform: {cmd: [sh, -c, 'echo "RAN $(basename $words)"; sleep 0.7; tr a-z A-Z < $words > /pfs/out/$(basename $words)']}
`
  t.equal((await m.pfs(['pipeline', 'create', '-f', '-'], { input: spec })).code, 0)
  const job = await until('three datums to finish', async () => {
    const [j] = await pfsJson<JobInfo[]>(m, ['job', 'list', '-p', 'slow'])
    if (j === undefined) return undefined
    const done = await pfsJson<DatumRecord[]>(m, ['datum', 'list', `slow@${j.id}`])
    return done.length >= 3 ? j : undefined
  })
  await m.kill()
  const before = await m.sh('true') // the store is free now: read what the killed runner left
  t.equal(before.code, 0)
  await m.start()
  const done = await until('the job to finish after the restart', async () => {
    const j = await pfsJson<JobInfo>(m, ['job', 'inspect', job.id])
    return j.state === 'success' ? j : undefined
  })
  t.match(done.stats, { datums: 8, processed: 8, failed: 0 })
  for (let i = 0; i < 8; i++) {
    t.equal((await m.pfs(['cat', `slow@master:w${i}.txt`])).stdout, `WORD ${i}`, `w${i} is there, once`)
  }
  t.equal((await pfsJson<Array<{ path: string }>>(m, ['ls', 'slow@master'])).length, 8, 'and nothing else')
  const ran = (await m.pfs(['logs', '--job', job.id, '--json'])).stdout.trim().split('\n')
    .map(l => JSON.parse(l) as LogLine).filter(l => l.line.startsWith('RAN ')).map(l => l.line)
  const counts = new Map<string, number>()
  for (const r of ran) counts.set(r, (counts.get(r) ?? 0) + 1)
  t.equal(counts.size, 8, 'every datum ran')
  t.ok([...counts.values()].filter(n => n === 1).length >= 7,
    `datums finished before the kill did not run again; at most the one running then ran twice: ${JSON.stringify([...counts])}`)
  const commits = await pfsJson<Array<{ id: string, failed?: boolean }>>(m, ['log', 'slow'])
  t.equal(commits.length, 1, 'one output commit: the resumed job finished the session it had opened')
})
