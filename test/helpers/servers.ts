/**
 * Servers for tests: `startServer(t, meta)` serves a MetaApi on a unix socket (or TCP
 * with a token) in a temp folder and returns a connected RemoteMeta. Both are torn down
 * with the test, even when it fails.
 */
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { Test } from 'tap'
import type { MetaApi } from '../../store/api/meta.js'
import { serve, type RunningServer, type ServeOptions } from '../../store/rpc/server.js'
import { RemoteMeta } from '../../store/rpc/remote-meta.js'

export interface StartOptions {
  /** Serve on 127.0.0.1 (random port, random token) instead of a unix socket. */
  tcp?: boolean
  log?: ServeOptions['log']
  /** The client's timeout (RemoteMeta's `timeoutMs`). */
  timeoutMs?: number
}

/** A connected client of a fresh server for `meta`; `.server` is the running server. */
export async function startServer (t: Test, meta: MetaApi,
  opts: StartOptions = {}): Promise<RemoteMeta & { server: RunningServer }> {
  // mkdtemp under /tmp: tap's fixture dirs can exceed the 107-byte socket path limit.
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-srv-'))
  const token = `tok-${Math.random().toString(36).slice(2)}`
  const server = opts.tcp === true
    ? await serve(meta, { listen: { host: '127.0.0.1', port: 0 }, token, log: opts.log })
    : await serve(meta, { socketPath: path.join(dir, 'pfs.sock'), log: opts.log })
  const client = opts.tcp === true
    ? new RemoteMeta({ url: `http://127.0.0.1:${server.address!.port}`, token, timeoutMs: opts.timeoutMs })
    : new RemoteMeta({ socketPath: server.socketPath!, timeoutMs: opts.timeoutMs })
  t.teardown(async () => {
    await client.close()
    await server.close()
    await fsp.rm(dir, { recursive: true, force: true })
  })
  return Object.assign(client, { server })
}

/** A short temp folder (unix socket paths must stay under 108 bytes), removed after the test. */
export async function tmpDir (t: Test): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-t-'))
  t.teardown(() => fsp.rm(dir, { recursive: true, force: true }))
  return dir
}
