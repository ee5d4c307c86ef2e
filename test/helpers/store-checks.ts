/**
 * Helpers for the reliability tests (crash, gc, fsck, rebuild, lock): a real engine on a
 * temp folder that can be closed and reopened, deterministic data, a byte-level
 * snapshot of every file of every commit, and a raw dump of the LevelDB index.
 */
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import type { Test } from 'tap'
import { Level } from 'level'
import { openEngine, type Engine, type EngineOptions } from '../../store/engine/engine.js'
import { createPfs } from '../../store/client/pfs-impl.js'
import type { Pfs } from '../../store/api/pfs.js'

/** Small chunks, so a few MiB exercise standalone chunks, packs and manifests. */
export const SMALL_CHUNKS = { chunking: { min: 16384, avg: 65536, max: 262144 }, packThreshold: 32768 } as const

/** The same parameters as a store's `config.json`, for stores opened by other processes. */
export const SMALL_CHUNKS_CONFIG = { version: 1, ...SMALL_CHUNKS }

export interface TestStore {
  dir: string
  engine: Engine
  /** A Pfs over the current engine with an empty chunk cache: reads hit the object store. */
  pfs: () => Pfs
  /** Closes the engine (releasing the LevelDB lock) and opens it again. */
  /** Closes and opens the store again, with `extra` engine options (e.g. repairIndex). */
  reopen: (extra?: EngineOptions) => Promise<Engine>
  close: () => Promise<void>
}

/** A short temp folder removed after the test. */
export async function tempDir (t: Test, prefix = 'pfs-rel-'): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix))
  t.teardown(() => fsp.rm(dir, { recursive: true, force: true }))
  return dir
}

export async function testStore (t: Test, opts: EngineOptions = SMALL_CHUNKS): Promise<TestStore> {
  const dir = await tempDir(t, 'pfs-store-')
  const s: TestStore = {
    dir,
    engine: await openEngine(dir, opts),
    pfs: () => createPfs(s.engine, s.engine.objects, s.engine.storeConfig, 'embedded'),
    reopen: async (extra = {}) => {
      await s.engine.close()
      s.engine = await openEngine(dir, { ...opts, ...extra })
      return s.engine
    },
    close: async () => { await s.engine.close() }
  }
  t.teardown(() => s.engine.close())
  return s
}

/** Deterministic pseudo-random bytes (xorshift32): equal seeds give equal content. */
export function bytes (size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size)
  let x = (Math.imul(seed + 1, 2654435761) >>> 0) || 1
  let i = 0
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    buf.writeInt32LE(x | 0, i)
  }
  for (; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; buf[i] = x & 0xff }
  return buf
}

export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Every file of a commit: path -> "size:sha256", read through a fresh reader. */
async function commitFiles (pfs: Pfs, repo: string, rev: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  let after: string | undefined
  do {
    const page = await pfs.walk(repo, rev, '', { after, limit: 1000 })
    for (const f of page.entries) {
      if (f.kind !== 'file') continue
      const data = await pfs.readAll(repo, rev, f.path)
      out[f.path] = `${data.length}:${sha(data)}`
    }
    after = page.next
  } while (after !== undefined)
  return out
}

/** Every file of every commit (finished and open) of every repo, by content. */
export async function snapshot (pfs: Pfs): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>()
  for (const r of await pfs.listRepos()) {
    let after: string | undefined
    do {
      const page = await pfs.listCommits(r.name, { after, limit: 100 })
      for (const c of page.entries) out.set(`${r.name}@${c.id}`, await commitFiles(pfs, r.name, c.id))
      after = page.next
    } while (after !== undefined)
  }
  return out
}

/** Every key and raw value of a store's LevelDB index. The store must be closed. */
export async function dumpIndex (storeDir: string): Promise<Array<[string, string]>> {
  const db = new Level<string, string>(path.join(storeDir, 'index'), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  try {
    const out: Array<[string, string]> = []
    for await (const [k, v] of db.iterator()) out.push([k.replaceAll('\x00', ' | '), v])
    return out
  } finally {
    await db.close()
  }
}

/** Where the index says an object's bytes are. The store must be closed. */
export async function indexedLocation (storeDir: string,
  id: string): Promise<{ key: string, offset: number, length: number }> {
  const db = new Level<string, unknown>(path.join(storeDir, 'index'), { valueEncoding: 'json' })
  await db.open()
  try {
    const rec = await db.get(`o\x00${id}`) as [string, number, number] | undefined
    if (rec === undefined) throw new Error(`object ${id} is not in the index`)
    return { key: rec[0], offset: rec[1], length: rec[2] }
  } finally {
    await db.close()
  }
}

/** Where the index says a commit's object is (the commit's own record names the object). */
export async function commitLocation (storeDir: string,
  commit: string): Promise<{ obj: string, key: string, offset: number, length: number }> {
  const db = new Level<string, unknown>(path.join(storeDir, 'index'), { valueEncoding: 'json' })
  await db.open()
  let obj: string | undefined
  try {
    obj = (await db.get(`c\x00${commit}`) as { obj?: string } | undefined)?.obj
  } finally {
    await db.close()
  }
  if (obj === undefined) throw new Error(`commit ${commit} has no object in the index`)
  return { obj, ...await indexedLocation(storeDir, obj) }
}

/** Object-store keys under a prefix, sorted. */
export async function objectKeys (root: string, prefix: 'chunks' | 'packs' | 'journal'): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    let ents
    try {
      ents = await fsp.readdir(path.join(root, rel), { withFileTypes: true })
    } catch { return }
    for (const e of ents) {
      const r = `${rel}/${e.name}`
      if (e.isDirectory()) await walk(r)
      else if (!e.name.startsWith('.tmp-')) out.push(r)
    }
  }
  await walk(prefix)
  return out.sort()
}
