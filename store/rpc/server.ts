/**
 * Serves any `MetaApi` over HTTP (node:http), on a unix socket and/or TCP.
 *
 * Protocol (remote-meta.ts is the other half):
 * - `POST /v1/<method>` with body `{"args":[...]}` for each name in META_METHODS.
 * - The response is NDJSON: zero or more `{"progress":{...}}` lines (gc, fsck,
 *   rebuildIndex; at most ~10 a second, always ending on the latest), then exactly one
 *   `{"result":...}` or `{"error":{code,message,data}}`. A call that runs for more than
 *   2 s also gets a blank line every 2 s, so the client can tell a slow call from a dead
 *   server. Errors of the call itself are sent with status 200: once progress lines are
 *   out the status cannot change, so the client always reads the final line instead.
 * - `GET /v1/health` → `{"ok":true,"pid":...}`.
 * - TCP requires `Authorization: Bearer <token>`; the unix socket is protected by its
 *   0600 mode instead.
 */
import http from 'node:http'
import net from 'node:net'
import { promises as fsp } from 'node:fs'
import { createHash, timingSafeEqual } from 'node:crypto'
import { META_METHODS, type MetaApi } from '../api/meta.js'
import { type Tick, throttle } from '../api/progress.js'
import { PfsError, busy, invalidArgument } from '../api/errors.js'
import { redact } from '../api/redact.js'

export interface ServeOptions {
  socketPath?: string
  listen?: { host: string, port: number }
  /** Required for TCP. */
  token?: string
  /** Where server bugs (non-PfsError failures) are reported, with their stack. */
  log?: (msg: string) => void
  /** Largest accepted request body; default 64 MiB. */
  maxBodyBytes?: number
}

export interface RunningServer {
  socketPath?: string
  address?: { host: string, port: number }
  close (): Promise<void>
}

type Method = typeof META_METHODS[number]

const METHODS: ReadonlySet<string> = new Set(META_METHODS)
/** Calls whose options take `onProgress`; the server streams those events. */
const PROGRESS_METHODS: ReadonlySet<string> = new Set(['gc', 'fsck', 'rebuildIndex'])
/**
 * Where each call's options object goes. JSON has no undefined, so absent options arrive
 * as null; they are passed on as undefined, and options that are not an object are refused.
 */
const OPTIONS_AT: Partial<Record<Method, number>> = {
  createRepo: 1, deleteRepo: 1, createBranch: 2, startCommit: 2, finishCommit: 2, log: 2, listCommits: 1,
  list: 3, walk: 3, diff: 3, modify: 3, stage: 2, du: 0, gc: 0, fsck: 0, rebuildIndex: 0,
  abortCommit: 2, createPipeline: 1, deletePipeline: 1, listJobs: 0, listDatums: 1, putDatums: 2, readLogs: 0
}
const DEFAULT_MAX_BODY = 64 * 1024 * 1024
/** Longest unix socket path the kernel accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107
/** How long close() lets in-flight calls finish before cutting their connections. */
const CLOSE_GRACE_MS = 5000
/**
 * While a call runs, a blank line this often tells the client the server is alive: a
 * client gives up on a server silent for its timeout (remote-meta.ts), not on a call that
 * takes long, such as a gc or a `modify` waiting for one.
 */
const HEARTBEAT_MS = 2000
const NDJSON = 'application/x-ndjson'

export async function serve (meta: MetaApi, opts: ServeOptions): Promise<RunningServer> {
  if (opts.socketPath === undefined && opts.listen === undefined) {
    throw invalidArgument('pfs serve needs a socket path or a TCP address to listen on')
  }
  if (opts.listen !== undefined && (opts.token === undefined || opts.token === '')) {
    throw invalidArgument('serving over TCP requires a token; set PFS_TOKEN or PFS_TOKEN_FILE, or pass --token-file',
      { listen: opts.listen })
  }
  const servers: http.Server[] = []
  const running: RunningServer = { close: async () => { await Promise.all(servers.map(closeServer)) } }
  try {
    if (opts.socketPath !== undefined) {
      servers.push(await listenSocket(meta, opts, opts.socketPath))
      running.socketPath = opts.socketPath
    }
    if (opts.listen !== undefined) {
      const srv = await listenTcp(meta, opts, opts.listen)
      servers.push(srv)
      const a = srv.address() as net.AddressInfo
      running.address = { host: a.address, port: a.port }
    }
  } catch (e) {
    await running.close()
    throw e
  }
  return running
}

