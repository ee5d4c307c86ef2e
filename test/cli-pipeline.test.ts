/**
 * The pipeline commands as a user runs them: `pfs pipeline schema` and `pfs datum list -f`
 * (the datums a spec would make, without running it), and a bad spec's one line per problem.
 */
import t from 'tap'
import { oneLineMistake, pfsCli } from './helpers/cli.js'

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
