/**
 * fsck: re-reads and re-hashes every reachable object. Objects are read a whole pack or
 * standalone chunk at a time (not one range at a time), so a store of many small files
 * is checked at disk speed. Journal files are parsed as a rebuild would. Reports every
 * problem; changes nothing.
 */
import type { FsckReport } from '../../api/meta.js'
import { type ProgressOptions, throttle } from '../../api/progress.js'
import { PfsError, isPfsError } from '../../api/errors.js'
import { readPackIndex } from '../../format/pack.js'
import { sha256 } from '../../format/codec.js'
import { type ObjRec, k, getMany } from '../index-db.js'
import type { Core } from '../core.js'
import { markReachable } from './reachable.js'
import { readJournal } from '../journal.js'

export async function checkStore (
  e: Pick<Core, 'db' | 'nodes' | 'objects'>, opts: ProgressOptions
): Promise<FsckReport> {
  const reach = await markReachable(e, { onProgress: opts.onProgress })
  const report: FsckReport = {
    objectsChecked: 0,
    bytesChecked: 0,
    commitsChecked: reach.commits,
    problems: [...reach.problems]
  }
  const ids = [...reach.objects.keys()]
  const recs = await getMany<ObjRec>(e.db, ids.map(id => k('o', id)))
  const byKey = new Map<string, Array<{ id: string, rec: ObjRec }>>()
  ids.forEach((id, i) => {
    const rec = recs[i]
    if (rec === undefined) {
      const problem = `${reach.objects.get(id) ?? 'object'} ${id.slice(0, 12)} is referenced but not in the index`
      report.problems.push({ key: '', object: id, problem })
      return
    }
    const list = byKey.get(rec[0]) ?? []
    list.push({ id, rec })
    byKey.set(rec[0], list)
  })
  // A journal file a rebuild could not replay is damage too, found before it is needed.
  for (const { key, problem } of (await readJournal(e.objects)).skipped) {
    report.problems.push({ key, problem: `${problem}; \`pfs fsck --rebuild-index\` would skip it` })
  }
  const tick = throttle(opts.onProgress)
  for (const [key, entries] of byKey) {
    let data: Buffer
    try {
      data = await e.objects.get(key)
    } catch (err) {
      const why = err instanceof PfsError && err.code === 'NOT_FOUND'
        ? 'is missing from the object store'
        : `cannot be read: ${(err as Error).message}`
      for (const x of entries) report.problems.push({ key, object: x.id, problem: `object ${key} ${why}` })
      continue
    }
    if (key.startsWith('packs/')) {
      // The trailer is how a rebuild finds the pack's objects; the index does not need it.
      await readPackIndex(e.objects, key).catch((err: unknown) => {
        if (!isPfsError(err, 'CORRUPT')) throw err
        report.problems.push({
          key,
          problem: `${err.message.replace(/; run `pfs fsck`$/, '')}: its objects read through the index, ` +
            'but `pfs fsck --rebuild-index` could not locate them; keep the index'
        })
      })
    }
    for (const { id, rec } of entries) {
      const bytes = data.subarray(rec[1], rec[1] + rec[2])
      report.objectsChecked++
      report.bytesChecked += bytes.length
      if (bytes.length !== rec[2]) {
        report.problems.push({
          key,
          object: id,
          problem: `${rec[3]} ${id.slice(0, 12)} in ${key} is truncated (${bytes.length} of ${rec[2]} bytes)`
        })
      } else if (sha256(bytes) !== id) {
        report.problems.push({
          key,
          object: id,
          problem: `${rec[3]} ${id.slice(0, 12)} in ${key} is corrupt: its bytes no longer hash to its id`
        })
      }
    }
    tick({ phase: 'check', done: report.objectsChecked, total: ids.length, bytes: report.bytesChecked })
  }
  tick({ phase: 'check', done: report.objectsChecked, total: ids.length, bytes: report.bytesChecked }, true)
  return report
}
