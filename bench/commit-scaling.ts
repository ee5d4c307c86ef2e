/**
 * Benchmark 4: the cost of committing one changed file must follow what changed, not the
 * repository's size. Three repositories, each in its own store on the same disk:
 *   small  10 folders × 1000 files (10,000)
 *   big    1000 folders × 1000 files (1,000,000)
 *   flat   one folder of 100,000 files
 * built quickly through the API: every file is a `put` op referring to ONE shared small
 * chunk (written once with `putFile`, its ref read back with `readPlan`), applied in
 * batches inside one write session, so no data is written per file.
 * Then `putFile` of one existing file with new content (4 KiB random) — a commit of its
 * own — is timed in each repo, rounds interleaved, median of 11 after 2 warm-up rounds:
 * "warm" in the same process, and "cold" right after reopening the store (as a one-off
 * `pfs put` would run).
 */
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { openPfs, type Pfs, type ChunkRef, type WriteOp } from '../store/index.js'
import { type Ctx, type Row, scaled, timed, median, report, fmtRatio, fmtMs, dirBytes } from './measure.js'

const BATCH = 20_000
/** The brief asks for a median of 5; more rounds cost little and steady it on a busy machine. */
const ROUNDS = 11
const WARM_ROUNDS = 2

interface Shape { name: string, folders: number, perFolder: number }
interface Repo { shape: Shape, store: string, pfs: Pfs, target: string, warm: number[], cold: number[] }

const pad = (n: number, of: number): string => String(n).padStart(String(of - 1).length, '0')
const folderName = (s: Shape, d: number): string => s.folders === 1 ? 'flat' : `d${pad(d, s.folders)}`
const fileName = (s: Shape, f: number): string => `f${pad(f, s.perFolder)}`

export async function benchCommitScaling (ctx: Ctx): Promise<Row[]> {
  const shapes: Shape[] = [
    { name: 'small', folders: scaled(10), perFolder: 1000 },
    { name: 'big', folders: scaled(1000), perFolder: 1000 },
    { name: 'flat', folders: 1, perFolder: scaled(100_000, 1000) }
  ]
  const described = shapes.map(s => `${s.name} ${s.folders * s.perFolder} files`).join(', ')
  console.log(`\n## commit of one changed file: ${described}`)
  const repos: Repo[] = []
  try {
    for (const s of shapes) repos.push(await build(ctx, s))
    for (let round = 0; round < WARM_ROUNDS + ROUNDS; round++) {
      for (const r of repos) {
        const warm = await commitOne(r)
        if (round >= WARM_ROUNDS) r.warm.push(warm)
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of repos) r.cold.push(await commitCold(r))
    }
  } finally {
    for (const r of repos) await r.pfs.close()
  }
  return rows(repos)
}

function rows (repos: Repo[]): Row[] {
  const [small, big, flat] = repos
  const out: Row[] = []
  for (const kind of ['warm', 'cold'] as const) {
    const base = median(small[kind])
    for (const r of [big, flat]) {
      const m = median(r[kind])
      out.push(report({
        name: `commit 1 changed file, ${kind}: ${count(r.shape)} files (${r.shape.name}) vs ${count(small.shape)}`,
        pfs: fmtMs(m),
        peer: `${count(small.shape)} files: ${fmtMs(base)}`,
        ratio: fmtRatio(m / base),
        goal: '≤ 2',
        met: m / base <= 2
      }))
    }
  }
  return out
}

const count = (s: Shape): number => s.folders * s.perFolder

/** A repository of `shape`, every file the same shared chunk, built in one commit. */
async function build (ctx: Ctx, shape: Shape): Promise<Repo> {
  const store = path.join(ctx.dir, shape.name)
  const pfs = await openPfs({ store, embeddedOnly: true })
  await pfs.createRepo('r')
  await pfs.putFile('r', 'master', 'seed', randomBytes(1024))
  const plan = await pfs.readPlan('r', 'master', 'seed')
  const ref: ChunkRef = [plan.chunks[0].id, plan.chunks[0].size]
  // A flat folder is built in one batch: batches into an existing large folder hit a
  // quadratic step in tree.ts editDir (see BENCHMARKS.md).
  const batch = shape.folders === 1 ? Infinity : BATCH
  const t = await timed(async () => {
    let ops: WriteOp[] = []
    for (let d = 0; d < shape.folders; d++) {
      for (let f = 0; f < shape.perFolder; f++) {
        // A distinct mtime per file: otherwise equal folders would share one tree object
        // and the "big" repo would hold one folder's worth of distinct metadata.
        ops.push({
          op: 'put',
          path: `${folderName(shape, d)}/${fileName(shape, f)}`,
          chunks: [ref],
          mtime: d * shape.perFolder + f + 1
        })
        if (ops.length >= batch) { await pfs.apply('r', 'master', ops, { keepOpen: true }); ops = [] }
      }
    }
    if (ops.length > 0) await pfs.apply('r', 'master', ops, { keepOpen: true })
    await pfs.finishCommit('r', 'master', { message: 'build' })
  })
  const n = count(shape)
  const objects = await dirBytes(path.join(store, 'objects'))
  const secs = (t.ms / 1000).toFixed(1)
  const rate = (n / t.ms * 1000).toFixed(0)
  const mib = (objects / 2 ** 20).toFixed(0)
  console.log(`   built ${shape.name}: ${n} files in ${secs} s (${rate} files/s), ${mib} MiB of objects`)
  const mid = Math.floor(shape.folders / 2)
  const target = `${folderName(shape, mid)}/${fileName(shape, Math.floor(shape.perFolder / 2))}`
  return { shape, store, pfs, target, warm: [], cold: [] }
}

/** `putFile` of new content at an existing path, committed: ms. */
async function commitOne (r: Repo): Promise<number> {
  const data = randomBytes(4096)
  const t = await timed(async () => await r.pfs.putFile('r', 'master', r.target, data, { message: 'change one file' }))
  if (!t.value.finished) throw new Error('putFile did not commit')
  return t.ms
}

/** The same after closing and reopening the store: no cached tree nodes. */
async function commitCold (r: Repo): Promise<number> {
  await r.pfs.close()
  r.pfs = await openPfs({ store: r.store, embeddedOnly: true })
  return await commitOne(r)
}