async function listenSocket (meta: MetaApi, opts: ServeOptions, socketPath: string): Promise<http.Server> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw invalidArgument(`socket path is too long (${Buffer.byteLength(socketPath)} bytes, ` +
      `at most ${MAX_SOCKET_PATH}): ${socketPath}; use a shorter store path`, { socketPath })
  }
  await removeStaleSocket(socketPath)
  let ready = false
  const srv = createServer(meta, opts, undefined)
  // Connections that slip in before the chmod below would bypass the 0600 protection.
  srv.on('connection', (s: net.Socket) => { if (!ready) s.destroy() })
  try {
    await listen(srv, { path: socketPath })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw alreadyRunning(socketPath)
    throw e
  }
  try {
    await fsp.chmod(socketPath, 0o600)
  } catch (e) {
    await closeServer(srv)
    throw e
  }
  ready = true
  return srv
}

async function listenTcp (
  meta: MetaApi, opts: ServeOptions, where: { host: string, port: number }
): Promise<http.Server> {
  const srv = createServer(meta, opts, opts.token)
  try {
    await listen(srv, { host: where.host, port: where.port })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw busy(`${where.host}:${where.port} is already in use; pick another port`, { ...where })
    }
    throw e
  }
  return srv
}

const alreadyRunning = (socketPath: string): PfsError =>
  busy(`a pfs server is already running on ${socketPath}`, { socketPath })

/**
 * A socket file left by a crashed server makes listen() fail with EADDRINUSE. Remove it,
 * but only when nothing answers on it: a live server must not lose its socket.
 */
async function removeStaleSocket (socketPath: string): Promise<void> {
  const st = await fsp.lstat(socketPath).catch(() => undefined)
  if (st === undefined) return
  if (!st.isSocket()) {
    throw invalidArgument(`${socketPath} exists and is not a socket; move it away to start the server`, { socketPath })
  }
  if (await socketAnswers(socketPath)) throw alreadyRunning(socketPath)
  await fsp.rm(socketPath, { force: true })
}

function socketAnswers (socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve(false)
      else reject(e)
    })
  })
}

function listen (srv: http.Server, where: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(where, () => { srv.off('error', reject); resolve() })
  })
}

function createServer (meta: MetaApi, opts: ServeOptions, token: string | undefined): http.Server {
  const srv = http.createServer({ keepAlive: true }, (req, res) => {
    handle(meta, opts, token, req, res).catch(e => {
      // handle() answers every failure itself; getting here means writing the answer failed.
      // A request line can carry a secret (`?token=`): it is logged redacted.
      opts.log?.(`pfs server: failed to answer ${req.method ?? ''} ${redact(req.url ?? '')}: ${stackOf(e)}`)
      res.destroy()
    })
  })
  // Outlive the client agent's idle sockets, so a reused socket is not closed under a request.
  srv.keepAliveTimeout = 30_000
  return srv
}

async function closeServer (srv: http.Server): Promise<void> {
  if (!srv.listening) return
  const closed = new Promise<void>(resolve => srv.close(() => resolve()))
  srv.closeIdleConnections()
  const timer = setTimeout(() => srv.closeAllConnections(), CLOSE_GRACE_MS)
  await closed
  clearTimeout(timer)
}

async function handle (meta: MetaApi, opts: ServeOptions, token: string | undefined,
  req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  res.on('error', () => {}) // a client that went away is not a server problem
  if (token !== undefined && !authorized(req.headers.authorization, token)) {
    res.setHeader('WWW-Authenticate', 'Bearer')
    return reply(res, 401, errorLine(new PfsError('UNAUTHORIZED',
      'missing or wrong token; give the one the server was started with in PFS_TOKEN or a file ' +
      '(--token-file, PFS_TOKEN_FILE)')))
  }
  const url = new URL(req.url ?? '/', 'http://pfs')
  if (url.pathname === '/v1/health' && req.method === 'GET') {
    return reply(res, 200, JSON.stringify({ ok: true, pid: process.pid }) + '\n', 'application/json')
  }
  const name = url.pathname.startsWith('/v1/') ? url.pathname.slice(4) : ''
  if (!METHODS.has(name)) {
    return reply(res, 404, errorLine(invalidArgument(`unknown pfs API call ${JSON.stringify(url.pathname)}; ` +
      'is the server an older version?', { path: url.pathname })))
  }
  if (req.method !== 'POST') {
    return reply(res, 405, errorLine(invalidArgument(`${name} must be called with POST`, { method: name })))
  }
  const args = await readArgs(req, res, opts.maxBodyBytes ?? DEFAULT_MAX_BODY)
  if (args === undefined) return
  await call(meta, opts, name as Method, args, res)
}

