/**
 * Marks every object reachable from a commit (finished or open) or a folder put's stage:
 * commit objects, tree nodes, manifests, chunks. Shared subtrees are visited once. Used
 * by gc, fsck and du.
 * A node that cannot be read is reported and skipped, so fsck can list every problem.
 */
import type { FsckProblem } from '../../api/meta.js'
import { type Progress, type Tick, throttle } from '../../api/progress.js'
import { EMPTY_TREE } from '../../format/codec.js'
import { type CommitRec, type StageRec, lastPart, range } from '../index-db.js'
import type { Core } from '../core.js'

type Marking = Pick<Core, 'db' | 'nodes'>

export interface Reachable {
  /** object id -> kind ('chunk' | 'tree' | 'manifest' | 'commit') */
  objects: Map<string, string>
  chunkBytes: number
  commits: number
  problems: FsckProblem[]
}

export interface MarkOptions {
  onProgress?: (p: Progress) => void
  /** Stages are marked only when `keepStage` says so (default: all). */
  keepStage?: (rec: StageRec) => boolean
}

export async function markReachable (e: Marking, opts: MarkOptions = {}): Promise<Reachable> {
  const r: Reachable = { objects: new Map(), chunkBytes: 0, commits: 0, problems: [] }
  const tick = throttle(opts.onProgress)
  for await (const [, rec] of range<CommitRec>(e.db, 'c')) {
    r.commits++
    if (rec.obj !== undefined) r.objects.set(rec.obj, 'commit')
    await markTree(e, rec.root, r, rec.id, tick)
  }
  for await (const [key, rec] of range<StageRec>(e.db, 'stg')) {
    if (opts.keepStage?.(rec) ?? true) await markTree(e, rec.root, r, `stage ${lastPart(key)}`, tick)
  }
  tick({ phase: 'mark', done: r.objects.size }, true)
  return r
}

async function markTree (e: Marking, hash: string, r: Reachable, commit: string, tick: Tick): Promise<void> {
  if (hash === EMPTY_TREE || r.objects.has(hash)) return
  r.objects.set(hash, 'tree')
  tick({ phase: 'mark', done: r.objects.size })
  let node
  try {
    node = await e.nodes.getNode(hash)
  } catch (err) {
    const problem = `tree ${hash.slice(0, 12)} cannot be read: ${(err as Error).message}`
    r.problems.push({ key: '', object: hash, problem, commits: [commit] })
    return
  }
  if (node.t === 'pages') {
    for (const p of node.p) await markTree(e, p[1], r, commit, tick)
    return
  }
  for (const ent of node.e) {
    if (ent.k === 'd') await markTree(e, ent.h, r, commit, tick)
    else if (ent.k === 'f') {
      let chunks = ent.c
      if (chunks === undefined) {
        if (r.objects.has(ent.h)) continue
        r.objects.set(ent.h, 'manifest')
        try {
          chunks = (await e.nodes.getManifest(ent.h)).c
        } catch (err) {
          const problem = `manifest ${ent.h.slice(0, 12)} cannot be read: ${(err as Error).message}`
          r.problems.push({ key: '', object: ent.h, problem, commits: [commit] })
          continue
        }
      }
      for (const [id, size] of chunks) {
        if (r.objects.has(id)) continue
        r.objects.set(id, 'chunk')
        r.chunkBytes += size
      }
    }
  }
}
