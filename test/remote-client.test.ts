/**
 * A client of a server (a mount on another node, a pod, any command with PFS_SERVER set)
 * never loads LevelDB: only the process that owns the store opens the index.
 */
import t from 'tap'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openEngine } from '../store/engine/engine.js'
import { serve } from '../store/rpc/server.js'
import { runPfs } from './helpers/cli.js'
import { tmpDir } from './helpers/servers.js'

const HOOK = fileURLToPath(new URL('./helpers/loaded-modules.mjs', import.meta.url))

interface Loaded { cjs: string[], shared: string[] }
const loadsLevel = (l: Loaded): boolean =>
  l.cjs.some(m => /[/\\](classic-)?level[/\\]/.test(m)) || l.shared.some(s => /classic-level/.test(s))

/** Runs `pfs <args>` with the hook preloaded; what it loaded. */
type Env = Record<string, string>

async function loaded (dir: string, name: string, args: string[], env: Env, input?: string): Promise<Loaded> {
  const report = path.join(dir, `${name}.json`)
  const r = await runPfs(args, { env: { ...env, NODE_OPTIONS: `--import=${HOOK}`, PFS_LOADED_REPORT: report }, input, cwd: dir })
  if (r.code !== 0) throw new Error(`pfs ${args.join(' ')}: exit ${String(r.code)}: ${r.stderr}`)
  return JSON.parse(readFileSync(report, 'utf8')) as Loaded
}

t.test('commands against a server never load LevelDB; the same commands on the store itself do', async t => {
  const dir = await tmpDir(t)
  const store = path.join(dir, 'store')
  const engine = await openEngine(store)
  const token = 'secret-token'
  const server = await serve(engine, { listen: { host: '127.0.0.1', port: 0 }, token })
  t.teardown(async () => { await server.close(); await engine.close() })
  await engine.createRepo('r')
  const remote = { PFS_SERVER: `http://127.0.0.1:${server.address!.port}`, PFS_TOKEN: token, PFS_STORE: path.join(dir, 'elsewhere') }
  const commands: Array<[string, string[], string?]> = [
    ['repo-list', ['repo', 'list']],
    ['put', ['put', 'r@master:a.txt', '-'], 'hello\n'],
    ['cat', ['cat', 'r@master:a.txt']],
    ['ls', ['ls', 'r@master', '-l']],
    ['log', ['log', 'r']],
    ['gc', ['gc']]
  ]
  for (const [name, args, input] of commands) {
    const l = await loaded(dir, name, args, remote, input)
    t.ok(l.cjs.length > 0 && l.shared.length > 0, `${name}: the report lists what was loaded`)
    t.notOk(loadsLevel(l), `pfs ${args.join(' ')} through the server does not load LevelDB`)
  }
  await server.close()
  await engine.close()
  const own = await loaded(dir, 'embedded', ['--store', store, 'repo', 'list'], {})
  t.ok(loadsLevel(own), 'the detector works: a command that opens the store itself loads it')
})
