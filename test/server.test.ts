// The HTTP protocol between RemoteMeta and serve(), over a canned MetaApi stand-in.
// The real engine behind the server is covered by the shared Pfs suite.
import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { spawn } from 'node:child_process'
import type { MetaApi } from '../store/api/meta.js'
import type { Progress } from '../store/api/progress.js'
import { PfsError, notFound } from '../store/api/errors.js'
import { serve } from '../store/rpc/server.js'
import { RemoteMeta, probeServer } from '../store/rpc/remote-meta.js'
import { startServer, tmpDir } from './helpers/servers.js'

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** Records calls and answers a few methods with canned behaviour. */
function standIn () {
  const calls: Array<{ method: string, args: unknown[] }> = []
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const meta = {
    calls,
    async createRepo (...args: unknown[]) { calls.push({ method: 'createRepo', args }); return { echo: args } },
    async log (...args: unknown[]) { calls.push({ method: 'log', args }); return [] },
    async inspectRepo (name: string) { throw notFound('repo', name, 'create it with `pfs repo create`') },
    async listRepos () { throw new TypeError('cannot read properties of undefined') },
    async deleteRepo () {},
    async stat () { await gate; return { waited: true } },
    async list () { release(); return { entries: [] } },
    async gc (opts: { onProgress?: (p: Progress) => void, dryRun?: boolean }) {
      for (let i = 1; i <= 4; i++) {
        opts.onProgress?.({ phase: 'mark', done: i, total: 4 })
        await sleep(150)
      }
      return { deletedObjects: 0, freedBytes: 0, repackedPacks: 0, keptObjects: 4, dryRun: opts.dryRun === true }
    },
    async fsck (opts: { onProgress?: (p: Progress) => void }) {
      for (let i = 1; i <= 1000; i++) opts.onProgress?.({ phase: 'check', done: i, total: 1000 })
      await sleep(250)
      for (let i = 1; i <= 1000; i++) opts.onProgress?.({ phase: 'verify', done: i, total: 1000 })
      return { objectsChecked: 1000, bytesChecked: 0, commitsChecked: 0, problems: [] }
    },
    async close () {}
  }
  return meta as typeof meta & MetaApi
}

interface RawReply { status: number, headers: http.IncomingHttpHeaders, lines: any[] }

/** One raw request, for what the client hides: statuses, headers, bodies. */
function raw (target: { socketPath?: string, port?: number }, method: string, urlPath: string,
  body?: string, headers: Record<string, string> = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, host: '127.0.0.1', method, path: urlPath, headers, agent: false }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', c => { text += c })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, lines: text.trim().split('\n').map(l => JSON.parse(l)) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('arguments and results round-trip; void calls resolve to undefined', async t => {
  const meta = standIn()
  const client = await startServer(t, meta)
  t.same(await client.createRepo('images', { description: 'cats' }), { echo: ['images', { description: 'cats' }] })
  // an omitted trailing option must arrive as missing, not null, so `opts = {}` defaults work
  await client.log('images', 'master')
  t.same(meta.calls.at(-1), { method: 'log', args: ['images', 'master'] })
  t.equal(await client.deleteRepo('images'), undefined)
})

t.test('progress events arrive in order before the result', async t => {
  const client = await startServer(t, standIn())
  const seen: Progress[] = []
  const report = await client.gc({ dryRun: true, onProgress: p => seen.push(p) })
  t.same(seen.map(p => p.done), [1, 2, 3, 4])
  t.equal(report.dryRun, true, 'options other than onProgress still reach the server')
})

t.test('a flood of progress is throttled to about 10 lines a second, ending on the latest', async t => {
  const client = await startServer(t, standIn())
  const seen: Progress[] = []
  await client.fsck({ onProgress: p => seen.push(p) })
  t.ok(seen.length >= 2 && seen.length <= 5, `${seen.length} progress lines for 2000 events`)
  t.same(seen.at(-1), { phase: 'verify', done: 1000, total: 1000 })
  const order = seen.map(p => `${p.phase === 'check' ? 0 : 1}-${String(p.done).padStart(4, '0')}`)
  t.same(order, [...order].sort(), 'never goes backwards')
})

t.test('a PfsError keeps its code, message and data across the wire', async t => {
  const client = await startServer(t, standIn())
  const e = await client.inspectRepo('nope').catch(e => e)
  t.ok(e instanceof PfsError)
  t.equal(e.code, 'NOT_FOUND')
  t.match(e.message, /repo 'nope' not found; create it/)
  t.same(e.data, { what: 'repo', name: 'nope' })
})

