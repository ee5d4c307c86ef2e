/**
 * The bearer token of a TCP `pfs serve --listen` never leaks. It comes from PFS_TOKEN or
 * a file only its owner can read (--token-file, PFS_TOKEN_FILE), never from a command
 * line (every user sees those in `ps`); a server URL with credentials is refused; and the
 * token shows in no output, no recorded file, no error and no /proc/<pid>/cmdline.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { chmodSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pfsCli, spawnPfs, oneLineMistake, type PfsCli } from './helpers/cli.js'
import { redact } from '../store/api/redact.js'

interface Served { pid: number, url: string, out: () => string, stop: () => Promise<number | null> }

/** `pfs serve --listen 127.0.0.1:0 ...` until its output matches `until`; stopped with the test. */
async function serveTcp (t: Test, store: string, args: string[] = [],
  opts: { env?: Record<string, string>, until?: RegExp } = {}): Promise<Served> {
  const child = spawnPfs(['--store', store, 'serve', '--listen', '127.0.0.1:0', ...args], { env: opts.env })
  let out = ''
  child.stdout.on('data', (b: Buffer) => { out += String(b) })
  child.stderr.on('data', (b: Buffer) => { out += String(b) })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const until = opts.until ?? /^serving .*\n/m
  const deadline = Date.now() + 30_000
  while (!until.test(out) && child.exitCode === null && Date.now() < deadline) await sleep(50)
  if (!until.test(out)) throw new Error(`pfs serve did not start: ${out}`)
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] as string
  return { pid: child.pid as number, url, out: () => out, stop: async () => { child.kill('SIGTERM'); return await exited } }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** What `ps` shows any user: the arguments of a running process. */
const cmdline = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')

/** A server with a generated token; the token is read back from where it was saved. */
async function generated (t: Test): Promise<{ cli: PfsCli, server: Served, token: string, file: string }> {
  const cli = pfsCli(t)
  const server = await serveTcp(t, cli.store, [], { until: /^token saved .*\n/m })
  const file = path.join(cli.store, 'token')
  return { cli, server, token: readFileSync(file, 'utf8').trim(), file }
}

t.test('a generated token is saved to <store>/token (0600) and never printed: clients are told the file', async t => {
  const { cli, server, token, file } = await generated(t)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.ok(token.length >= 32, 'a long random token')
  t.notOk(server.out().includes(token), 'the token is not in the output')
  t.match(server.out(), `token saved to ${file}`)
  t.match(server.out(), `PFS_SERVER=${server.url} PFS_TOKEN_FILE=${file}`, 'says how a client uses it')
  t.notOk(cmdline(server.pid).includes(token), 'nor in the server\'s command line')
  const owner = readFileSync(path.join(cli.store, 'owner.json'), 'utf8')
  t.notOk(owner.includes(token), 'nor in owner.json')
  t.equal(statSync(path.join(cli.store, 'owner.json')).mode & 0o777, 0o600)
  t.equal(await server.stop(), 0)
})

t.test('with --json the output names the token file, and holds no token', async t => {
  const { store } = pfsCli(t)
  const server = await serveTcp(t, store, ['--json'], { until: /^\}\n/m })
  const doc = JSON.parse(server.out()) as Record<string, unknown>
  const file = path.join(store, 'token')
  t.equal(doc.tokenFile, file)
  t.equal(doc.url, server.url)
  t.notOk('token' in doc)
  t.notOk(server.out().includes(readFileSync(file, 'utf8').trim()))
})

t.test('a client takes the token from PFS_TOKEN, --token-file or PFS_TOKEN_FILE', async t => {
  const { cli, server, token, file } = await generated(t)
  const { run } = cli
  const viaEnv = await run(['--server', server.url, 'repo', 'create', 'a'], { env: { PFS_TOKEN: token } })
  t.equal(viaEnv.code, 0, viaEnv.stderr)
  const viaFlag = await run(['--server', server.url, '--token-file', file, 'repo', 'create', 'b'])
  t.equal(viaFlag.code, 0, viaFlag.stderr)
  const viaFileEnv = await run(['repo', 'list'], { env: { PFS_SERVER: server.url, PFS_TOKEN_FILE: file } })
  t.equal(viaFileEnv.code, 0, viaFileEnv.stderr)
  t.match(viaFileEnv.stdout, /^a\s.*\n^b\s/ms, 'all three reached the server')
  const wrong = await run(['--server', server.url, 'repo', 'list'], { env: { PFS_TOKEN: 'wrong' } })
  oneLineMistake(t, wrong, /missing or wrong token; .*PFS_TOKEN/)
  const none = await run(['--server', server.url, 'repo', 'list'])
  oneLineMistake(t, none, /missing or wrong token/)
})

