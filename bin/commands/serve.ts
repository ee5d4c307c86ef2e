/**
 * `pfs serve [--listen host:port]`: owns the store and serves the metadata API on the
 * unix socket `<store>/pfs.sock` (and on TCP with --listen, which needs a token), so
 * mounts, runners and other `pfs` commands share one index. Runs until SIGINT/SIGTERM.
 */
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { invalidArgument } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { json, line, stderrLog } from '../cli/output.js'
import { stopSignal } from '../cli/signals.js'

export default defineCommand({
  command: 'serve',
  describe: 'serve the store to other pfs processes and machines',
  builder: y => y
    .option('listen', { type: 'string', describe: 'also listen on TCP at host:port (needs a token)' })
    .example('pfs serve', 'unix socket only: <store>/pfs.sock')
    .example('pfs serve --listen 0.0.0.0:7070', 'a token is generated, saved to <store>/token and printed'),
  handler: async argv => {
    const listen = argv.listen === undefined ? undefined : parseListen(argv.listen)
    const { storeDir, ownStore } = await import('../../store/index.js')
    const store = storeDir({ store: argv.store })
    let token: string | undefined
    const { server, close } = await ownStore({
      store,
      command: 'serve',
      log: stderrLog,
      listen,
      // Only once the store is ours: a second server must not replace a running one's token.
      makeToken: async () => (token = listen === undefined ? undefined : argv.token ?? await newToken(store))
    })
    try {
      const url = server.address ? `http://${hostPort(server.address.host, server.address.port)}` : undefined
      if (argv.json) {
        await json({ store, socket: server.socketPath, url, token: token !== argv.token ? token : undefined })
      } else {
        await line(`serving ${store} on ${server.socketPath}${url ? ` and ${url}` : ''}`)
        if (token !== undefined && token !== argv.token) {
          const saved = path.join(store, 'token')
          await line(`token: ${token} (saved to ${saved}; clients: PFS_SERVER=${url} PFS_TOKEN=...)`)
        }
      }
      await stopSignal()
      process.stderr.write('pfs: stopping\n')
    } finally {
      await close()
    }
  }
})

/** `127.0.0.1:7070`, `[::1]:7070`, or just `7070` (loopback). */
function parseListen (s: string): { host: string, port: number } {
  const i = s.lastIndexOf(':')
  const host = i < 0 ? '127.0.0.1' : s.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  const port = Number(i < 0 ? s : s.slice(i + 1))
  if (host === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument(`--listen '${s}' is not host:port (e.g. 127.0.0.1:7070)`, { listen: s })
  }
  return { host, port }
}

/** A new random token, written to `<store>/token` readable by the owner only. */
async function newToken (store: string): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  const file = path.join(store, 'token')
  // A fresh file, so the token is never readable by others, not even for a moment.
  await fsp.rm(file, { force: true })
  await fsp.writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' })
  return token
}

function hostPort (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