t.test('a server bug becomes a plain error, is logged with its stack, and the server goes on', async t => {
  const logged: string[] = []
  const client = await startServer(t, standIn(), { log: m => logged.push(m) })
  const e = await client.listRepos().catch(e => e)
  t.notOk(e instanceof PfsError, 'not a PfsError: it is shown as a bug')
  t.equal(e.message, 'cannot read properties of undefined')
  t.match(logged.join('\n'), /listRepos failed: TypeError: cannot read properties of undefined\n\s+at /)
  t.same(await client.createRepo('a'), { echo: ['a'] })
})

t.test('calls are served concurrently', async t => {
  const client = await startServer(t, standIn())
  // stat waits until list has run: a server handling one call at a time would hang here
  const [st] = await Promise.all([client.stat('r', 'master', ''), sleep(50).then(() => client.list('r', 'master', ''))])
  t.same(st, { waited: true })
})

t.test('unknown calls, wrong verbs and bad bodies get clear errors', async t => {
  const client = await startServer(t, standIn())
  const target = { socketPath: client.server.socketPath }
  for (const name of ['nope', 'constructor', '__proto__', 'close']) {
    const r = await raw(target, 'POST', `/v1/${name}`, '{"args":[]}')
    t.equal(r.status, 404, name)
    t.equal(r.lines[0].error.code, 'INVALID_ARGUMENT')
    t.match(r.lines[0].error.message, /unknown pfs API call/)
  }
  t.equal((await raw(target, 'GET', '/v1/listRepos')).status, 405)
  const bad = await raw(target, 'POST', '/v1/createRepo', '{"args":')
  t.equal(bad.status, 400)
  t.match(bad.lines[0].error, { code: 'INVALID_ARGUMENT', message: /\{"args":\[\.\.\.\]\}/ })
})