t.test('--token on the command line is refused in one line, even with the right token', async t => {
  const { cli, server, token } = await generated(t)
  for (const args of [['--token', token], [`--token=${token}`]]) {
    const r = await cli.run(['--server', server.url, ...args, 'repo', 'create', 'x'])
    oneLineMistake(t, r, /--token is refused: .*`ps`.*PFS_TOKEN.*--token-file/)
    t.notOk(r.stderr.includes(token), 'the message does not repeat it')
  }
  const serve = await cli.run(['serve', '--listen', '127.0.0.1:0', '--token', 'mine'])
  oneLineMistake(t, serve, /--token is refused/)
  t.notMatch((await cli.run(['--server', server.url, 'repo', 'list'], { env: { PFS_TOKEN: token } })).stdout, /^x\s/m,
    'nothing was created')
})

t.test('a token file other users can read is refused, as ssh refuses such a key', async t => {
  const { cli, server, token, file } = await generated(t)
  const open = path.join(cli.local, 'token')
  copyFileSync(file, open)
  chmodSync(open, 0o644)
  const byFlag = await cli.run(['--server', server.url, '--token-file', open, 'repo', 'list'])
  oneLineMistake(t, byFlag, /token file '.*' can be read or changed by other users \(mode 0644\); run `chmod 600 /)
  const byEnv = await cli.run(['--server', server.url, 'repo', 'list'], { env: { PFS_TOKEN_FILE: open } })
  oneLineMistake(t, byEnv, /mode 0644/)
  chmodSync(open, 0o640)
  oneLineMistake(t, await cli.run(['--server', server.url, '--token-file', open, 'repo', 'list']), /mode 0640/)
  t.notOk(byFlag.stderr.includes(token) || byEnv.stderr.includes(token))
  chmodSync(open, 0o600)
  t.equal((await cli.run(['--server', server.url, '--token-file', open, 'repo', 'list'])).code, 0, 'fine once 0600')
  const missing = await cli.run(['--server', server.url, '--token-file', path.join(cli.local, 'nope'), 'repo', 'list'])
  oneLineMistake(t, missing, /token file '.*nope' does not exist/)
  writeFileSync(open, 'two words\n', { mode: 0o600 })
  oneLineMistake(t, await cli.run(['--server', server.url, '--token-file', open, 'repo', 'list']),
    /is not one word of visible ASCII/)
})

t.test('a server takes its token from PFS_TOKEN or a token file, and then prints nothing of it', async t => {
  const { run, store, local } = pfsCli(t)
  const mine = 'a-token-of-my-own-0123456789'
  const server = await serveTcp(t, store, [], { env: { PFS_TOKEN: mine } })
  await sleep(200)
  t.notOk(server.out().includes(mine))
  t.notMatch(server.out(), /token saved/, 'no file is made for a given token')
  t.equal((await run(['--server', server.url, 'repo', 'create', 'x'], { env: { PFS_TOKEN: mine } })).code, 0)
  t.equal(await server.stop(), 0)
  const file = path.join(local, 'server-token')
  writeFileSync(file, mine + '\n', { mode: 0o600 })
  const again = await serveTcp(t, store, ['--token-file', file, '--json'], { until: /^\}\n/m })
  t.equal((JSON.parse(again.out()) as { tokenFile?: string }).tokenFile, file)
  t.notOk(again.out().includes(mine))
  t.match((await run(['--server', again.url, 'repo', 'list'], { env: { PFS_TOKEN: mine } })).stdout, /^x\s/m)
  chmodSync(file, 0o604)
  oneLineMistake(t, await run(['serve', '--listen', '127.0.0.1:0', '--token-file', file]), /mode 0604/)
})

t.test('the token is in no command line of a running server or client', async t => {
  const { cli, server, token, file } = await generated(t)
  t.equal((await cli.run(['--server', server.url, '--token-file', file, 'repo', 'create', 'r'])).code, 0)
  for (const env of [{ PFS_TOKEN: token }, {}]) {
    const args = ['--store', cli.store, '--server', server.url, ...('PFS_TOKEN' in env ? [] : ['--token-file', file]),
      'put', 'r@master:f.txt', '-']
    // The put waits for its stdin: it runs while we look at it.
    const client = spawnPfs(args, { env })
    t.teardown(() => { if (client.exitCode === null) client.kill('SIGKILL') })
    const exited = once(client, 'exit')
    await sleep(300)
    t.equal(client.exitCode, null, 'the client is running')
    const seen = cmdline(client.pid as number)
    t.match(seen, 'put r@master:f.txt')
    t.notOk(seen.includes(token), `not in the client's command line: ${seen}`)
    client.stdin.end('hello')
    t.equal((await exited)[0], 0)
  }
  t.notOk(cmdline(server.pid).includes(token), 'nor in the server\'s')
  t.equal((await cli.run(['--server', server.url, '--token-file', file, 'cat', 'r@master:f.txt'])).stdout, 'hello')
})

