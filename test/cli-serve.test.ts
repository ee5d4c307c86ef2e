/**
 * `pfs serve`: other commands go through it while it owns the store; TCP needs a token;
 * SIGTERM stops it cleanly.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { statSync, readFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { pfsCli, spawnPfs } from './helpers/cli.js'

/** Starts `pfs serve`, waits for its first line, stops it at the end of the test. */
async function serve (t: Test, store: string,
  args: string[] = []): Promise<{ out: () => string, stop: () => Promise<number | null> }> {
  const child = spawnPfs(['--store', store, 'serve', ...args])
  let out = ''
  let err = ''
  child.stdout.on('data', (b: Buffer) => { out += String(b) })
  child.stderr.on('data', (b: Buffer) => { err += String(b) })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const deadline = Date.now() + 30_000
  while (!out.includes('\n') && child.exitCode === null && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  if (!out.includes('serving')) throw new Error(`pfs serve did not start: ${out}${err}`)
  return {
    out: () => out,
    stop: async () => { child.kill('SIGTERM'); return await exited }
  }
}

t.test('commands go through a running server, which stops cleanly on SIGTERM', async t => {
  const { run, store } = pfsCli(t)
  const server = await serve(t, store)
  t.match(server.out(), `serving ${store} on ${path.join(store, 'pfs.sock')}`)
  // The server holds the index; these only work through its socket.
  t.equal((await run(['repo', 'create', 'images'])).code, 0)
  t.equal((await run(['put', 'images@master:a.txt', '-'], { input: 'hello' })).code, 0)
  t.equal((await run(['cat', 'images@master:a.txt'])).stdout, 'hello')
  t.equal(await server.stop(), 0)
  t.equal((await run(['cat', 'images@master:a.txt'])).stdout, 'hello', 'the store opens embedded afterwards')
})

t.test('--listen saves a generated token readable by the owner only; clients need it', async t => {
  const { run, store } = pfsCli(t)
  const server = await serve(t, store, ['--listen', '127.0.0.1:0'])
  const url = /and (http:\/\/127\.0\.0\.1:\d+)/.exec(server.out())?.[1] as string
  const file = path.join(store, 'token')
  t.ok(url, server.out())
  t.equal(statSync(file).mode & 0o777, 0o600)
  const token = readFileSync(file, 'utf8').trim()
  t.notOk(server.out().includes(token), 'the token itself is not printed (test/cli-token.test.ts has more)')
  const created = await run(['--server', url, '--token-file', file, 'repo', 'create', 'x'])
  t.equal(created.code, 0, created.stdout + created.stderr)
  t.match((await run(['repo', 'list', '--server', url], { env: { PFS_TOKEN: token } })).stdout, /^x\s/m)
  const denied = await run(['--server', url, 'repo', 'list'], { env: { PFS_TOKEN: 'wrong' } })
  t.equal(denied.code, 1)
  t.match(denied.stderr, /^pfs: [^\n]+\n$/)
  t.equal(await server.stop(), 0)
  t.notOk(existsSync(path.join(store, 'pfs.sock')), 'socket removed')
})

t.test('a bad --listen address is one line, exit 1', async t => {
  const { run } = pfsCli(t)
  const r = await run(['serve', '--listen', 'localhost:http'])
  t.equal(r.code, 1)
  t.match(r.stderr, /^pfs: --listen 'localhost:http' is not host:port/)
})
