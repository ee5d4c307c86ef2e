/**
 * Benchmark 6: pipelines. Each figure beside its floor, measured in the same run:
 * - 1,000 datums of `true` (glob `/*` over 1,000 one-byte files): the job's wall time per
 *   datum, at the default parallelism (the machine's cores). The floor is the sandbox
 *   alone: `bwrap ... true` started the same number of times, as many at once.
 * - One file added to an input of N files, glob `/*`: datums run (must be 1) and the time
 *   from the commit to the finished job, for N = 1,000 and 10,000 (the ratio shows how
 *   planning grows with the input; the goal is ≤ 2 from 10k to 1M).
 * The store is embedded and mounted in this process, as `pfs put` does with no daemon.
 */
import { spawn } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pLimit from 'p-limit'
import { openPfs, type Pfs, type WriteOp } from '../store/index.js'
import { mountPfs } from '../fs/mount.js'
import { LocalBackend, parseSpec, pipelineDef, runQueued } from '../runner/index.js'
import { type Ctx, type Row, fmtMs, fmtRatio, report, scaled, timed } from './measure.js'

const spec = (name: string, repo: string, cmd: string): string =>
  `pipeline: {name: ${name}}\ninput: {pfs: {repo: ${repo}, glob: "/*"}}\ntransform: {cmd: [sh, -c, '${cmd}']}\n`

async function fill (pfs: Pfs, repo: string, n: number): Promise<void> {
  await pfs.createRepo(repo)
  await pfs.putFile(repo, 'master', 'seed', Buffer.from('x'))
  const plan = await pfs.readPlan(repo, 'master', 'seed')
  const chunks = plan.chunks.map(c => [c.id, c.size] as [string, number])
  await pfs.startCommit(repo, 'master')
  for (let i = 0; i < n; i += 10_000) {
    const ops: WriteOp[] = []
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      ops.push({ op: 'put', path: `f${String(j).padStart(7, '0')}`, chunks })
    }
    await pfs.apply(repo, 'master', ops)
  }
  await pfs.apply(repo, 'master', [{ op: 'delete', path: 'seed' }])
  await pfs.finishCommit(repo, 'master')
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

export async function benchPipelines (ctx: Ctx): Promise<Row[]> {
  const n = scaled(1000, 100)
  const sizes = [scaled(1000, 100), scaled(10_000, 1000)]
  console.log(`\n## pipelines: ${n} datums of true; one file added to inputs of ${sizes.join(', ')} files`)
  const store = path.join(ctx.dir, 'store')
  const mnt = path.join(ctx.dir, 'pfs')
  await fsp.mkdir(mnt)
  const pfs = await openPfs({ store, embeddedOnly: true })
  const m = await mountPfs(pfs, mnt, { spoolDir: path.join(ctx.dir, 'spool'), statfsPath: store, log: () => {} })
  const rows: Row[] = []
  try {
    const backend = new LocalBackend({ mount: mnt })
    const cores = os.availableParallelism()
    // Commits made since the mount started must show through it (the CLI does the same).
    const onEvent: Parameters<typeof runQueued>[1]['onEvent'] = e => {
      if (e.kind === 'job' && e.job.state === 'running') for (const i of e.job.inputs) m.fs.invalidate(i.repo)
    }
    const run = async (): Promise<Awaited<ReturnType<typeof runQueued>>> => await runQueued(pfs, { backend, onEvent })

    await fill(pfs, 'many', n)
    await pfs.createPipeline(pipelineDef(parseSpec(spec('trues', 'many', 'true'), 'bench')), {})
    const job = await timed(run)
    const j = job.value[0]!
    if (j.state !== 'success' || j.stats.processed !== n) throw new Error(`the ${n}-datum job did not run: ${j.reason}`)
    const runMs = (j.finished ?? 0) - (j.started ?? 0)
    await fsp.mkdir(path.join(ctx.dir, 'out'))
    const floorMs = await bwrapFloor(backend, path.join(ctx.dir, 'out'), n, cores)
    rows.push(report({
      name: `${n} datums of \`true\` (glob /*), ${cores} at once: wall time per datum`,
      pfs: fmtMs(runMs / n),
      peer: `bwrap alone ${fmtMs(floorMs / n)} per start, ${cores} at once`,
      ratio: fmtRatio(runMs / floorMs),
      goal: '≤ 15 ms',
      met: runMs / n <= 15
    }))

    const times: number[] = []
    for (const size of sizes) {
      const repo = `in${size}`
      await fill(pfs, repo, size)
      await pfs.createPipeline(pipelineDef(parseSpec(spec(`p${size}`, repo, 'cp -r /pfs/*/* /pfs/out/'), 'bench')), {})
      await run()
      const { ms, value } = await timed(async () => {
        await pfs.putFile(repo, 'master', 'new-file', Buffer.from('new'))
        return await run()
      })
      const ran = value[0]?.stats.processed ?? -1
      times.push(ms)
      rows.push(report({
        name: `one file added to a ${size}-file input (glob /*): datums run, commit to job finished`,
        pfs: `${ran} run, ${fmtMs(ms)}`,
        peer: `${value[0]?.stats.skipped ?? 0} reused`,
        ratio: '—',
        goal: '1 datum, ≤ 1 s',
        met: ran === 1 && ms <= 1000
      }))
    }
    rows.push(report({
      name: `one file added: time at ${sizes[1]} files over ${sizes[0]}`,
      pfs: fmtRatio(times[1]! / times[0]!),
      peer: 'planning enumerates every datum today (runner/README.md)',
      ratio: '—',
      goal: '≤ 2 (10k to 1M)',
      met: null
    }))
  } finally {
    await m.unmount()
    await pfs.close()
  }
  return rows
}
