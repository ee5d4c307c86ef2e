/**
 * The mount benchmark: the FUSE mount (`pfs mount`, a child process) against plain disk
 * and an `rclone mount` (--vfs-cache-mode off) of a plain folder holding the same data.
 * Every phase starts a fresh pfs mount (so "first ls after mount" and peak RSS are per
 * phase); caches are dropped before every cold run (needs root). A "floor" file system
 * (bench/mount-floor.ts: fuse-native answering at once) splits FUSE cost from pfs cost.
 *
 *   PFS_BENCH_MOUNT=ls,floor,read,write,small,rss   run a subset of the phases
 *   PFS_BENCH_PROFILE=DIR   run each pfs mount under `node --cpu-prof`, keep the profiles
 *                           in DIR/<phase>/ and print the top functions by self time
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { type Ctx, type Row, GiB, MiB, scaled, report, fmtRatio, median } from './measure.js'
import { RcloneMount, FloorMount, dropCaches, sh, rcloneVersion } from './mount-procs.js'
import { randomFile, seedStore, plainMany } from './mount-data.js'
import { type Env, withMount, secs, rate, mibs, gib, ddRead } from './mount-env.js'
import { writes, smallFiles, peakRss } from './mount-writes.js'

const PHASES = ['ls', 'floor', 'read', 'write', 'small', 'rss'] as const
/** Cold reads are repeated, interleaved across targets; the table shows the median. */
const ROUNDS = 3
type Phase = typeof PHASES[number]

