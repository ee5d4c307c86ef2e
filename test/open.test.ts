// How a command finds its store: a server URL, a live server on the store's socket,
// or the store opened in-process.
import t from 'tap'
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { MetaApi, StoreConfig } from '../store/api/meta.js'
import { openPfs, storeDir, socketPath } from '../store/open.js'
import { openObjectStore } from '../store/objects/open.js'
import { LocalObjectStore } from '../store/objects/local.js'
import { serve } from '../store/rpc/server.js'
import { tmpDir } from './helpers/servers.js'

/** A server stand-in that only describes its store. */
function describing (objectsPath: string): MetaApi {
  const config: StoreConfig = {
    objects: { kind: 'local', path: objectsPath },
    chunking: { min: 1024, avg: 4096, max: 16384 },
    packThreshold: 1024,
    version: 'test'
  }
  return { config: async () => config, close: async () => {} } as unknown as MetaApi
}

/** Runs fn with PFS_* variables set (or removed), restoring them afterwards. */
async function withEnv<T> (env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map(k => [k, process.env[k]]))
  const set = (vars: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  set(env)
  try {
    return await fn()
  } finally {
    set(saved)
  }
}

t.test('the store folder comes from the option, else PFS_STORE, else ~/.pfs', async t => {
  await withEnv({ PFS_STORE: undefined }, async () => {
    t.equal(storeDir(), path.join(os.homedir(), '.pfs'))
    t.equal(storeDir({ store: '~/data' }), path.join(os.homedir(), 'data'))
  })
  await withEnv({ PFS_STORE: '/srv/pfs' }, async () => {
    t.equal(storeDir(), '/srv/pfs')
    t.equal(storeDir({ store: 'rel' }), path.resolve('rel'), 'relative to the working folder')
  })
})

t.test('a local object store is opened where the server says; S3 is refused for now', async t => {
  const objects = openObjectStore({ kind: 'local', path: '/srv/pfs/objects' })
  t.ok(objects instanceof LocalObjectStore)
  t.equal(objects.description, 'local:/srv/pfs/objects')
  t.throws(() => openObjectStore({ kind: 's3', bucket: 'b' }), { code: 'INVALID_ARGUMENT', message: 'S3 stores are not supported yet' })
})

t.test('with a server answering on the store socket, commands talk to it', async t => {
  const store = await tmpDir(t)
  const server = await serve(describing(path.join(store, 'objects')), { socketPath: socketPath(store) })
  t.teardown(() => server.close())
  const pfs = await openPfs({ store })
  t.teardown(() => pfs.close())
  t.equal(pfs.mode, 'remote')
  t.same(pfs.storeConfig.objects, { kind: 'local', path: path.join(store, 'objects') }, 'chunks are read from where the server says')
  t.equal(pfs.storeConfig.version, 'test')
})

t.test('a server URL (and token) from the environment is used', async t => {
  const dir = await tmpDir(t)
  const server = await serve(describing(dir), { listen: { host: '127.0.0.1', port: 0 }, token: 'sesame' })
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${server.address!.port}`
  const pfs = await withEnv({ PFS_SERVER: url, PFS_TOKEN: 'sesame' }, () => openPfs({ store: dir }))
  t.teardown(() => pfs.close())
  t.equal(pfs.mode, 'remote')
  await withEnv({ PFS_SERVER: url, PFS_TOKEN: 'wrong' }, async () => {
    await t.rejects(openPfs({ store: dir }), { code: 'UNAUTHORIZED' })
  })
})

t.test('a named server that does not answer is an error, not a silent fallback', async t => {
  const dir = await tmpDir(t)
  const server = await serve(describing(dir), { listen: { host: '127.0.0.1', port: 0 }, token: 'x' })
  const { port } = server.address!
  await server.close()
  await t.rejects(openPfs({ store: dir, server: `http://127.0.0.1:${port}`, token: 'x' }),
    { code: 'UNAVAILABLE', message: /is `pfs serve` running\?/ })
})

t.test('without a server the store is opened in-process, even over a stale socket file', async t => {
  const store = await tmpDir(t)
  await fsp.writeFile(socketPath(store), '')
  const pfs = await openPfs({ store })
  t.teardown(() => pfs.close())
  t.equal(pfs.mode, 'embedded')
  t.equal(pfs.storeConfig.objects.kind, 'local')
})

t.test('embeddedOnly ignores a configured server', async t => {
  const store = await tmpDir(t)
  const pfs = await openPfs({ store, server: 'http://127.0.0.1:1', embeddedOnly: true })
  t.teardown(() => pfs.close())
  t.equal(pfs.mode, 'embedded')
})
