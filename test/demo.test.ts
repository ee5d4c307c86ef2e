/**
 * `make demo` keeps working: the tour runs start to end on a temp store (the mount, then
 * the three-stage scorer), and says what the README promises it shows.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

t.test('docs/demo.sh runs the tour and the pipelines end to end', async t => {
  const env: NodeJS.ProcessEnv = { ...process.env, PFS_NO_PROGRESS_IN_TESTS: '1' }
  delete env.NODE_OPTIONS
  delete env.PFS_STORE
  delete env.PFS_SERVER
  const r = await new Promise<{ code: number | null, out: string }>(resolve => {
    execFile('bash', ['docs/demo.sh'], { cwd: ROOT, env, timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, out: stdout + stderr })
    })
  })
  t.equal(r.code, 0, r.out.slice(-3000))
  t.match(r.out, /preprocess v1 +success +2 run, 5 skipped, 0 failed of 7/, 'only the new scenes ran')
  t.match(r.out, /score@[0-9a-f]{32} \(pipeline score.*\n {2}train@.*\n {4}preprocess@.*\n {6}scenes@[0-9a-f]{32} \(user\)/,
    'the provenance of the final score leads back to the raw commit')
  t.match(r.out, /done: every commit above is still readable/)
})
