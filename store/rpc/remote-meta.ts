/**
 * `RemoteMeta`: the MetaApi of a `pfs serve` daemon, over HTTP (see server.ts for the
 * protocol). Same answers and same PfsError codes as the embedded engine.
 *
 * A server that sends nothing for `timeoutMs` (default `$PFS_TIMEOUT` seconds, else 30 s)
 * is given up on with UNAVAILABLE. That is silence, not the length of a call: the server
 * sends a blank line every 2 s while a call runs, so a long gc, fsck or rebuild, or a
 * `modify` queued behind one, is never cut while the server lives.
 *
 * @example
 *   const meta = new RemoteMeta({ socketPath: '/root/.pfs/pfs.sock' })
 *   const repos = await meta.listRepos()
 *   await meta.close()
 */
import http from 'node:http'
import { META_METHODS, type MetaApi } from '../api/meta.js'
import type { Progress } from '../api/progress.js'
import { PfsError, invalidArgument, type PfsErrorCode } from '../api/errors.js'
import { checkServerUrl } from './credentials.js'

type RemoteOptions = ({ socketPath: string } | { url: string, token?: string }) & {
  /** Give up on a server silent for this many ms; 0 waits forever. Default: see above. */
  timeoutMs?: number
}

interface WireError { code: PfsErrorCode | 'INTERNAL', message: string, data?: Record<string, unknown> }
interface WireLine { progress?: Progress, result?: unknown, error?: WireError }

/** Enough for a mount's parallel reads, few enough not to swamp one metadata server. */
const MAX_SOCKETS = 8
const PROBE_TIMEOUT_MS = 1000
/**
 * Fifteen heartbeats (server.ts) missed: a server is hung, or stopped (SIGSTOP), or its
 * machine gone, long before that; a loaded one is not.
 */
const DEFAULT_TIMEOUT_MS = 30_000

// The methods are generated from META_METHODS below; this declaration tells TypeScript.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface RemoteMeta extends Omit<MetaApi, 'close'> {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class RemoteMeta implements MetaApi {
  /** For messages: the socket path or the URL. */
  readonly where: string
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS })
  private readonly target: { socketPath?: string, host?: string, port?: number, base: string }
  private readonly auth: string | undefined
  private readonly timeoutMs: number

  constructor (opts: RemoteOptions) {
    this.timeoutMs = opts.timeoutMs ?? timeoutFromEnv()
    if (!(this.timeoutMs >= 0)) {
      throw invalidArgument(`timeoutMs must be 0 (none) or more, not ${this.timeoutMs}`, { timeoutMs: this.timeoutMs })
    }
    if ('socketPath' in opts) {
      this.where = opts.socketPath
      this.target = { socketPath: opts.socketPath, base: '' }
      return
    }
    // Refuses credentials in the URL, so `where` never shows a secret in a message.
    const u = new URL(checkServerUrl(opts.url))
    this.where = opts.url
    this.target = { host: u.hostname, port: Number(u.port || 80), base: u.pathname.replace(/\/+$/, '') }
    this.auth = opts.token === undefined ? undefined : `Bearer ${opts.token}`
  }

  /** Calls one MetaApi method on the server. */
  async call (method: string, args: unknown[]): Promise<unknown> {
    const { wire, onProgress } = encodeArgs(args)
    const body = JSON.stringify({ args: wire })
    const watch: Watch = {}
    const res = await this.send(method, body, watch)
    return await this.readAnswer(method, res, watch, onProgress)
  }

  async close (): Promise<void> {
    this.agent.destroy()
  }

  private send (method: string, body: string, watch: Watch): Promise<http.IncomingMessage> {
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body)
    }
    if (this.auth !== undefined) headers.Authorization = this.auth
    return new Promise((resolve, reject) => {
      const req = http.request({
        ...this.target,
        path: `${this.target.base}/v1/${method}`,
        method: 'POST',
        headers,
        agent: this.agent,
        // Inactivity of the socket, either way (node:http); the connect counts too.
        timeout: this.timeoutMs > 0 ? this.timeoutMs : undefined
      }, resolve)
      req.on('timeout', () => {
        watch.expired ??= this.silent(method)
        req.destroy(watch.expired)
      })
      req.on('error', e => reject(e === watch.expired ? e : this.unreachable(e)))
      req.end(body)
    })
  }

  private async readAnswer (
    method: string, res: http.IncomingMessage, watch: Watch, onProgress?: (p: Progress) => void
  ): Promise<unknown> {
    let final: WireLine | undefined
    try {
      for await (const line of ndjsonLines(res)) {
        if (line.progress !== undefined) onProgress?.(line.progress)
        else if ('result' in line || 'error' in line) final = line
      }
    } catch (e) {
      res.destroy()
      if (watch.expired !== undefined) throw watch.expired
      if (e instanceof PfsError || !isNetworkError(e)) throw e
      throw lost(this.where, method, e as Error)
    }
    if (final === undefined) {
      throw new PfsError('UNAVAILABLE',
        `the pfs server at ${this.where} answered ${method} with HTTP ${res.statusCode ?? '?'} and no result; ` +
        'the call may or may not have taken effect', { method, status: res.statusCode })
    }
    if (final.error !== undefined) throw fromWire(final.error)
    // The server sends void results as null; no MetaApi call returns a bare null.
    return final.result ?? undefined
  }

  private silent (method: string): PfsError {
    const secs = this.timeoutMs / 1000
    return new PfsError('UNAVAILABLE',
      `the pfs server at ${this.where} sent nothing for ${secs} s during ${method}, so it is hung or gone; ` +
      'check that `pfs serve` there answers (restart it if not) or raise PFS_TIMEOUT (seconds, 0 for none); ' +
      'the call may or may not have taken effect', { where: this.where, method, timeoutMs: this.timeoutMs })
  }

  private unreachable (e: Error): PfsError {
    return new PfsError('UNAVAILABLE',
      `cannot reach the pfs server at ${this.where}: ${why(e)}; is \`pfs serve\` running?`,
      { where: this.where }, e)
  }
}

