/**
 * Pipeline specs: Pachyderm's specs parse unchanged (YAML or JSON, snake_case or
 * camelCase), defaults are filled in, and a bad spec gets one line per problem naming the
 * field as written, what is wrong and what is allowed.
 */
import t from 'tap'
import { PfsError } from '../store/api/errors.js'
import { parseSpec, specJsonSchema } from '../runner/spec.js'

const problemsOf = (text: string): string[] => {
  try {
    parseSpec(text, 'spec.yaml')
  } catch (e) {
    if (!(e instanceof PfsError)) throw e
    t.equal(e.code, 'INVALID_ARGUMENT')
    return (e.data.problems as string[] | undefined) ?? [e.message]
  }
  return []
}

t.test("Pachyderm's edges example parses unchanged, in JSON and camelCase", async t => {
  const json = JSON.stringify({
    pipeline: { name: 'edges' },
    description: 'A pipeline that performs image edge detection by using the OpenCV library.',
    transform: { cmd: ['python3', '/edges.py'], image: 'pachyderm/opencv:1.0' },
    input: { pfs: { repo: 'images', glob: '/*' } },
    parallelismSpec: { constant: 2 },
    resourceLimits: { memory: '1.5G', cpu: 1, gpu: { type: 'nvidia.com/gpu', number: 1 } },
    datumTimeout: '1m30s',
    reprocessSpec: 'every_job'
  })
  const spec = parseSpec(json, 'edges.json')
  t.equal(spec.pipeline.name, 'edges')
  t.same(spec.input, { pfs: { repo: 'images', branch: 'master', glob: '/*', name: 'images', outer_join: false } })
  t.same(spec.transform.cmd, ['python3', '/edges.py'])
  t.equal(spec.parallelism_spec?.constant, 2, 'camelCase becomes snake_case')
  t.same(spec.resource_limits?.gpu, { type: 'nvidia.com/gpu', number: 1 })
  t.equal(spec.datum_tries, 3, 'datum_tries defaults to 3 attempts')
  t.equal(spec.output_branch, 'master')
  t.equal(spec.reprocess_spec, 'every_job')
  t.equal(spec.network, false, 'no network unless asked')
})

t.test('YAML with nested cross, join and group; env keys are kept as written', async t => {
  const spec = parseSpec(`
pipeline: {name: montage}
input:
  cross:
    - pfs: {repo: images, glob: "/"}
    - join:
        - pfs: {repo: a, glob: "/(*).txt", join_on: "$1", outer_join: true}
        - pfs: {repo: b, glob: "/(*).csv", joinOn: "$1"}
    - group:
        - pfs: {repo: logs, glob: "/*-(*)", group_by: "$1"}
transform:
  cmd: [sh]
  stdin: ["echo hi > /pfs/out/x"]
  env: {myVar: "1", PATH_EXTRA: /opt}
  acceptReturnCode: [3]
`, 'montage.yaml')
  const cross = (spec.input as { cross: unknown[] }).cross
  t.equal(cross.length, 3)
  t.same(spec.transform.env, { myVar: '1', PATH_EXTRA: '/opt' }, 'env names are not renamed')
  t.same(spec.transform.accept_return_code, [3])
  t.match(cross[1], { join: [{ pfs: { join_on: '$1', outer_join: true } }, { pfs: { join_on: '$1' } }] })
})

t.test('every problem is one line: the field as written, what is wrong, what is allowed', async t => {
  const problems = problemsOf(`
pipeline: {name: "bad name"}
input: {pfs: {repo: images}}
transform: {cmd: python3, imag: x}
datumTries: 0
reprocessSpec: sometimes
parallelism_spec: {constant: -1}
spout: {}
`)
  const text = problems.join('\n')
  t.match(text, /pipeline\.name: got "bad name"; not a valid pipeline name: ' ' is not allowed/)
  t.match(text, /input\.pfs\.glob: required/)
  t.match(text, /transform\.cmd: got "python3"; expected array/)
  t.match(text, /transform\.imag: unknown field; did you mean 'image'\?/)
  t.match(text, /datumTries: got 0; at least 1/, 'named as the user spelled it')
  t.match(text, /reprocessSpec: got "sometimes"; allowed: "until_success", "every_job"/)
  t.match(text, /parallelism_spec\.constant: got -1/)
  t.match(text, /spout: Pachyderm's spout pipelines are not supported by pfs/)
  for (const p of problems) t.notMatch(p, /\n/, `one line: ${p}`)
})

t.test('cross-field checks: input names, globs, join keys', async t => {
  const base = (input: string): string => `pipeline: {name: p}\ntransform: {cmd: [sh]}\ninput: ${input}\n`
  t.match(problemsOf(base('{cross: [{pfs: {repo: a, glob: "/*"}}, {pfs: {repo: a, glob: "/"}}]}')).join('\n'),
    /input\.cross\[1\]\.pfs: the input name 'a' is also used/)
  t.same(problemsOf(base('{union: [{pfs: {repo: a, glob: "/*"}}, {pfs: {repo: a, glob: "/"}}]}')), [],
    'union branches may share a name')
  t.match(problemsOf(base('{pfs: {repo: a, glob: "/[ab"}}')).join('\n'), /input\.pfs\.glob: .*never closed/)
  t.match(problemsOf(base('{join: [{pfs: {repo: a, glob: "/(*)"}}, {pfs: {repo: b, glob: "/(*)", join_on: "$1"}}]}'))
    .join('\n'), /input\.join\[0\]\.pfs\.join_on: required in a join/)
  t.match(problemsOf(base('{pfs: {repo: a, glob: "/*", join_on: "$2"}}')).join('\n'),
    /input\.pfs\.join_on: .*\$2.*capture group/)
  t.match(problemsOf(base('{}')).join('\n'), /input: an input has exactly one of pfs, cron/)
  t.match(problemsOf(base('{pfs: {repo: a, glob: "/"}, cross: []}')).join('\n'), /exactly one of/)
})

t.test('text that is not a spec', async t => {
  t.match(problemsOf('{"pipeline": '), [/neither JSON nor YAML/])
  t.match(problemsOf('- a\n- b\n'), [/must be an object/])
  t.match(problemsOf(''), [/must be an object/])
})

t.test('the JSON Schema names the fields and their defaults', async t => {
  const s = specJsonSchema() as { properties: Record<string, { default?: unknown }>, required: string[] }
  t.ok(s.properties.pipeline && s.properties.input && s.properties.transform)
  t.equal(s.properties.datum_tries?.default, 3)
  t.same([...s.required].sort(), ['input', 'pipeline', 'transform'])
  t.doesNotThrow(() => JSON.stringify(s))
})
