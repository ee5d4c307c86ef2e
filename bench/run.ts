/**
 * `make bench`: runs the benchmarks of the issue in one temp folder (under $PFS_BENCH_DIR,
 * else the system temp folder), prints a line per figure, and ends with a markdown table
 * to paste into BENCHMARKS.md. The folder is removed at the end, even on failure.
 *
 *   PFS_BENCH_SCALE=0.1   shrink every size (quick run); default 1 = the issue's sizes
 *   PFS_BENCH_ONLY=put,small,commit   run a subset
 */
import os from 'node:os'
import path from 'node:path'
import { promises as fsp, rmSync } from 'node:fs'
import { benchPut } from './put-vs-restic.js'
import { benchSmallFiles } from './small-files.js'
import { benchCommitScaling } from './commit-scaling.js'
import { resticVersion } from './peers.js'
import { type Ctx, type Row, SCALE, timed } from './measure.js'
import { benchMount } from './mount.js'
import { benchPipelines } from './pipelines.js'

const BENCHES: Record<string, (ctx: Ctx) => Promise<Row[]>> = {
  put: benchPut,
  small: benchSmallFiles,
  commit: benchCommitScaling,
  mount: benchMount,
  pipelines: benchPipelines
}

async function main (): Promise<void> {
  const only = (process.env.PFS_BENCH_ONLY ?? '').split(',').filter(s => s !== '')
  for (const name of only) {
    if (BENCHES[name] === undefined) {
      throw new Error(`unknown benchmark '${name}' in PFS_BENCH_ONLY (know: ${Object.keys(BENCHES).join(', ')})`)
    }
  }
  const base = process.env.PFS_BENCH_DIR ?? os.tmpdir()
  await fsp.mkdir(base, { recursive: true })
  const root = await fsp.mkdtemp(path.join(base, 'pfs-bench-'))
  process.once('SIGINT', () => {
    rmSync(root, { recursive: true, force: true })
    process.exit(130)
  })
  const machine = await describeMachine()
  const load0 = loadNow()
  console.log(`pfs benchmarks, scale ${SCALE}, in ${root}\n${machine}`)
  const rows: Row[] = []
  const total = await timed(async () => {
    try {
      for (const [name, bench] of Object.entries(BENCHES)) {
        if (only.length > 0 && !only.includes(name)) continue
        const dir = path.join(root, name)
        await fsp.mkdir(dir)
        try {
          rows.push(...await bench({ dir }))
        } finally {
          await fsp.rm(dir, { recursive: true, force: true })
        }
      }
    } finally {
      await fsp.rm(root, { recursive: true, force: true })
    }
  })
  console.log(`\n${table(rows, `${machine}, load average ${load0} at start, ${loadNow()} at end`, total.ms)}`)
}

async function describeMachine (): Promise<string> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const mem = (os.totalmem() / 2 ** 30).toFixed(1)
  const cores = os.availableParallelism()
  const restic = await resticVersion()
  const system = `${os.platform()} ${os.release()}`
  return `Machine: ${cores} cores (${cpu}), ${mem} GiB RAM, Node ${process.version}, ${restic}, ${system}`
}

/** 1-minute load average: other work on the machine skews every figure. */
const loadNow = (): string => os.loadavg()[0].toFixed(1)

function table (rows: Row[], machine: string, ms: number): string {
  const date = new Date().toISOString().slice(0, 10)
  const lines = [
    `${machine}. Date: ${date}. Scale: ${SCALE}. Whole run: ${(ms / 60000).toFixed(1)} min.`,
    '',
    '| Benchmark | pfs | peer | ratio | goal | met |',
    '|---|---|---|---|---|---|'
  ]
  for (const r of rows) {
    const met = r.met === null ? '—' : r.met ? 'yes' : '**no**'
    lines.push(`| ${r.name} | ${r.pfs} | ${r.peer} | ${r.ratio} | ${r.goal} | ${met} |`)
  }
  return lines.join('\n')
}

main().catch(e => {
  console.error(e)
  process.exitCode = 1
})