t.test('a body over the limit is refused with a clear error', async t => {
  const dir = await tmpDir(t)
  const server = await serve(standIn(), { socketPath: path.join(dir, 's'), maxBodyBytes: 1024 })
  t.teardown(() => server.close())
  const target = { socketPath: server.socketPath }
  const big = JSON.stringify({ args: ['x'.repeat(2000)] })
  const r = await raw(target, 'POST', '/v1/createRepo', big)
  t.equal(r.status, 413)
  t.match(r.lines[0].error, { code: 'INVALID_ARGUMENT', message: /larger than the server's limit of 1024 bytes/ })
  // without a Content-Length the body is counted as it arrives
  const chunked = await raw(target, 'POST', '/v1/createRepo', big, { 'Transfer-Encoding': 'chunked' })
  t.equal(chunked.status, 413)
  t.equal((await raw(target, 'POST', '/v1/createRepo', '{"args":["ok"]}')).status, 200)
})

t.test('health answers with the pid; probeServer tells a live socket from a dead one', async t => {
  const client = await startServer(t, standIn())
  const r = await raw({ socketPath: client.server.socketPath }, 'GET', '/v1/health')
  t.same(r.lines[0], { ok: true, pid: process.pid })
  t.equal(await probeServer(client.server.socketPath!), true)
  t.equal(await probeServer(path.join(path.dirname(client.server.socketPath!), 'missing.sock')), false)
})

t.test('TCP needs a token: refused to start without one, 401 without or with a wrong one', async t => {
  await t.rejects(serve(standIn(), { listen: { host: '127.0.0.1', port: 0 } }), { code: 'INVALID_ARGUMENT', message: /requires a token/ })
  const client = await startServer(t, standIn(), { tcp: true })
  const { port } = client.server.address!
  t.same(await client.createRepo('a'), { echo: ['a'] }, 'the right token works')
  const attempts: Array<Record<string, string>> = [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Basic abc' }]
  for (const headers of attempts) {
    const r = await raw({ port }, 'POST', '/v1/createRepo', '{"args":["a"]}', headers)
    t.equal(r.status, 401)
    t.equal(r.lines[0].error.code, 'UNAUTHORIZED')
  }
  const anonymous = new RemoteMeta({ url: `http://127.0.0.1:${port}` })
  t.teardown(() => anonymous.close())
  await t.rejects(anonymous.createRepo('a'), { code: 'UNAUTHORIZED' })
  const wrong = new RemoteMeta({ url: `http://127.0.0.1:${port}`, token: 'guess' })
  t.teardown(() => wrong.close())
  await t.rejects(wrong.listRepos(), { code: 'UNAUTHORIZED' })
})

t.test('the socket is private to its owner (mode 0600)', async t => {
  const client = await startServer(t, standIn())
  const st = await fsp.stat(client.server.socketPath!)
  t.equal(st.mode & 0o777, 0o600)
})

t.test('a second server on the same socket is refused and the first keeps working', async t => {
  const client = await startServer(t, standIn())
  await t.rejects(serve(standIn(), { socketPath: client.server.socketPath }),
    { code: 'BUSY', message: `a pfs server is already running on ${client.server.socketPath}` })
  t.same(await client.createRepo('a'), { echo: ['a'] })
})

t.test('a socket left by a crashed server is replaced', async t => {
  const dir = await tmpDir(t)
  const sock = path.join(dir, 'pfs.sock')
  // a process killed while listening leaves its socket file behind
  const child = spawn(process.execPath, ['-e',
    `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`])
  await new Promise(resolve => child.on('exit', resolve))
  t.ok((await fsp.lstat(sock)).isSocket(), 'stale socket is there')
  t.equal(await probeServer(sock), false)
  const server = await serve(standIn(), { socketPath: sock })
  t.teardown(() => server.close())
  const client = new RemoteMeta({ socketPath: sock })
  t.teardown(() => client.close())
  t.same(await client.createRepo('a'), { echo: ['a'] })
})

t.test('a file that is not a socket is never removed', async t => {
  const dir = await tmpDir(t)
  const file = path.join(dir, 'pfs.sock')
  await fsp.writeFile(file, 'keep me')
  await t.rejects(serve(standIn(), { socketPath: file }), { code: 'INVALID_ARGUMENT', message: /is not a socket/ })
  t.equal(await fsp.readFile(file, 'utf8'), 'keep me')
})

t.test('with nothing listening the client says the server is unavailable', async t => {
  const dir = await tmpDir(t)
  const bySocket = new RemoteMeta({ socketPath: path.join(dir, 'pfs.sock') })
  t.teardown(() => bySocket.close())
  await t.rejects(bySocket.listRepos(), { code: 'UNAVAILABLE', message: /cannot reach the pfs server at .*pfs\.sock: no socket file; is `pfs serve` running\?/ })
  // a port that was just free
  const server = await serve(standIn(), { listen: { host: '127.0.0.1', port: 0 }, token: 'x' })
  const { port } = server.address!
  await server.close()
  const byUrl = new RemoteMeta({ url: `http://127.0.0.1:${port}`, token: 'x' })
  t.teardown(() => byUrl.close())
  await t.rejects(byUrl.listRepos(), { code: 'UNAVAILABLE', message: /connection refused; is `pfs serve` running\?/ })
})

t.test('close() returns promptly with idle keep-alive connections open', async t => {
  const dir = await tmpDir(t)
  const server = await serve(standIn(), { socketPath: path.join(dir, 's') })
  const client = new RemoteMeta({ socketPath: server.socketPath! })
  t.teardown(() => client.close())
  await client.createRepo('a')
  const started = Date.now()
  await server.close()
  t.ok(Date.now() - started < 1000, 'did not wait for the idle connection')
  await t.rejects(fsp.lstat(server.socketPath!), { code: 'ENOENT' }, 'socket file removed')
})

t.test('a server that dies mid-call leaves the caller an UNAVAILABLE error, not a hang', async t => {
  const dir = await tmpDir(t)
  const sock = path.join(dir, 'pfs.sock')
  // a stand-in that starts streaming progress, then drops the connection like a crash would
  const dying = net.createServer(s => {
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n')
      const line = '{"progress":{"phase":"mark","done":1}}\n'
      s.write(`${Buffer.byteLength(line).toString(16)}\r\n${line}\r\n`, () => setTimeout(() => s.destroy(), 50))
    })
  })
  await new Promise<void>(resolve => dying.listen(sock, resolve))
  t.teardown(() => new Promise<void>(resolve => dying.close(() => resolve())))
  const client = new RemoteMeta({ socketPath: sock })
  t.teardown(() => client.close())
  const seen: Progress[] = []
  await t.rejects(client.gc({ onProgress: p => seen.push(p) }),
    { code: 'UNAVAILABLE', message: /lost the connection to the pfs server at .* during gc: .*may or may not have taken effect/ })
  t.same(seen, [{ phase: 'mark', done: 1 }])
})
