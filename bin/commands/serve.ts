/**
 * `pfs serve [--listen host:port]`: owns the store and serves the metadata API on the
 * unix socket `<store>/pfs.sock` (and on TCP with --listen, which needs a token), so
 * mounts, runners and other `pfs` commands share one index. Runs until SIGINT/SIGTERM.
 * The TCP token comes from --token-file, $PFS_TOKEN or $PFS_TOKEN_FILE, else a new one is
 * saved to `<store>/token` (0600). It is never printed: clients are told the file.
 */
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { isIP } from 'node:net'
import { envToken, invalidArgument } from '../../store/index.js'
import { defineCommand, type GlobalArgs } from '../cli/command.js'
import { json, line, stderrLog } from '../cli/output.js'
import { stopSignal } from '../cli/signals.js'
import { startRunner } from '../cli/jobs-here.js'

export default defineCommand({
  command: 'serve',
  describe: 'serve the store to other pfs processes and machines',
  builder: y => y
    .option('listen', { type: 'string', describe: 'also listen on TCP at host:port (needs a token)' })
    .option('runner', {
      type: 'boolean', default: true, describe: 'run pipeline jobs here (--no-runner: leave them queued)'
    })
    .example('pfs serve', 'unix socket only: <store>/pfs.sock')
    .example('pfs serve --listen 0.0.0.0:7070', 'a token is generated and saved to <store>/token (mode 0600)')
    .example('PFS_TOKEN_FILE=~/.pfs-token pfs serve --listen 7070', 'serve with a token of your own'),
  handler: async argv => {
    const listen = argv.listen === undefined ? undefined : parseListen(argv.listen)
    const { storeDir, ownStore } = await import('../../store/index.js')
    const store = storeDir({ store: argv.store })
    let token: ServerToken | undefined
    const { server, close, pfs, onChange } = await ownStore({
      store,
      command: 'serve',
      log: stderrLog,
      listen,
      // Only once the store is ours: a second server must not replace a running one's token.
      makeToken: async () => listen === undefined
        ? undefined
        : (token = await serverToken(store, argv)).token
    })
    let runner: { stop: () => Promise<void> } | undefined
    try {
      if (argv.runner) runner = await startRunner(pfs, onChange)
      const url = server.address ? `http://${hostPort(server.address.host, server.address.port)}` : undefined
      if (argv.json) {
        await json({ store, socket: server.socketPath, url, tokenFile: token?.file })
      } else {
        await line(`serving ${store} on ${server.socketPath}${url ? ` and ${url}` : ''}`)
        if (token?.generated === true) {
          await line(`token saved to ${token.file} (readable by you only); clients: PFS_SERVER=${url} ` +
            `PFS_TOKEN_FILE=${token.file} pfs ... (on another machine, a copy of the file, mode 0600)`)
        }
      }
      await stopSignal()
      process.stderr.write('pfs: stopping\n')
    } finally {
      await runner?.stop()
      await close()
    }
  }
})

/** `127.0.0.1:7070`, `[::1]:7070`, `localhost:7070`, or just `7070` (loopback); port 0 picks one. */
function parseListen (s: string): { host: string, port: number } {
  const bad = (why: string): never => {
    throw invalidArgument(`--listen '${s}' ${why}; write host:port, e.g. 127.0.0.1:7070 or [::1]:7070`, { listen: s })
  }
  const text = s.trim()
  if (text === '') bad('is empty')
  const m = /^(?:(\[[^\]]*\]|[^:[\]]*):)?(\d{1,5})$/.exec(text)
  if (m === null) bad('is not host:port (an IPv6 address goes in brackets)')
  const [, rawHost, rawPort] = m as RegExpExecArray
  const host = rawHost === undefined ? '127.0.0.1' : rawHost.replace(/^\[(.*)\]$/, '$1')
  const port = Number(rawPort)
  if (host === '') bad('has no host before the colon')
  if (rawHost?.startsWith('[') === true && !isIP(host)) bad(`has '${host}' in brackets, which is not an IPv6 address`)
  if (port > 65535) bad('has a port above 65535')
  return { host, port }
}

/** The TCP token, the file it is in (if any), and whether this server made it. */
interface ServerToken { token: string, file?: string, generated: boolean }

/** The token read from --token-file, else $PFS_TOKEN or $PFS_TOKEN_FILE, else a new one. */
async function serverToken (store: string, argv: GlobalArgs): Promise<ServerToken> {
  if (argv.token !== undefined && argv.tokenFile !== undefined) {
    return { token: argv.token, file: path.resolve(argv.tokenFile), generated: false }
  }
  const found = await envToken()
  if (found !== undefined) return { ...found, generated: false }
  return { ...await newToken(store), generated: true }
}

/** A new random token, written to `<store>/token` readable by the owner only. */
async function newToken (store: string): Promise<{ token: string, file: string }> {
  const token = randomBytes(32).toString('base64url')
  const file = path.join(store, 'token')
  // A fresh file, so the token is never readable by others, not even for a moment.
  await fsp.rm(file, { force: true })
  await fsp.writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' })
  return { token, file }
}

function hostPort (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
