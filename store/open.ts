/**
 * How a process gets a `Pfs`.
 * - `openPfs`: a server named by URL, else the server on the store's unix socket if one
 *   answers, else the store opened in this process (embedded). One-off commands.
 * - `ownStore`: opens the store here and serves it on its socket (and TCP if asked), so
 *   other processes share it: `pfs serve`.
 * - `shareStore`: joins the server if one runs, else owns and serves the store: a process
 *   that runs for long beside others, like `pfs mount`.
 * The engine (and so LevelDB) is loaded only when this process opens the store itself.
 *
 * @example
 *   await using pfs = await openPfs({ store: '/data/pfs' })
 *   console.log(pfs.mode) // 'embedded', or 'remote' while `pfs serve` runs there
 */
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { Pfs } from './api/pfs.js'
import type { ObjectStore } from './objects/object-store.js'
import { openObjectStore } from './objects/open.js'
import { RemoteMeta, probeServer } from './rpc/remote-meta.js'
import { envToken } from './rpc/credentials.js'
import { serve, type RunningServer } from './rpc/server.js'
import { createPfs } from './client/pfs-impl.js'
import type { Engine } from './engine/engine.js'

export interface OpenOptions {
  /** Store folder; default $PFS_STORE, else ~/.pfs. */
  store?: string
  /** Server URL (http://host:port); default $PFS_SERVER. Empty means none. */
  server?: string
  /**
   * Bearer token for a TCP server; default $PFS_TOKEN, else the file named by
   * $PFS_TOKEN_FILE (read only when a server URL is given; see rpc/credentials.ts).
   */
  token?: string
  /** Open the store in this process even if a server runs (`pfs serve`, `pfs mount`). */
  embeddedOnly?: boolean
  /** Bytes of chunks the reader keeps in memory (default 256 MiB). */
  cacheBytes?: number
  /**
   * Open the store here even when its index is missing or unreadable (a damaged one is
   * moved aside), for `rebuildIndex`. Without it such a store is a CORRUPT error.
   */
  repairIndex?: boolean
}

export interface OwnOptions {
  store?: string
  /** What to record as the index owner, for "store in use" messages. */
  command?: string
  /** Also serve on TCP here; needs a token. */
  listen?: { host: string, port: number }
  /** Called once the store is open (and so is ours): the TCP token, if any. */
  makeToken?: () => Promise<string | undefined>
  /** Where server bugs are reported. */
  log?: (msg: string) => void
  cacheBytes?: number
}

/** A store this process serves, or a server it joined. */
export interface SharedStore {
  pfs: Pfs
  /** The server this process runs; absent when it joined another one. */
  server?: RunningServer
  /**
   * Calls `listener(repo)` when a repo changes, as soon as this process knows: at once
   * when it owns the store, never when it joined a server (poll instead).
   */
  onChange: (listener: (repo: string) => void) => void
  /** Stops serving, then closes the store. Idempotent. */
  close: () => Promise<void>
}

/** The unix socket a server listens on, inside the store folder. */
const SOCKET_NAME = 'pfs.sock'

export function storeDir (opts: { store?: string } = {}): string {
  const dir = nonEmpty(opts.store) ?? nonEmpty(process.env.PFS_STORE) ?? '~/.pfs'
  return path.resolve(dir === '~' || dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(1)) : dir)
}

export function socketPath (store: string): string {
  return path.join(store, SOCKET_NAME)
}

export async function openPfs (opts: OpenOptions = {}): Promise<Pfs> {
  const store = storeDir(opts)
  if (opts.embeddedOnly !== true) {
    const remote = await findServer(store, opts)
    if (remote !== undefined) return await openRemote(remote, opts)
  }
  const engine = await loadEngine(store, { repairIndex: opts.repairIndex })
  try {
    return createPfs(engine, engine.objects, engine.storeConfig, 'embedded', { cacheBytes: opts.cacheBytes })
  } catch (e) {
    await engine.close()
    throw e
  }
}

export async function ownStore (opts: OwnOptions = {}): Promise<SharedStore & { server: RunningServer }> {
  const store = storeDir(opts)
  const engine = await loadEngine(store, { command: opts.command })
  try {
    const server = await serve(engine, {
      socketPath: socketPath(store), listen: opts.listen, token: await opts.makeToken?.(), log: opts.log
    })
    const pfs = createPfs(engine, engine.objects, engine.storeConfig, 'embedded', { cacheBytes: opts.cacheBytes })
    let closing: Promise<void> | undefined
    return {
      pfs,
      server,
      onChange: listener => { engine.onChange(listener) },
      close: async () => {
        closing ??= (async () => {
          try { await server.close() } finally { await engine.close() }
        })()
        await closing
      }
    }
  } catch (e) {
    await engine.close()
    throw e
  }
}

/**
 * Serves a store this process opened itself (`openPfs`, embedded) on the store's socket,
 * for as long as the caller needs: a command with no daemon that runs jobs for a while
 * lets `pfs logs -f`, `pfs job list` and puts from other terminals in meanwhile. Resolves
 * to undefined when the store is not this process's, or another server answers there.
 */
export async function serveOpenStore (
  pfs: Pfs, store: string, log?: (msg: string) => void
): Promise<RunningServer | undefined> {
  if (pfs.mode !== 'embedded') return undefined
  try {
    return await serve(pfs, { socketPath: socketPath(storeDir({ store })), log })
  } catch {
    return undefined
  }
}

export async function shareStore (opts: OpenOptions & OwnOptions = {}): Promise<SharedStore> {
  const remote = await findServer(storeDir(opts), opts)
  if (remote === undefined) return await ownStore(opts)
  const pfs = await openRemote(remote, opts)
  return { pfs, onChange: () => {}, close: async () => { await pfs.close() } }
}

/** The server to talk to: one named by URL, else one answering on the store's socket. */
async function findServer (store: string, opts: OpenOptions): Promise<RemoteMeta | undefined> {
  const url = nonEmpty(opts.server) ?? nonEmpty(process.env.PFS_SERVER)
  if (url !== undefined) return new RemoteMeta({ url, token: nonEmpty(opts.token) ?? (await envToken())?.token })
  const sock = socketPath(store)
  if (await exists(sock) && await probeServer(sock)) return new RemoteMeta({ socketPath: sock })
  return undefined
}

async function loadEngine (store: string, opts: { command?: string, repairIndex?: boolean }): Promise<Engine> {
  // Loaded on demand: remote clients (mounts on other nodes, pods) never load LevelDB.
  const { openEngine } = await import('./engine/engine.js')
  return await openEngine(store, opts)
}

async function openRemote (meta: RemoteMeta, opts: OpenOptions): Promise<Pfs> {
  let objects: ObjectStore | undefined
  try {
    const config = await meta.config()
    objects = openObjectStore(config.objects)
    return createPfs(meta, objects, config, 'remote', { cacheBytes: opts.cacheBytes })
  } catch (e) {
    await objects?.close()
    await meta.close()
    throw e
  }
}

function nonEmpty (s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s
}

async function exists (p: string): Promise<boolean> {
  return await fsp.lstat(p).then(() => true, () => false)
}