t.test('the "store in use" error of a second server shows no token, even from an old owner.json', async t => {
  const { cli, token } = await generated(t)
  const second = await cli.run(['serve', '--listen', '127.0.0.1:0'], { env: { PFS_TOKEN: token } })
  t.equal(second.code, 3)
  t.match(second.stderr, /^pfs: store .* is in use by pfs process \d+ \(serve\); /)
  t.notOk(second.stderr.includes(token))
  // An older pfs recorded its whole command line, token and all.
  const owner = path.join(cli.store, 'owner.json')
  const { pid } = JSON.parse(readFileSync(owner, 'utf8')) as { pid: number }
  const old = `serve --listen 7070 --token ${token} --server http://pfs:${token}@10.0.0.5:7070`
  writeFileSync(owner, JSON.stringify({ pid, command: old }))
  const third = await cli.run(['serve'])
  t.equal(third.code, 3)
  t.match(third.stderr, `in use by pfs process ${pid} (serve --listen 7070 --token *** --server http://***@`)
  t.notOk(third.stderr.includes(token), third.stderr)
})

t.test('a --server URL with credentials is refused, and the error shows them masked', async t => {
  const { cli, server, token } = await generated(t)
  const withUser = server.url.replace('http://', `http://pfs:${token}@`)
  const flag = await cli.run(['--server', withUser, 'repo', 'list'])
  oneLineMistake(t, flag, /--server 'http:\/\/\*\*\*@127\.0\.0\.1:\d+' carries credentials .*PFS_TOKEN.*--token-file/)
  const env = await cli.run(['repo', 'list'], { env: { PFS_SERVER: withUser } })
  oneLineMistake(t, env, /'http:\/\/\*\*\*@127\.0\.0\.1:\d+' carries credentials/)
  const query = await cli.run(['repo', 'list', '--server', `${server.url}/?token=${token}`])
  oneLineMistake(t, query, /'http:\/\/127\.0\.0\.1:\d+\/\?token=\*\*\*' carries credentials or a query/)
  const https = await cli.run(['repo', 'list', '--server', `https://pfs:${token}@127.0.0.1:1`])
  oneLineMistake(t, https, /'https:\/\/\*\*\*@127\.0\.0\.1:1': https is not supported/)
  const bad = await cli.run(['repo', 'list', '--server', `pfs:${token}@127.0.0.1`])
  oneLineMistake(t, bad, /--server '\*\*\*@127\.0\.0\.1' is not a server URL/)
  for (const r of [flag, env, query, https, bad]) t.notOk(r.stderr.includes(token), r.stderr)
})

t.test('redact masks credentials in URLs, secret parameters, --token values and bearer tokens', async t => {
  t.equal(redact('cannot reach http://ann:s3cret@10.0.0.5:7070/x'), 'cannot reach http://***@10.0.0.5:7070/x')
  t.equal(redact('http://a@b@host:1'), 'http://***@host:1', 'up to the last @')
  t.equal(redact('POST /v1/listRepos?token=abc&x=1'), 'POST /v1/listRepos?token=***&x=1')
  t.equal(redact('GET /v1/health?access_token=abc#api_key=def'), 'GET /v1/health?access_token=***#api_key=***')
  t.equal(redact('put --token abc x --token=def'), 'put --token *** x --token=***')
  t.equal(redact('serve --token -83vf_x --json'), 'serve --token *** --json', 'a token may start with a dash')
  t.equal(redact('pfs --token-file /run/token ls'), 'pfs --token-file /run/token ls', 'a file name is no secret')
  t.equal(redact('Authorization: Bearer abc.def'), 'Authorization: Bearer ***')
  t.equal(redact('serving /s on http://127.0.0.1:7070'), 'serving /s on http://127.0.0.1:7070', 'the rest is kept')
})
