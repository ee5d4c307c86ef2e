/**
 * Stores for tests: an embedded `Pfs` on a temp folder, the same over an in-memory object
 * store, or the engine behind a real HTTP server with a remote `Pfs` in front. Closed with
 * the test, even when it fails.
 */
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { Test } from 'tap'
import type { Pfs } from '../../store/api/pfs.js'
import { openEngine, type EngineOptions } from '../../store/engine/engine.js'
import { createPfs } from '../../store/client/pfs-impl.js'
import { LocalObjectStore } from '../../store/objects/local.js'
import { MemoryObjectStore } from '../../store/objects/memory.js'
import { startServer } from './servers.js'

export type StoreKind = 'embedded' | 'memory' | 'remote'

export async function tmpStore (t: Test, kind: StoreKind = 'embedded', opts: EngineOptions = {}): Promise<Pfs & { dir: string }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-store-'))
  const memory = kind === 'memory' ? { objects: new MemoryObjectStore(), objectsConfig: { kind: 'memory' as const } } : {}
  const engine = await openEngine(dir, { ...opts, ...memory })
  let pfs: Pfs
  if (kind !== 'remote') {
    pfs = createPfs(engine, engine.objects, await engine.config(), 'embedded')
  } else {
    const remote = await startServer(t, engine)
    const cfg = await remote.config()
    if (cfg.objects.kind !== 'local') throw new Error('test stores are local')
    pfs = createPfs(remote, new LocalObjectStore(cfg.objects.path), cfg, 'remote')
  }
  t.teardown(async () => {
    if (kind === 'remote') await pfs.close().catch(() => {})
    await engine.close()
    await fsp.rm(dir, { recursive: true, force: true })
  })
  return Object.assign(pfs, { dir })
}

/** Deterministic pseudo-random bytes: one generator for every test. */
export { bytes as randomData } from './store-checks.js'

export async function * pieces (buf: Buffer, size = 65_521): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}
