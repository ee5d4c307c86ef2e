/**
 * Garbage collection: deletes objects no commit (finished or open) reaches.
 * Safe while puts run: it holds the engine lock, so no index change interleaves; chunks
 * a writer was told exist (`missing` pins them) are kept for an hour; objects a writer
 * has uploaded but not yet registered are not in the index, and unindexed objects are
 * only removed once they are older than ORPHAN_AGE. `missing` calls wait while gc sweeps
 * (and gc lets those under way finish first), so a chunk is never promised to a writer
 * and deleted. Packs that are partly garbage are rewritten (new pack durable -> journal
 * -> index batch); the old pack is retired, not deleted, until RETIRE_GRACE has passed,
 * so a read planned before the repack still finds its bytes.
 */
import type { Engine } from './engine.js'
import type { GcReport, Progress } from './meta.js'
import { type ObjRec, type BatchOp, k, range, writeBatch } from './index-db.js'
import { markReachable, throttle } from './reachable.js'
import { PackWriter } from './pack.js'
import { packOps } from './node-store.js'
import { PIN_MS } from './engine-writes.js'
import { journal } from './journal.js'

export const ORPHAN_AGE = 24 * 60 * 60 * 1000
export const RETIRE_GRACE = 15 * 60 * 1000

export async function collectGarbage (e: Engine, opts: { dryRun?: boolean, onProgress?: (p: Progress) => void }): Promise<GcReport> {
  return await e.lock.run(async () => {
    const dryRun = opts.dryRun === true
    const report: GcReport = { deletedObjects: 0, freedBytes: 0, repackedPacks: 0, keptObjects: 0, dryRun }
    const live = (await markReachable(e, opts.onProgress)).objects
    let open!: () => void
    e.sweepGate = new Promise<void>(resolve => { open = resolve })
    try {
      await Promise.allSettled([...e.missingCalls])
      return await sweep(e, live, dryRun, report, opts.onProgress)
    } finally {
      e.sweepGate = null
      open()
    }
  })
}

async function sweep (e: Engine, live: Map<string, string>, dryRun: boolean, report: GcReport, onProgress?: (p: Progress) => void): Promise<GcReport> {
  const now = Date.now()
  for (const [id, t] of e.pins) if (now - t > PIN_MS) e.pins.delete(id)
  const byKey = new Map<string, Array<{ id: string, rec: ObjRec, live: boolean }>>()
  for await (const [key, rec] of range<ObjRec>(e.db, 'o')) {
    const id = key.slice(2)
    const keep = live.has(id) || e.pins.has(id)
    const list = byKey.get(rec[0]) ?? []
    list.push({ id, rec, live: keep })
    byKey.set(rec[0], list)
  }
  const retired = await deleteRetired(e, now, dryRun)
  const tick = throttle(onProgress)
  let done = 0
  for (const [key, entries] of byKey) {
    tick({ phase: 'sweep', done: done++, total: byKey.size })
    const dead = entries.filter(x => !x.live)
    report.keptObjects += entries.length - dead.length
    if (dead.length === 0) continue
    report.deletedObjects += dead.length
    report.freedBytes += dead.reduce((a, x) => a + x.rec[2], 0)
    if (dryRun) continue
    if (dead.length === entries.length) {
      const ops: BatchOp[] = dead.map(x => ({ type: 'del', key: k('o', x.id) }))
      if (key.startsWith('packs/')) ops.push({ type: 'del', key: k('pk', key) })
      await writeBatch(e.db, ops)
      await e.objects.delete(key)
    } else {
      await repack(e, key, entries.filter(x => x.live), dead)
      report.repackedPacks++
    }
  }
  report.deletedObjects += await removeOrphans(e, new Set([...byKey.keys(), ...retired]), dryRun, report)
  if (!dryRun) await e.objects.removeStaleTemp?.(ORPHAN_AGE)
  e.nodes.clearCache()
  return report
}

/** Deletes packs retired more than RETIRE_GRACE ago; returns the ones still in grace. */
async function deleteRetired (e: Engine, now: number, dryRun: boolean): Promise<string[]> {
  const keep: string[] = []
  for await (const [key, rec] of range<{ since: number }>(e.db, 'rt')) {
    const pack = key.slice(3)
    if (now - rec.since < RETIRE_GRACE || dryRun) { keep.push(pack); continue }
    await e.objects.delete(pack)
    await writeBatch(e.db, [{ type: 'del', key }])
  }
  return keep
}

async function repack (e: Engine, key: string, keep: Array<{ id: string, rec: ObjRec }>, dead: Array<{ id: string }>): Promise<void> {
  const whole = await e.objects.get(key)
  const w = new PackWriter(e.objects)
  for (const x of keep) w.add(x.id, x.rec[3] as 'chunk', whole.subarray(x.rec[1], x.rec[1] + x.rec[2]))
  const written = await w.flush()
  const since = e.clock()
  const ops: BatchOp[] = [...packOps(written), { type: 'del', key: k('pk', key) }, { type: 'put', key: k('rt', key), value: { since } }]
  for (const x of dead) ops.push({ type: 'del', key: k('o', x.id) })
  await journal(e.objects, { op: 'pack-retired', time: since, key })
  await writeBatch(e.db, ops)
}

/** Objects in the store that the index does not know, left by crashed writers. */
async function removeOrphans (e: Engine, indexed: Set<string>, dryRun: boolean, report: GcReport): Promise<number> {
  let n = 0
  for (const prefix of ['packs/', 'chunks/']) {
    for await (const key of e.objects.list(prefix)) {
      if (indexed.has(key)) continue
      const st = await e.objects.stat(key)
      if (st === undefined || Date.now() - st.mtimeMs < ORPHAN_AGE) continue
      n++
      report.freedBytes += st.size
      if (!dryRun) await e.objects.delete(key)
    }
  }
  return n
}
