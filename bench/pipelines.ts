/**
 * Benchmark 6: pipelines. Each figure beside its floor or peer, measured in the same run:
 * - 1,000 datums of `true` (glob `/*` over 1,000 one-byte files): the job's wall time per
 *   datum, at the default parallelism (the machine's cores). The floor is the sandbox
 *   alone: `bwrap ... true` started the same number of times, as many at once.
 * - One file added to an input of N files (N = 10,000, 100,000, 1,000,000), glob `/*`:
 *   datums run (must be 1) and the time from the commit to the finished job. The job
 *   before it (every datum of the input) runs on an in-process backend that does nothing,
 *   since a million sandboxes would take hours; the measured job runs the real sandbox.
 * - A datum reading a 1 GiB file through its view (`cat > /dev/null`), against the same
 *   command on the same file on plain disk; and a datum writing 10,000 small files to
 *   /pfs/out, from its start to its output committed, against the same program on disk.
 * The store is embedded and mounted in this process, as `pfs put` does with no daemon.
 */
import { execFile, spawn } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pLimit from 'p-limit'
import { openPfs, type JobInfo, type Pfs, type WriteOp } from '../store/index.js'
import { mountPfs } from '../fs/mount.js'
import { LocalBackend, parseSpec, pipelineDef, runQueued } from '../runner/index.js'
import type { Backend } from '../runner/backend.js'
import {
  type Ctx, type Row, GiB, fmtMs, fmtRatio, median, report, scaled, timed, writeRandomFile
} from './measure.js'

/** Rounds of "add one file, run the job" per input size; the median is the figure. */
const ROUNDS = 5

const exec = promisify(execFile)

/** A spec (JSON is YAML) with one pfs input, running `cmd` (a shell line, or argv). */
const spec = (name: string, repo: string, glob: string, cmd: string | string[]): string => JSON.stringify({
  pipeline: { name },
  input: { pfs: { repo, glob } },
  transform: { cmd: typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd }
})

/** A repo of `n` one-byte files, built from one chunk through the API (no data per file). */
async function fill (pfs: Pfs, repo: string, n: number): Promise<void> {
  await pfs.createRepo(repo)
  await pfs.putFile(repo, 'master', 'seed', Buffer.from('x'))
  const plan = await pfs.readPlan(repo, 'master', 'seed')
  const chunks = plan.chunks.map(c => [c.id, c.size] as [string, number])
  await pfs.startCommit(repo, 'master')
  for (let i = 0; i < n; i += 20_000) {
    const ops: WriteOp[] = []
    for (let j = i; j < Math.min(n, i + 20_000); j++) {
      ops.push({ op: 'put', path: `f${String(j).padStart(7, '0')}`, chunks })
    }
    await pfs.apply(repo, 'master', ops)
  }
  await pfs.apply(repo, 'master', [{ op: 'delete', path: 'seed' }])
  await pfs.finishCommit(repo, 'master')
}

/** A backend that runs nothing: every datum succeeds at once, with an empty `/pfs/out`. */
const NOTHING: Backend = {
  name: 'nothing',
  run: async d => await fsp.mkdir(d.outDir).then(() => ({
    exitCode: 0, signal: null, timedOut: false, outOfMemory: false, stopped: false, ms: 0, warnings: []
  }))
}

/** `bwrap` with the sandbox's own arguments, `n` times, `at` at once: the floor a datum cannot beat. */
async function bwrapFloor (backend: LocalBackend, out: string, n: number, at: number): Promise<number> {
  const args = backend.args({
    job: 'j', datum: 'd', cmd: ['true'], stdin: '', env: {}, inputs: [], outDir: out, network: false,
    resources: {}, onLog: () => {}
  })
  const limit = pLimit(at)
  const { ms } = await timed(async () => {
    await Promise.all(Array.from({ length: n }, async () => await limit(async () => {
      await new Promise<void>((resolve, reject) => {
        const p = spawn('bwrap', args, { stdio: 'ignore' })
        p.on('error', reject)
        p.on('exit', code => code === 0 ? resolve() : reject(new Error(`bwrap exited ${String(code)}`)))
      })
    })))
  })
  return ms
}

