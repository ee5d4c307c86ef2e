/**
 * How every command gets a `Pfs`: a server named by URL, else the server on the store's
 * unix socket if one answers, else the store opened in this process (embedded).
 *
 * @example
 *   await using pfs = await openPfs({ store: '/data/pfs' })
 *   console.log(pfs.mode) // 'embedded', or 'remote' while `pfs serve` runs there
 */
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { MetaApi, StoreConfig } from './meta.js'
import type { Pfs } from './pfs.js'
import type { ObjectStore, ObjectStoreConfig } from './objects/object-store.js'
import { LocalObjectStore } from './objects/local.js'
import { RemoteMeta, probeServer } from './client.js'
import { createPfs } from './pfs-impl.js'
import { invalidArgument } from './errors.js'

export interface OpenOptions {
  /** Store folder; default $PFS_STORE, else ~/.pfs. */
  store?: string
  /** Server URL (http://host:port); default $PFS_SERVER. */
  server?: string
  /** Bearer token for a TCP server; default $PFS_TOKEN. */
  token?: string
  /** Open the store in this process even if a server runs (`pfs serve`, `pfs mount`). */
  embeddedOnly?: boolean
  /** Bytes of chunks the reader keeps in memory (default 256 MiB). */
  cacheBytes?: number
}

/** The unix socket a server listens on, inside the store folder. */
export const SOCKET_NAME = 'pfs.sock'

export function storeDir (opts: OpenOptions = {}): string {
  const dir = nonEmpty(opts.store) ?? nonEmpty(process.env.PFS_STORE) ?? '~/.pfs'
  return path.resolve(dir === '~' || dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(1)) : dir)
}

export function socketPath (store: string): string {
  return path.join(store, SOCKET_NAME)
}

export async function openPfs (opts: OpenOptions = {}): Promise<Pfs> {
  const store = storeDir(opts)
  if (opts.embeddedOnly !== true) {
    const server = nonEmpty(opts.server) ?? nonEmpty(process.env.PFS_SERVER)
    if (server !== undefined) {
      const token = nonEmpty(opts.token) ?? nonEmpty(process.env.PFS_TOKEN)
      return await openRemote(new RemoteMeta({ url: server, token }), opts)
    }
    const sock = socketPath(store)
    if (await exists(sock) && await probeServer(sock)) {
      return await openRemote(new RemoteMeta({ socketPath: sock }), opts)
    }
  }
  return await openEmbedded(store, opts)
}

async function openEmbedded (store: string, opts: OpenOptions): Promise<Pfs> {
  // Loaded on demand: remote clients (mounts on other nodes, pods) never load LevelDB.
  const { openEngine } = await import('./engine.js')
  const engine = await openEngine(store)
  try {
    return createPfs(engine, engine.objects, await engine.config(), 'embedded', { cacheBytes: opts.cacheBytes })
  } catch (e) {
    await engine.close()
    throw e
  }
}

async function openRemote (meta: RemoteMeta, opts: OpenOptions): Promise<Pfs> {
  let objects: ObjectStore | undefined
  try {
    const config: StoreConfig = await meta.config()
    objects = openObjectStore(config.objects)
    return createPfs(meta satisfies MetaApi, objects, config, 'remote', { cacheBytes: opts.cacheBytes })
  } catch (e) {
    await objects?.close()
    await meta.close()
    throw e
  }
}

/**
 * The object store a server describes, opened here so chunk bytes go straight between
 * this process and the store, never through the server.
 */
export function openObjectStore (cfg: ObjectStoreConfig): ObjectStore {
  switch (cfg.kind) {
    case 'local': return new LocalObjectStore(cfg.path)
    case 's3': throw invalidArgument('S3 stores are not supported yet', { objects: cfg })
  }
}

function nonEmpty (s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s
}

async function exists (p: string): Promise<boolean> {
  return await fsp.lstat(p).then(() => true, () => false)
}