/** Tokens are compared as digests, so the comparison takes the same time for any input. */
function authorized (header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '')
  if (m === null) return false
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(m[1]!), digest(token))
}

/** Reads and parses the body; on a bad body it answers itself and returns undefined. */
async function readArgs (
  req: http.IncomingMessage, res: http.ServerResponse, limit: number
): Promise<unknown[] | undefined> {
  const tooLarge = (): undefined => {
    // The rest of the body is never read, so this connection cannot be reused.
    res.setHeader('Connection', 'close')
    reply(res, 413, errorLine(invalidArgument(`request body is larger than the server's limit of ${limit} bytes; ` +
      'send fewer ops or ids per call', { limit })))
    return undefined
  }
  if (Number(req.headers['content-length'] ?? 0) > limit) return tooLarge()
  const parts: Buffer[] = []
  let size = 0
  for await (const part of req) {
    size += (part as Buffer).length
    // Keep draining rather than stop reading: destroying the request would cut the
    // connection before the 413 answer is flushed.
    if (size <= limit) parts.push(part as Buffer)
  }
  if (size > limit) return tooLarge()
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(parts).toString('utf8'))
  } catch {
    body = undefined
  }
  const args = (body as { args?: unknown } | null | undefined)?.args
  if (!Array.isArray(args)) {
    reply(res, 400, errorLine(invalidArgument('request body must be JSON of the form {"args":[...]}')))
    return undefined
  }
  return args
}

async function call (
  meta: MetaApi, opts: ServeOptions, name: Method, args: unknown[], res: http.ServerResponse
): Promise<void> {
  const at = OPTIONS_AT[name]
  if (at !== undefined && at < args.length) {
    const o = args[at]
    if (o === null) args[at] = undefined
    else if (typeof o !== 'object' || Array.isArray(o)) {
      return reply(res, 200, errorLine(invalidArgument(`the options of ${name} (argument ${at + 1}) must be an ` +
        `object, not ${JSON.stringify(o)}; is the client an older version?`, { method: name })))
    }
  }
  const progress = PROGRESS_METHODS.has(name) ? progressWriter(res) : undefined
  if (progress !== undefined) args[0] = { ...(args[0] as object | undefined), onProgress: progress }
  let line: string
  const beat = setInterval(() => writeLine(res, ''), HEARTBEAT_MS)
  try {
    const fn = meta[name] as (...a: unknown[]) => Promise<unknown>
    const result = await fn.apply(meta, args)
    // void results go out as null: a key with an undefined value would vanish from the JSON.
    line = JSON.stringify({ result: result ?? null }) + '\n'
  } catch (e) {
    if (!(e instanceof PfsError)) opts.log?.(`pfs server: ${name} failed: ${stackOf(e)}`)
    line = errorLine(e)
  } finally {
    clearInterval(beat)
  }
  progress?.flush()
  if (res.headersSent) res.end(line)
  else reply(res, 200, line)
}

/** onProgress for a streamed call: a line per event, throttled, the latest one kept for the end. */
function progressWriter (res: http.ServerResponse): Tick {
  return throttle(p => writeLine(res, JSON.stringify({ progress: p })), { trailing: true })
}

/** One line of a streamed answer (the status is 200 from the first one on). */
function writeLine (res: http.ServerResponse, line: string): void {
  if (res.destroyed || res.writableEnded) return
  if (!res.headersSent) res.writeHead(200, { 'Content-Type': NDJSON })
  res.write(line + '\n')
}

function errorLine (e: unknown): string {
  const error = e instanceof PfsError
    ? e.toJSON()
    : { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e), data: {} }
  try {
    return JSON.stringify({ error }) + '\n'
  } catch {
    // data that JSON cannot hold (a BigInt, a cycle) must not cost the caller the error
    return JSON.stringify({ error: { ...error, data: {} } }) + '\n'
  }
}

function reply (res: http.ServerResponse, status: number, body: string, type = NDJSON): void {
  if (res.destroyed || res.writableEnded) return
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

function stackOf (e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e)
}