const check = (j: JobInfo | undefined, what: string): JobInfo => {
  if (j === undefined || j.state !== 'success') throw new Error(`${what} did not succeed: ${j?.reason ?? 'no job'}`)
  return j
}

export async function benchPipelines (ctx: Ctx): Promise<Row[]> {
  const n = scaled(1000, 100)
  const sizes = [scaled(10_000, 1000), scaled(100_000, 1000), scaled(1_000_000, 1000)]
  console.log(`\n## pipelines: ${n} datums of true; one file added to inputs of ${sizes.join(', ')} files; ` +
    'a datum reading 1 GiB and one writing 10,000 files')
  const store = path.join(ctx.dir, 'store')
  const mnt = path.join(ctx.dir, 'pfs')
  await fsp.mkdir(mnt)
  const pfs = await openPfs({ store, embeddedOnly: true })
  const m = await mountPfs(pfs, mnt, { spoolDir: path.join(ctx.dir, 'spool'), statfsPath: store, log: () => {} })
  const rows: Row[] = []
  try {
    const backend = new LocalBackend({ mount: mnt })
    // Commits made since the mount started must show through it (the CLI does the same).
    const onEvent: Parameters<typeof runQueued>[1]['onEvent'] = e => {
      if (e.kind === 'job' && e.job.state === 'running') for (const i of e.job.inputs) m.fs.invalidate(i.repo)
    }
    const run = async (b: Backend = backend): Promise<JobInfo[]> => await runQueued(pfs, { backend: b, onEvent })
    rows.push(await perDatum(ctx, pfs, backend, n, run))
    // Before the million-file input: its index writes go on compacting for a while.
    rows.push(...await bigAndMany(ctx, pfs, mnt, run))
    rows.push(...await oneFileAdded(pfs, sizes, run))
  } finally {
    await m.unmount()
    await pfs.close()
  }
  return rows
}

async function perDatum (
  ctx: Ctx, pfs: Pfs, backend: LocalBackend, n: number, run: () => Promise<JobInfo[]>
): Promise<Row> {
  const cores = os.availableParallelism()
  await fill(pfs, 'many', n)
  await pfs.createPipeline(pipelineDef(parseSpec(spec('trues', 'many', '/*', 'true'), 'bench')), {})
  const j = check((await run())[0], `the ${n}-datum job`)
  if (j.stats.processed !== n) throw new Error(`the ${n}-datum job ran ${j.stats.processed} datums`)
  const runMs = (j.finished ?? 0) - (j.started ?? 0)
  await fsp.mkdir(path.join(ctx.dir, 'out'))
  const floorMs = await bwrapFloor(backend, path.join(ctx.dir, 'out'), n, cores)
  return report({
    name: `${n} datums of \`true\` (glob /*), ${cores} at once: wall time per datum`,
    pfs: fmtMs(runMs / n),
    peer: `bwrap alone ${fmtMs(floorMs / n)} per start, ${cores} at once`,
    ratio: fmtRatio(runMs / floorMs),
    goal: '≤ 15 ms',
    met: runMs / n <= 15
  })
}

async function oneFileAdded (pfs: Pfs, sizes: number[], run: (b?: Backend) => Promise<JobInfo[]>): Promise<Row[]> {
  const rows: Row[] = []
  const times: number[] = []
  for (const size of sizes) {
    const repo = `in${rows.length}-${size}`
    await fill(pfs, repo, size)
    const copy = spec(`p${rows.length}`, repo, '/*', 'cp -r /pfs/*/* /pfs/out/')
    await pfs.createPipeline(pipelineDef(parseSpec(copy, 'bench')), {})
    const base = await timed(async () => check((await run(NOTHING))[0], `the first job over ${size} files`))
    console.log(`  ${size} files: the first job (every datum, nothing run) took ${fmtMs(base.ms)}; ` +
      `heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`)
    const rounds: Array<{ ms: number, j: JobInfo }> = []
    for (let r = 0; r < ROUNDS; r++) {
      const { ms, value } = await timed(async () => {
        await pfs.putFile(repo, 'master', `new-${r}`, Buffer.from(`new ${r}`))
        return await run()
      })
      rounds.push({ ms, j: check(value[0], `the job after one file was added to ${size}`) })
    }
    const ms = median(rounds.map(x => x.ms))
    const ran = rounds.map(x => x.j.stats.processed)
    times.push(ms)
    rows.push(report({
      name: `one file added to a ${size}-file input (glob /*): datums run, commit to job finished, median of ${ROUNDS}`,
      pfs: `${ran.join(', ')} run, ${fmtMs(ms)} (${rounds.map(x => x.ms.toFixed(0)).join(', ')})`,
      peer: `${rounds[0]!.j.stats.skipped} unchanged`,
      ratio: '—',
      goal: '1 datum, ≤ 1 s',
      met: ran.every(x => x === 1) && ms <= 1000
    }))
    await pfs.deletePipeline(`p${rows.length - 1}`)
  }
  rows.push(report({
    name: `one file added: time at ${sizes[2]} files over ${sizes[0]}`,
    pfs: fmtRatio(times[2]! / times[0]!),
    peer: `${sizes[1]} files: ${fmtRatio(times[1]! / times[0]!)}`,
    ratio: '—',
    goal: '≤ 2',
    met: times[2]! / times[0]! <= 2
  }))
  return rows
}

