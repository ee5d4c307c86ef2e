// A command that runs jobs itself (no daemon) mounts the store privately in the runtime
// folder. Killed with -9, it leaves that mount dead; the next command that runs jobs
// detaches and removes it, so dead mounts never pile up.
import t from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { pfsCli, spawnPfs } from './helpers/cli.js'

const run$ = promisify(execFile)

async function jobMounts (runtime: string): Promise<string[]> {
  const mounts = await fsp.readFile('/proc/mounts', 'utf8')
  return mounts.split('\n').map(l => l.split(' ')[1]).filter(m => m?.startsWith(`${runtime}/pfs/jobs-`))
}

t.test('a job mount left by a killed command is cleared by the next one', async t => {
  const cli = pfsCli(t)
  const runtime = path.join(cli.local, 'run')
  await fsp.mkdir(runtime, { mode: 0o700 })
  t.teardown(async () => {
    for (const m of await jobMounts(runtime)) await run$('fusermount', ['-uz', m]).catch(() => {})
  })
  const env = { XDG_RUNTIME_DIR: runtime }
  t.equal((await cli.run(['repo', 'create', 'in'])).code, 0)
  const spec = "pipeline: {name: slow}\ninput: {pfs: {repo: in, glob: \"/*\"}}\n" +
    "transform: {cmd: [sh, -c, 'sleep 1; cp $in /pfs/out/']}\n"
  t.equal((await cli.run(['pipeline', 'create', '-f', '-'], { input: spec, env })).code, 0)
  const files = cli.files({ 'a.txt': 'a', 'b.txt': 'b' })

  const put = ['--store', cli.store, 'put', 'in@master:a.txt', path.join(files, 'a.txt')]
  const first = spawnPfs(put, { cwd: cli.local, env })
  first.stdin.end()
  const exited = new Promise(resolve => first.once('close', resolve))
  const until = Date.now() + 30_000
  while ((await jobMounts(runtime)).length === 0 && Date.now() < until) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.equal((await jobMounts(runtime)).length, 1, 'the put mounted the store to run its job')
  first.kill('SIGKILL')
  await exited
  const [dead] = await jobMounts(runtime)
  t.rejects(fsp.stat(dead), { code: 'ENOTCONN' }, 'killed, it left the mount dead')

  const second = await cli.run(['put', 'in@master:b.txt', path.join(files, 'b.txt')], { env, timeoutMs: 60_000 })
  t.equal(second.code, 0, second.stderr)
  t.same(await jobMounts(runtime), [], 'the next command that ran jobs cleared it (and its own)')
  t.same((await fsp.readdir(path.join(runtime, 'pfs'))).filter(n => n.startsWith('jobs-')), [], 'folders and all')
  t.equal((await cli.run(['cat', 'slow@master:b.txt'])).stdout, 'b', 'and ran the jobs')
})
