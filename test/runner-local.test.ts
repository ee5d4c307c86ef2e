/**
 * The local backend runs real bubblewrap sandboxes: the datum sees its inputs read-only at
 * /pfs/<input>, writes only /pfs/out and /tmp, has no network, and is killed whole on a
 * timeout, a stop, or going over its memory. The "mount" here is a plain folder laid out
 * as a pfs mount is (`<repo>/.commits/<commit>/...`); the runner tests use a real mount.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { LocalBackend } from '../runner/local.js'
import type { DatumRun } from '../runner/backend.js'

const run = promisify(execFile)
const COMMIT = 'c'.repeat(32)

interface Setup { backend: LocalBackend, out: string, base: (over: Partial<DatumRun>) => DatumRun, logs: string[] }

async function setup (t: Test): Promise<Setup> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-local-'))
  t.teardown(() => fsp.rm(dir, { recursive: true, force: true }))
  const commit = path.join(dir, 'mount', 'images', '.commits', COMMIT)
  await fsp.mkdir(path.join(commit, 'cats'), { recursive: true })
  await fsp.writeFile(path.join(commit, 'cats', '1.png'), 'one')
  await fsp.writeFile(path.join(commit, 'dog.png'), 'dog')
  const out = path.join(dir, 'out')
  await fsp.mkdir(out)
  const logs: string[] = []
  const base = (over: Partial<DatumRun>): DatumRun => ({
    job: 'j'.repeat(32), datum: 'd'.repeat(64), cmd: ['sh'], stdin: '', env: {},
    inputs: [{ name: 'images', repo: 'images', commit: COMMIT, path: 'cats' }],
    outDir: out, network: false, resources: {},
    onLog: (s, l) => { logs.push(`${s}: ${l}`) },
    ...over
  })
  return { backend: new LocalBackend({ mount: path.join(dir, 'mount') }), out, base, logs }
}

t.test('a datum sees exactly its inputs, read-only, and writes /pfs/out', async t => {
  const { backend, out, base, logs } = await setup(t)
  const script = [
    'ls -R /pfs/images',
    'cat /pfs/images/cats/1.png > /pfs/out/copy.txt',
    'echo "env $PFS_JOB_ID $images"',
    'pwd',
    'touch /pfs/images/cats/new 2>/dev/null && echo WROTE-INPUT',
    'touch /pfs/images/new 2>/dev/null && echo WROTE-INPUT-ROOT',
    'touch /etc/pfs-x /usr/pfs-x /pfs-x 2>/dev/null && echo WROTE-OUTSIDE',
    'echo private > /tmp/x && cat /tmp/x',
    'echo to-stderr >&2',
    'exit 3'
  ].join('\n')
  const r = await backend.run(base({ stdin: script, env: { PFS_JOB_ID: 'job1', images: '/pfs/images/cats' } }))
  t.equal(r.exitCode, 3, 'the exit code comes back')
  t.equal(r.timedOut, false)
  t.equal(await fsp.readFile(path.join(out, 'copy.txt'), 'utf8'), 'one', 'read an input, wrote the output')
  t.ok(logs.includes('stdout: env job1 /pfs/images/cats'), 'env reaches the command')
  t.ok(logs.includes('stdout: /pfs'), 'cwd is /pfs')
  t.ok(logs.includes('stdout: private'), 'a private /tmp')
  t.ok(logs.includes('stderr: to-stderr'), 'stderr lines are kept apart')
  t.notOk(logs.some(l => /dog\.png/.test(l)), 'entries of other datums are not there')
  t.notOk(logs.some(l => /WROTE/.test(l)), `no write outside /pfs/out and /tmp: ${logs.join(' | ')}`)
  await t.rejects(fsp.access(path.join(os.tmpdir(), 'x-never')), 'nothing leaked to the host')
})

t.test('no network unless asked', async t => {
  const { backend, base, logs } = await setup(t)
  // The network devices the datum sees, one per line.
  const probe = 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
  await backend.run(base({ stdin: probe }))
  t.same(logs, ['stdout: lo'], 'only a loopback device of its own')
  logs.length = 0
  await backend.run(base({ stdin: probe, network: true }))
  t.ok(logs.some(l => l !== 'stdout: lo'), `the host's devices when asked: ${logs.join(' | ')}`)
})

t.test('a timeout kills the whole process tree', async t => {
  const { backend, base } = await setup(t)
  // A duration no other process uses marks the datum's processes.
  const marker = `sleep ${60_000 + (process.pid % 10_000)}`
  const r = await backend.run(base({ cmd: ['sh', '-c', `${marker} & ${marker} & wait`], timeoutMs: 500 }))
  t.equal(r.timedOut, true)
  t.ok(r.ms < 10_000, `stopped after ${r.ms} ms`)
  await new Promise(resolve => setTimeout(resolve, 200))
  const left = await run('pgrep', ['-f', marker]).then(x => x.stdout.trim(), () => '')
  t.equal(left, '', 'no process of the datum is left')
})

t.test('a stop through the AbortSignal ends it', async t => {
  const { backend, base } = await setup(t)
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 300)
  const r = await backend.run(base({ cmd: ['sleep', '60'] }), ac.signal)
  t.equal(r.stopped, true)
  t.equal(r.timedOut, false)
})

t.test('a memory limit is enforced and its kill is reported as out of memory', async t => {
  if (process.getuid?.() !== 0) {
    t.comment('not root: limits are recorded with a warning, which this checks instead')
  }
  const { backend, base } = await setup(t)
  const hog = 'python3 -c "x = bytearray(400 * 1024 * 1024); print(len(x))"'
  const r = await backend.run(base({ cmd: ['sh', '-c', hog], resources: { memoryBytes: 64 * 1024 * 1024, cpu: 0.5 } }))
  if (r.warnings.length > 0) {
    t.match(r.warnings[0], /recorded but not enforced/)
    return
  }
  t.equal(r.outOfMemory, true, `killed for memory (exit ${String(r.exitCode)}, signal ${String(r.signal)})`)
  const ok = await backend.run(base({ cmd: ['sh', '-c', 'python3 -c "x = bytearray(8 * 1024 * 1024)"'],
    resources: { memoryBytes: 64 * 1024 * 1024 } }))
  t.equal(ok.exitCode, 0, 'within the limit it runs')
  t.equal(ok.outOfMemory, false)
})

t.test('gpu requests are recorded with a warning; bad input names are refused', async t => {
  const { backend, base } = await setup(t)
  const r = await backend.run(base({ cmd: ['true'], resources: { gpu: { type: 'nvidia.com/gpu', number: 1 } } }))
  t.equal(r.exitCode, 0)
  t.match(r.warnings.join(' '), /gpu nvidia\.com\/gpu × 1 recorded/)
  await t.rejects(backend.run(base({ inputs: [{ name: 'out', repo: 'images', commit: COMMIT, path: '' }] })),
    /cannot be named 'out'/)
})

t.test('no bubblewrap: the datum fails saying what to install, the runner goes on', async t => {
  const { base } = await setup(t)
  const missing = new LocalBackend({ mount: os.tmpdir(), bwrap: '/nonexistent/bwrap' })
  const r = await missing.run(base({ cmd: ['true'] }))
  t.equal(r.exitCode, null)
  t.match(r.error, /\/nonexistent\/bwrap is not installed; install bubblewrap/)
})