/** Set when the call timed out: the error to raise, whatever the socket reports then. */
interface Watch { expired?: PfsError }

/** `$PFS_TIMEOUT` in ms (it is given in seconds), else the default. */
function timeoutFromEnv (): number {
  const text = process.env.PFS_TIMEOUT?.trim() ?? ''
  if (text === '') return DEFAULT_TIMEOUT_MS
  const secs = Number(text)
  if (!Number.isFinite(secs) || secs < 0) {
    throw invalidArgument(`PFS_TIMEOUT must be a number of seconds (0 for none), not '${text.slice(0, 40)}'`)
  }
  return secs * 1000
}

for (const method of META_METHODS) {
  const proto = RemoteMeta.prototype as unknown as Record<string, unknown>
  proto[method] = function (this: RemoteMeta, ...args: unknown[]) { return this.call(method, args) }
}

/**
 * JSON turns an omitted trailing argument into null, which would defeat the callee's
 * `opts = {}` default: trailing undefineds are dropped. Functions (onProgress) cannot
 * cross the wire; they are kept here and fed from the progress lines.
 */
function encodeArgs (args: unknown[]): { wire: unknown[], onProgress?: (p: Progress) => void } {
  let onProgress: ((p: Progress) => void) | undefined
  const wire = args.map(a => {
    if (a === null || typeof a !== 'object' || !('onProgress' in a)) return a
    const { onProgress: fn, ...rest } = a as { onProgress?: unknown }
    if (typeof fn === 'function') onProgress = fn as (p: Progress) => void
    return rest
  })
  while (wire.length > 0 && wire[wire.length - 1] === undefined) wire.pop()
  return { wire, onProgress }
}

async function * ndjsonLines (res: http.IncomingMessage): AsyncGenerator<WireLine> {
  let buf = ''
  res.setEncoding('utf8')
  for await (const chunk of res) {
    buf += chunk as string
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.trim() !== '') yield parseLine(line)
    }
  }
  if (buf.trim() !== '') yield parseLine(buf)
}

function parseLine (line: string): WireLine {
  try {
    return JSON.parse(line) as WireLine
  } catch {
    throw new PfsError('UNAVAILABLE',
      `the pfs server sent a line that is not JSON: ${line.slice(0, 80)}; is that address a pfs server?`)
  }
}

/** INTERNAL is a server bug, not a user's mistake: it stays a plain Error (shown with a stack). */
function fromWire (e: WireError): Error {
  if (e.code === 'INTERNAL') return new Error(e.message)
  return PfsError.fromJSON({ code: e.code, message: e.message, data: e.data })
}

const NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE'])

function isNetworkError (e: unknown): boolean {
  return NETWORK_CODES.has(String((e as NodeJS.ErrnoException | undefined)?.code))
}

function lost (where: string, method: string, e: Error): PfsError {
  return new PfsError('UNAVAILABLE',
    `lost the connection to the pfs server at ${where} during ${method}: ${why(e)}; ` +
    'the call may or may not have taken effect', { where, method }, e)
}

function why (e: Error): string {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOENT') return 'no socket file'
  return e.message
}

/** True if a pfs server answers /v1/health on the socket within about a second. */
export async function probeServer (socketPath: string): Promise<boolean> {
  return await new Promise(resolve => {
    const req = http.get({ socketPath, path: '/v1/health', agent: false }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => done(res.statusCode === 200 && isHealthy(body)))
      res.on('error', () => done(false))
    })
    // A process that holds the socket but does not answer is no usable server.
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS)
    const done = (ok: boolean): void => { clearTimeout(timer); req.destroy(); resolve(ok) }
    req.on('error', () => done(false))
  })
}

function isHealthy (body: string): boolean {
  try {
    return (JSON.parse(body) as { ok?: unknown }).ok === true
  } catch {
    return false
  }
}