async function bigAndMany (ctx: Ctx, pfs: Pfs, mnt: string, run: () => Promise<JobInfo[]>): Promise<Row[]> {
  const rows: Row[] = []
  const size = scaled(GiB, 1 << 20)
  // Two files of other bytes: one read by the datum, one by `cat` on the mount itself, each
  // the first read of its file (a read again comes from the kernel's page cache).
  await pfs.createRepo('big')
  for (const name of ['big', 'big2']) {
    const local = path.join(ctx.dir, name)
    await writeRandomFile(local, size)
    await pfs.putLocal('big', 'master', name, local)
  }
  const reader = spec('reader', 'big', '/', 'cat /pfs/big/big > /dev/null')
  await pfs.createPipeline(pipelineDef(parseSpec(reader, 'bench')), {})
  const j = check((await run())[0], 'the 1 GiB reader')
  const d = (await pfs.listDatums('reader', { job: j.id })).entries[0]!
  const head = (await pfs.inspectBranch('big', 'master')).head!
  const mount = await timed(async () => await exec('sh', ['-c', `cat ${mnt}/big/.commits/${head}/big2 > /dev/null`]))
  const disk = await timed(async () => await exec('sh', ['-c', `cat ${path.join(ctx.dir, 'big')} > /dev/null`]))
  const rate = (ms: number): string => `${(size / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s`
  rows.push(report({
    name: `a datum reading a ${size / 2 ** 20} MiB file through its view (cat > /dev/null), first read`,
    pfs: rate(d.ms.run),
    peer: `the mount alone ${rate(mount.ms)}; plain disk ${rate(disk.ms)} (page cache warm)`,
    ratio: `${fmtRatio(mount.ms / d.ms.run)} the mount`,
    goal: '—',
    met: null
  }))

  const files = scaled(10_000, 100)
  const py = `for i in range(${files}): open(f"OUT/f{i:05d}", "w").write("x" * 100)`
  await pfs.createRepo('trigger')
  await pfs.putFile('trigger', 'master', 'go', Buffer.from('go'))
  const writer = ['python3', '-c', py.replace('OUT', '/pfs/out')]
  await pfs.createPipeline(pipelineDef(parseSpec(spec('writer', 'trigger', '/', writer), 'bench')), {})
  const w = check((await run())[0], 'the 10,000-file writer')
  const wd = (await pfs.listDatums('writer', { job: w.id })).entries[0]!
  const wrote = wd.ms.run + wd.ms.upload
  const dir = path.join(ctx.dir, 'written')
  await fsp.mkdir(dir)
  const onDisk = await timed(async () => {
    await exec('python3', ['-c', py.replace('OUT', dir)])
    await exec('sync', [dir])
  })
  rows.push(report({
    name: `a datum writing ${files} files of 100 B to /pfs/out, until they are in its output commit`,
    pfs: `${(files / (wrote / 1000)).toFixed(0)} files/s (${fmtMs(wd.ms.run)} running, ${fmtMs(wd.ms.upload)} adding)`,
    peer: `plain disk ${(files / (onDisk.ms / 1000)).toFixed(0)} files/s (with sync)`,
    ratio: fmtRatio(onDisk.ms / wrote),
    goal: '—',
    met: null
  }))
  return rows
}
