/**
 * The pipeline commands as a user runs them: `pfs pipeline schema` and `pfs datum list -f`
 * (the datums a spec would make, without running it), a bad spec's one line per problem,
 * and the laptop default with no daemon: the command that makes a commit runs its jobs
 * (`--no-run`, `pfs wait`, Ctrl-C, other commands getting in meanwhile).
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { oneLineMistake, pfsCli, spawnPfs } from './helpers/cli.js'

const SPEC = `
pipeline: {name: edges}
input: {pfs: {repo: images, glob: "/*"}}
transform: {cmd: [sh, -c, "cp /pfs/images/* /pfs/out/"]}
`

t.test('pfs datum list -f shows the datums of the inputs\' heads', async t => {
  const cli = pfsCli(t)
  t.equal((await cli.run(['repo', 'create', 'images'])).code, 0)
  cli.files({ 'in/a.png': 'a', 'in/b.png': 'bb', 'in/sub/c.png': 'ccc', 'edges.yaml': SPEC })
  t.equal((await cli.run(['put', 'images@master:/', 'in/'])).code, 0)
  const r = await cli.run(['datum', 'list', '-f', 'edges.yaml', '--json'])
  t.equal(r.code, 0, r.stderr)
  const datums = JSON.parse(r.stdout) as Array<{ id: string, inputs: Array<{ name: string, path: string }> }>
  t.same(datums.map(d => d.inputs.map(i => `${i.name}:${i.path}`)), [['images:a.png'], ['images:b.png'], ['images:sub']])
  t.ok(datums.every(d => /^[0-9a-f]{64}$/.test(d.id)), 'each datum has an id')
  const table = await cli.run(['datum', 'list', '-f', '-'], { input: SPEC })
  t.equal(table.code, 0, table.stderr)
  t.match(table.stdout, /^DATUM\s+INPUTS\s+SIZE\n/)
  t.match(table.stdout, /images@[0-9a-f]{12}:\/sub\s+3 B/)
  t.equal((await cli.run(['repo', 'create', 'empty'])).code, 0)
  const none = await cli.run(['datum', 'list', '-f', '-', '--json'],
    { input: SPEC.replace('repo: images', 'repo: empty') })
  t.same(JSON.parse(none.stdout), [], 'an input with no commits has no datums')
  oneLineMistake(t, await cli.run(['datum', 'list', '-f', '-'], { input: SPEC.replace('repo: images', 'repo: nosuch') }),
    /repo 'nosuch'/)
})

t.test('a bad spec: one line per problem under a headline, exit 1, no stack', async t => {
  const cli = pfsCli(t)
  const bad = '{"pipeline":{"name":"x"},"input":{"pfs":{"repo":"images","glob":"/*"}},' +
    '"transform":{"cmd":["sh"]},"spout":{},"datumTris":2,"parallelismSpec":{"constant":"many"}}'
  const r = await cli.run(['datum', 'list', '-f', '-'], { input: bad })
  t.equal(r.code, 1)
  const lines = r.stderr.trimEnd().split('\n')
  t.equal(lines[0], 'pfs: pipeline spec on stdin has 3 problems:', 'a headline')
  t.equal(lines.length, 4, 'then one line per problem')
  t.ok(lines.slice(1).every(l => l.startsWith('  ')), 'indented under it')
  t.match(r.stderr, /parallelismSpec\.constant: got "many"; expected number/)
  t.match(r.stderr, /spout: Pachyderm's spout pipelines are not supported by pfs/)
  t.match(r.stderr, /datumTris: unknown field; did you mean 'datum_tries'\?/)
  t.notMatch(r.stderr, /^\s+at /m, 'no stack trace')
  oneLineMistake(t, await cli.run(['datum', 'list', '-f', 'nope.yaml']), /pipeline spec nope\.yaml does not exist/)
  oneLineMistake(t, await cli.run(['datum', 'list', '-f', '.']), /is a folder/)
  oneLineMistake(t, await cli.run(['datum', 'list', '-f', '-'], { input: '{"pipeline": ' }), /neither JSON nor YAML/)
})

t.test('pfs pipeline schema prints a JSON Schema', async t => {
  const cli = pfsCli(t)
  const r = await cli.run(['pipeline', 'schema'])
  t.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as { $schema: string, properties: Record<string, unknown> }
  t.match(s.$schema, /json-schema\.org/)
  t.ok(s.properties.transform && s.properties.input && s.properties.datum_tries)
})

const UPPER = `
pipeline: {name: upper}
input: {pfs: {repo: words, glob: "/*"}}
transform:
  cmd: [sh, -c, 'tr a-z A-Z < $words > /pfs/out/$(basename $words)']
`

t.test('no daemon: the command that makes a commit runs the jobs it queued', async t => {
  const cli = pfsCli(t)
  cli.files({ 'a.txt': 'hello\n', 'b.txt': 'world\n', 'c.txt': 'third\n', 'upper.yaml': UPPER })
  t.equal((await cli.run(['repo', 'create', 'words'])).code, 0)
  t.equal((await cli.run(['put', 'words@master:a.txt', 'a.txt'])).code, 0)
  const created = await cli.run(['pipeline', 'create', '-f', 'upper.yaml'])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /created pipeline upper \(version 1\)/)
  t.match(created.stdout, /job [0-9a-f]{12} of upper: success \(1 run, 0 skipped, 0 failed\)/)
  t.equal((await cli.run(['put', 'words@master:b.txt', 'b.txt'])).code, 0)
  t.equal((await cli.run(['cat', 'upper@master:b.txt'])).stdout, 'WORLD\n', 'the put ran the job before it exited')
  t.equal((await cli.run(['cat', 'upper@master:a.txt'])).stdout, 'HELLO\n')

  const queued = await cli.run(['put', 'words@master:c.txt', 'c.txt', '--no-run'])
  t.equal(queued.code, 0)
  t.equal((await cli.run(['cat', 'upper@master:c.txt'])).code, 1, '--no-run left the job queued')
  const jobs = JSON.parse((await cli.run(['job', 'list', '-p', 'upper', '--json'])).stdout) as Array<{ state: string }>
  t.equal(jobs[0]!.state, 'queued')
  const waited = await cli.run(['wait', 'words@master'])
  t.equal(waited.code, 0, waited.stderr)
  t.match(waited.stdout, /upper: job [0-9a-f]{12} success/)
  t.equal((await cli.run(['cat', 'upper@master:c.txt'])).stdout, 'THIRD\n', 'pfs wait ran it')

  const lastJob = (jobs[0] as unknown as { id: string }).id
  const ran = JSON.parse((await cli.run(['datum', 'list', `upper@${lastJob}`, '--json'])).stdout) as
    Array<{ state: string, inputs: Array<{ path: string }> }>
  t.same(ran.map(d => [d.inputs[0]!.path, d.state]), [['c.txt', 'success']], 'only the new datum ran')
  const datums = JSON.parse((await cli.run(['datum', 'list', 'upper', '--json'])).stdout) as Array<{ job: string }>
  t.equal(datums.length, 3, 'the pipeline has three datums')
  t.equal(datums.filter(d => d.job === lastJob).length, 1, 'two of them as earlier jobs left them')
  const inspect = await cli.run(['inspect', 'upper@master'])
  t.match(inspect.stdout, /origin:\s+pipeline/)
  t.match(inspect.stdout, /provenance: words@[0-9a-f]{32} \(master\), pipeline upper v1, job [0-9a-f]{32}/)
  const job = await cli.run(['job', 'inspect', (jobs[0] as unknown as { id: string }).id.slice(0, 8)])
  t.equal(job.code, 0, job.stderr)
  t.match(job.stdout, /state:\s+success/)

  oneLineMistake(t, await cli.run(['put', 'upper@master:x', 'a.txt']), /repo 'upper' is the output of pipeline upper/)
  oneLineMistake(t, await cli.run(['repo', 'delete', 'upper', '--force']), /pfs pipeline delete upper/)
  const list = JSON.parse((await cli.run(['pipeline', 'list', '--json'])).stdout) as Array<{ name: string }>
  t.same(list.map(p => p.name), ['upper'])
  t.equal((await cli.run(['pipeline', 'stop', 'upper'])).code, 0)
  t.equal((await cli.run(['put', 'words@master:d.txt', 'a.txt'])).code, 0)
  t.equal(JSON.parse((await cli.run(['job', 'list', '--json'])).stdout).length, 3, 'a stopped pipeline queues nothing')
  t.equal((await cli.run(['pipeline', 'delete', 'upper'])).code, 0)
  t.equal((await cli.run(['repo', 'inspect', 'upper'])).code, 1, 'its output repo went with it')
})

t.test('a failed job: the command says so, pfs wait exits 1 naming the job and the datum', async t => {
  const cli = pfsCli(t)
  cli.files({ 'a.txt': 'a', 'bad.yaml': UPPER.replace("'tr a-z A-Z", "'exit 4; tr").replace('upper', 'bad') })
  t.equal((await cli.run(['repo', 'create', 'words'])).code, 0)
  t.equal((await cli.run(['put', 'words@master:a.txt', 'a.txt', '--no-run'])).code, 0)
  t.equal((await cli.run(['pipeline', 'create', '-f', 'bad.yaml', '--no-run'])).code, 0)
  const r = await cli.run(['wait', 'words@master'])
  oneLineMistake(t, { ...r, stderr: r.stderr }, /job [0-9a-f]{12} of pipeline bad failure: datum [0-9a-f]{12} \(words:\/a\.txt\) failed: exit code 4/)
  t.match(r.stdout, /bad: job [0-9a-f]{12} failure/)
})

t.test('pfs provenance and subvenance walk the whole graph', async t => {
  const cli = pfsCli(t)
  cli.files({
    'a.txt': 'hello\n',
    'upper.yaml': UPPER,
    'count.yaml': 'pipeline: {name: count}\ninput: {pfs: {repo: upper, glob: "/"}}\n' +
      "transform: {cmd: [sh, -c, 'cat /pfs/upper/* | wc -c > /pfs/out/n']}\n"
  })
  t.equal((await cli.run(['repo', 'create', 'words'])).code, 0)
  t.equal((await cli.run(['pipeline', 'create', '-f', 'upper.yaml'])).code, 0)
  t.equal((await cli.run(['pipeline', 'create', '-f', 'count.yaml'])).code, 0)
  const put = await cli.run(['put', 'words@master:a.txt', 'a.txt'])
  t.equal(put.code, 0, put.stderr)
  t.equal((await cli.run(['cat', 'count@master:n'])).stdout.trim(), '6')
  const words = (await cli.run(['inspect', 'words@master', '--json'])).stdout
  const wordsId = (JSON.parse(words) as { id: string }).id
  const up = JSON.parse((await cli.run(['provenance', 'count@master', '--json'])).stdout) as
    { repo: string, of: Array<{ repo: string, of: Array<{ repo: string, commit: string }> }> }
  t.equal(up.repo, 'count')
  t.equal(up.of[0]!.repo, 'upper')
  t.same(up.of[0]!.of.map(n => [n.repo, n.commit]), [['words', wordsId]], 'back to the user commit')
  const tree = await cli.run(['provenance', 'count@master'])
  t.match(tree.stdout, /^count@[0-9a-f]{32} \(pipeline count, job [0-9a-f]{12}\)\n {2}upper@.*\n {4}words@[0-9a-f]{32} \(user\)\n$/)
  const down = await cli.run(['subvenance', 'words@master'])
  t.match(down.stdout, /^words@[0-9a-f]{32} \(user\)\n {2}upper@[0-9a-f]{32} .*\n {4}count@[0-9a-f]{32} /)
})

t.test('no daemon: while a put runs its jobs, other commands get in and can follow the logs', async t => {
  const cli = pfsCli(t)
  cli.files({
    'a.txt': 'a',
    'slow.yaml': 'pipeline: {name: slow}\ninput: {pfs: {repo: words, glob: "/*"}}\n' +
      "transform: {cmd: [sh, -c, 'echo started $(basename $words); sleep 6; echo finished; cp $words /pfs/out/']}\n"
  })
  t.equal((await cli.run(['repo', 'create', 'words'])).code, 0)
  t.equal((await cli.run(['pipeline', 'create', '-f', 'slow.yaml'])).code, 0)
  const put = spawnPfs(['--store', cli.store, 'put', 'words@master:a.txt', 'a.txt'], { cwd: cli.local })
  const putDone = new Promise<number | null>(resolve => put.on('close', resolve))
  let job: { id: string, state: string } | undefined
  const end = Date.now() + 60_000
  while (Date.now() < end && (job === undefined || job.state === 'queued')) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const r = await cli.run(['job', 'list', '-p', 'slow', '--json'])
    if (r.code === 0) job = (JSON.parse(r.stdout) as Array<{ id: string, state: string }>)[0]
  }
  t.equal(job?.state, 'running', 'pfs job list works while the put runs the job')
  const logs = await cli.run(['logs', '--job', job!.id, '-f'])
  t.equal(logs.code, 0, logs.stderr)
  t.match(logs.stdout, /\] started a\.txt\n.*\] finished\n$/s, 'logs -f followed the job to its end')
  t.equal(await putDone, 0, 'the put ran the job and exited')
  t.equal((await cli.run(['cat', 'slow@master:a.txt'])).stdout, 'a')
})

t.test('no daemon: Ctrl-C stops the jobs a put runs and leaves them queued, their sandboxes gone', async t => {
  const cli = pfsCli(t)
  const marker = `sleep ${80_000 + (process.pid % 10_000)}`
  cli.files({
    'a.txt': 'a',
    'slow.yaml': `pipeline: {name: slow}\ninput: {pfs: {repo: words, glob: "/*"}}\ntransform: {cmd: [sh, -c, '${marker}']}\n`
  })
  t.equal((await cli.run(['repo', 'create', 'words'])).code, 0)
  t.equal((await cli.run(['pipeline', 'create', '-f', 'slow.yaml'])).code, 0)
  const put = spawnPfs(['--store', cli.store, 'put', 'words@master:a.txt', 'a.txt'], { cwd: cli.local })
  let out = ''
  put.stderr.on('data', (b: Buffer) => { out += b.toString() })
  const putDone = new Promise<number | null>(resolve => put.on('close', resolve))
  const pgrep = async (): Promise<boolean> => await new Promise(resolve =>
    execFile('pgrep', ['-f', marker], err => resolve(err === null)))
  for (let i = 0; i < 300 && !await pgrep(); i++) await new Promise(resolve => setTimeout(resolve, 100))
  t.ok(await pgrep(), 'the datum is running')
  put.kill('SIGINT')
  t.equal(await putDone, 0, 'the put itself had succeeded')
  t.match(out, /stopped; the jobs stay queued/)
  t.notOk(await pgrep(), 'the sandbox is gone')
  const [job] = JSON.parse((await cli.run(['job', 'list', '-p', 'slow', '--json'])).stdout) as
    Array<{ id: string, state: string, reason: string }>
  t.equal(job!.state, 'queued')
  t.match(job!.reason, /stopped; it resumes with the datums it finished/)
  t.equal((await cli.run(['job', 'stop', job!.id])).code, 0)
})