export async function benchMount (ctx: Ctx): Promise<Row[]> {
  const phases = selectedPhases()
  const sizes = {
    read: scaled(GiB, MiB),
    entries: scaled(100_000, 100),
    small: scaled(10_000, 100),
    stream: scaled(4 * GiB, MiB)
  }
  console.log(`\n## the mount vs plain disk vs rclone mount (${await rcloneVersion()}); phases ${phases.join(', ')}`)
  const plain = path.join(ctx.dir, 'plain')
  const store = path.join(ctx.dir, 'store')
  const t0 = Date.now()
  await randomFile(path.join(plain, 'big'), sizes.read)
  const seeded = await seedStore(store, path.join(plain, 'big'), 'big', phases.includes('ls') ? sizes.entries : 0)
  if (phases.includes('ls')) await plainMany(path.join(plain, 'many'), sizes.entries)
  console.log(`   (made the data in ${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  const mnt = path.join(ctx.dir, 'mnt')
  const rclone = await RcloneMount.start(plain, path.join(ctx.dir, 'rclone'))
  const cold = await dropCaches()
  if (!cold) console.log('   (cannot drop caches: not root; "cold" runs are warm)')
  await fsp.mkdir(path.join(ctx.dir, 'floor'))
  const env: Env = {
    store, plain, mnt, rclone, sizes, cold,
    branch: path.join(mnt, 'data', 'master'),
    commitDir: path.join(mnt, 'data', '.commits', seeded.commit),
    profile: nonEmpty(process.env.PFS_BENCH_PROFILE)
  }
  const benches: Record<Phase, (env: Env, dir: string) => Promise<Row[]>> = {
    ls: listing, floor, read: reads, write: writes, small: smallFiles, rss: peakRss
  }
  const rows: Row[] = []
  try {
    for (const p of phases) rows.push(...await benches[p](env, ctx.dir))
  } finally {
    await rclone.stop()
  }
  return rows
}

function selectedPhases (): Phase[] {
  const want = (process.env.PFS_BENCH_MOUNT ?? '').split(',').filter(s => s !== '')
  for (const w of want) {
    if (!(PHASES as readonly string[]).includes(w)) {
      throw new Error(`unknown mount phase '${w}' in PFS_BENCH_MOUNT (know: ${PHASES.join(', ')})`)
    }
  }
  return want.length === 0 ? [...PHASES] : PHASES.filter(p => want.includes(p))
}

const nonEmpty = (s: string | undefined): string | undefined => s === undefined || s === '' ? undefined : s

// ---- ls -l of a folder of many entries ----
async function listing (env: Env): Promise<Row[]> {
  const n = env.sizes.entries
  const ls = async (dir: string): Promise<number> => await sh('ls -l "$1" >/dev/null', dir)
  const twice = async (dir: string): Promise<[number, number]> => {
    await dropCaches()
    return [await ls(dir), await ls(dir)]
  }
  const pfs = await withMount(env, 'ls', async () => {
    const t = await twice(path.join(env.branch, 'many'))
    const seen = (await fsp.readdir(path.join(env.branch, 'many'))).length
    if (seen !== n) throw new Error(`the mount lists ${seen} entries in many/, expected ${n}`)
    return t
  })
  const disk = await twice(path.join(env.plain, 'many'))
  const rc = await twice(path.join(env.rclone.dir, 'many'))
  return [0, 1].map(i => report({
    name: `ls -l of a ${n}-entry folder, ${i === 0 ? 'first after mount (cold)' : 'second'}`,
    pfs: secs(pfs[i]),
    peer: `disk ${secs(disk[i])}; rclone ${secs(rc[i])}`,
    ratio: `${fmtRatio(pfs[i] / disk[i])} disk time`,
    goal: '≤ 2 s',
    met: pfs[i] <= 2000
  }))
}

// ---- the fuse-native floor ----
async function floor (env: Env, dir: string): Promise<Row[]> {
  const n = env.sizes.entries
  const size = env.sizes.read
  const m = await FloorMount.start(path.join(dir, 'floor'), n, size)
  let t: { ls: number[], read: number, write: number }
  try {
    await dropCaches()
    const many = path.join(m.dir, 'many')
    const ls = [await sh('ls -l "$1" >/dev/null', many), await sh('ls -l "$1" >/dev/null', many)]
    const read = await ddRead(path.join(m.dir, 'big'), size)
    const sink = path.join(m.dir, 'sink')
    const write = await sh('dd if=/dev/zero of="$1" bs=1M count="$2" 2>/dev/null', sink, String(size / MiB))
    t = { ls, read, write }
  } finally {
    await m.stop()
  }
  return [report({
    name: `fuse-native floor (every call answered at once): ls -l of a ${n}-entry folder, first / second`,
    pfs: `${secs(t.ls[0])} / ${secs(t.ls[1])}`,
    peer: 'no store: FUSE round trips only',
    ratio: '—',
    goal: '—',
    met: null
  }), report({
    name: `fuse-native floor: sequential read / write of ${gib(size)} GiB (dd, 1 MiB blocks)`,
    pfs: `${mibs(rate(size, t.read))} / ${mibs(rate(size, t.write))}`,
    peer: 'no store: FUSE round trips only',
    ratio: '—',
    goal: '—',
    met: null
  })]
}

// ---- sequential reads ----
type Target = 'disk' | 'branch' | 'commit' | 'rclone'

async function reads (env: Env): Promise<Row[]> {
  const size = env.sizes.read
  const files: Record<Target, string> = {
    disk: path.join(env.plain, 'big'),
    branch: path.join(env.branch, 'big'),
    commit: path.join(env.commitDir, 'big'),
    rclone: path.join(env.rclone.dir, 'big')
  }
  const cold: Record<Target, number[]> = { disk: [], branch: [], commit: [], rclone: [] }
  const warm = { disk: 0, branch: 0, commit: 0, rclone: 0 }
  const first = await withMount(env, 'read', async () => {
    await dropCaches()
    const first = rate(size, await ddRead(files.branch, size))
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of Object.keys(files) as Target[]) {
        await dropCaches()
        cold[t].push(rate(size, await ddRead(files[t], size)))
        if (r === ROUNDS - 1) warm[t] = rate(size, await ddRead(files[t], size))
      }
    }
    return first
  })
  const c = {
    disk: median(cold.disk),
    branch: median(cold.branch),
    commit: median(cold.commit),
    rclone: median(cold.rclone)
  }
  const label = `${gib(size)} GiB`
  const rows: Row[] = [report({
    name: `sequential read of ${label} from the branch folder, cold, first read after mount`,
    pfs: mibs(first),
    peer: `disk ${mibs(c.disk)}; rclone ${mibs(c.rclone)} (medians below)`,
    ratio: `${fmtRatio(first / c.disk)} disk, ${fmtRatio(first / c.rclone)} rclone`,
    goal: '—',
    met: null
  })]
  for (const [where, t] of [['branch folder', 'branch'], ['.commits/<id>', 'commit']] as const) {
    rows.push(report({
      name: `sequential read of ${label} from the ${where}, cold, median of ${ROUNDS}`,
      pfs: `${mibs(c[t])} (${cold[t].map(x => x.toFixed(0)).join(', ')})`,
      peer: `disk ${mibs(c.disk)} (${cold.disk.map(x => x.toFixed(0)).join(', ')}); rclone ${mibs(c.rclone)}`,
      ratio: `${fmtRatio(c[t] / c.disk)} disk, ${fmtRatio(c[t] / c.rclone)} rclone`,
      goal: '≥ 0.70× disk, ≥ 2× rclone',
      met: c[t] >= 0.7 * c.disk && c[t] >= 2 * c.rclone
    }))
    rows.push(report({
      name: `sequential read of ${label} from the ${where}, warm`,
      pfs: mibs(warm[t]),
      peer: `disk ${mibs(warm.disk)}; rclone ${mibs(warm.rclone)}`,
      ratio: `${fmtRatio(warm[t] / warm.disk)} disk, ${fmtRatio(warm[t] / warm.rclone)} rclone`,
      goal: '—',
      met: null
    }))
  }
  return rows
}
