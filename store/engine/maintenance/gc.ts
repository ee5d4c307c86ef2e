/**
 * Garbage collection: deletes objects no commit (finished or open) reaches.
 * Runs under the engine lock, so no index change interleaves. It is safe while writers
 * upload: store/api/pins.ts has the protocol (pinned chunks, the sweep gate, the age
 * below which an object the index does not know is left alone). Packs that are partly
 * garbage are rewritten (new pack durable -> journal -> index batch); the old pack is
 * retired, not deleted, until RETIRE_GRACE has passed, so a read planned before the
 * repack still finds its bytes.
 */
import type { GcReport } from '../../api/meta.js'
import { type ProgressOptions, throttle } from '../../api/progress.js'
import { ORPHAN_MS, STAGE_MS } from '../../api/pins.js'
import { PackWriter } from '../../format/pack.js'
import { type ObjRec, type BatchOp, type StageRec, k, range, writeBatch } from '../index-db.js'
import { packOps } from '../node-store.js'
import { journal } from '../journal.js'
import type { Core } from '../core.js'
import { markReachable } from './reachable.js'

const RETIRE_GRACE = 15 * 60 * 1000

type Gc = Pick<Core, 'db' | 'objects' | 'nodes' | 'pins' | 'clock'>
interface Indexed { id: string, rec: ObjRec, live: boolean }

/** The caller holds the engine lock. */
export async function collectGarbage (core: Gc, opts: { dryRun?: boolean } & ProgressOptions): Promise<GcReport> {
  const dryRun = opts.dryRun === true
  const report: GcReport = { deletedObjects: 0, freedBytes: 0, repackedPacks: 0, keptObjects: 0, dryRun }
  const now = core.clock()
  const alive = (rec: StageRec): boolean => now - rec.touched < STAGE_MS
  const live = (await markReachable(core, { onProgress: opts.onProgress, keepStage: alive })).objects
  if (!dryRun) await dropStaleStages(core, alive)
  await core.pins.sweep(async isPinned => { await sweep(core, id => live.has(id) || isPinned(id), report, opts) })
  core.nodes.clearCache()
  return report
}

async function sweep (
  core: Gc, keep: (id: string) => boolean, report: GcReport, opts: { dryRun?: boolean } & ProgressOptions
): Promise<void> {
  const dryRun = opts.dryRun === true
  const now = core.clock()
  const byKey = new Map<string, Indexed[]>()
  for await (const [key, rec] of range<ObjRec>(core.db, 'o')) {
    const id = key.slice(2)
    const list = byKey.get(rec[0]) ?? []
    list.push({ id, rec, live: keep(id) })
    byKey.set(rec[0], list)
  }
  const retired = await deleteRetired(core, now, dryRun)
  const tick = throttle(opts.onProgress)
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
      await writeBatch(core.db, ops)
      await core.objects.delete(key)
    } else {
      await repack(core, key, entries.filter(x => x.live), dead)
      report.repackedPacks++
    }
  }
  tick({ phase: 'sweep', done, total: byKey.size }, true)
  report.deletedObjects += await removeOrphans(core, new Set([...byKey.keys(), ...retired]), now, dryRun, report)
  if (!dryRun) await core.objects.removeStaleTemp?.(ORPHAN_MS)
}

/** Stages of folder puts that died (none of their batches for STAGE_MS): store/api/pins.ts. */
async function dropStaleStages (core: Gc, alive: (rec: StageRec) => boolean): Promise<void> {
  const ops: BatchOp[] = []
  for await (const [key, rec] of range<StageRec>(core.db, 'stg')) {
    if (!alive(rec)) ops.push({ type: 'del', key })
  }
  if (ops.length > 0) await writeBatch(core.db, ops)
}

/** Deletes packs retired more than RETIRE_GRACE ago; returns the ones still in grace. */
async function deleteRetired (core: Gc, now: number, dryRun: boolean): Promise<string[]> {
  const keep: string[] = []
  for await (const [key, rec] of range<{ since: number }>(core.db, 'rt')) {
    const pack = key.slice(3)
    if (now - rec.since < RETIRE_GRACE || dryRun) { keep.push(pack); continue }
    await core.objects.delete(pack)
    await writeBatch(core.db, [{ type: 'del', key }])
  }
  return keep
}

async function repack (core: Gc, key: string, keep: Indexed[], dead: Indexed[]): Promise<void> {
  const whole = await core.objects.get(key)
  const w = new PackWriter(core.objects)
  for (const x of keep) w.add(x.id, x.rec[3] as 'chunk', whole.subarray(x.rec[1], x.rec[1] + x.rec[2]))
  const written = await w.flush()
  const since = core.clock()
  const ops: BatchOp[] = [
    ...packOps(written),
    { type: 'del', key: k('pk', key) },
    { type: 'put', key: k('rt', key), value: { since } }
  ]
  for (const x of dead) ops.push({ type: 'del', key: k('o', x.id) })
  await journal(core.objects, { op: 'pack-retired', time: since, key })
  await writeBatch(core.db, ops)
}

/** Objects in the store that the index does not know, left by crashed writers. */
async function removeOrphans (
  core: Gc, indexed: Set<string>, now: number, dryRun: boolean, report: GcReport
): Promise<number> {
  let n = 0
  for (const prefix of ['packs/', 'chunks/']) {
    for await (const key of core.objects.list(prefix)) {
      if (indexed.has(key)) continue
      const st = await core.objects.stat(key)
      if (st === undefined || now - st.mtimeMs < ORPHAN_MS) continue
      n++
      report.freedBytes += st.size
      if (!dryRun) await core.objects.delete(key)
    }
  }
  return n
}
