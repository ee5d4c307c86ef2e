/**
 * Benchmark 3: a folder tree of many 4 KiB random files (100 folders × 1000 at full size)
 * put as one commit with `putLocal`, against `restic backup` of the same folder.
 * Files are written once, synced, and read back once (warm cache) before either runs.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { openPfs } from '../store/index.js'
import { Restic } from './peers.js'
import { type Ctx, type Row, scaled, timed, report, fmtRatio, syncDisk } from './measure.js'

const FILE_SIZE = 4096
const FOLDERS = 100

export async function benchSmallFiles (ctx: Ctx): Promise<Row[]> {
  const count = scaled(100_000, FOLDERS)
  const root = path.join(ctx.dir, 'files')
  console.log(`\n## put of ${count} files of 4 KiB (${FOLDERS} folders) vs restic backup`)
  const gen = await timed(async () => await makeTree(root, count))
  console.log(`   (wrote the tree in ${(gen.ms / 1000).toFixed(1)} s)`)
  await syncDisk()
  await readAll(root)
  await warmUp(ctx, path.join(root, 'd000'))

  const pfs = await openPfs({ store: path.join(ctx.dir, 'pfs'), embeddedOnly: true })
  let pfsMs: number
  try {
    await pfs.createRepo('files')
    pfsMs = (await timed(async () => await pfs.putLocal('files', 'master', '', root))).ms
    const files = (await pfs.stat('files', 'master', '')).size / FILE_SIZE
    if (files !== count) throw new Error(`pfs stored ${files} files, expected ${count}`)
  } finally {
    await pfs.close()
  }
  await syncDisk()
  const restic = new Restic(path.join(ctx.dir, 'restic'))
  await restic.init()
  const resticMs = await restic.backup(['.'], root)

  const pfsRate = count / pfsMs * 1000
  const resticRate = count / resticMs * 1000
  return [report({
    name: `put ${count} files of 4 KiB as one commit (files/s)`,
    pfs: `${pfsRate.toFixed(0)} files/s (${(pfsMs / 1000).toFixed(1)} s)`,
    peer: `restic ${resticRate.toFixed(0)} files/s (${(resticMs / 1000).toFixed(1)} s)`,
    ratio: fmtRatio(pfsRate / resticRate),
    goal: '≥ restic',
    met: pfsRate >= resticRate
  })]
}

/** One folder put and backed up into throwaway stores first: JIT and binaries warm. */
async function warmUp (ctx: Ctx, folder: string): Promise<void> {
  const dir = path.join(ctx.dir, 'warm')
  const pfs = await openPfs({ store: path.join(dir, 'pfs'), embeddedOnly: true })
  try {
    await pfs.createRepo('warm')
    await pfs.putLocal('warm', 'master', '', folder)
  } finally {
    await pfs.close()
  }
  const restic = new Restic(path.join(dir, 'restic'))
  await restic.init()
  await restic.backup([folder])
  await fsp.rm(dir, { recursive: true, force: true })
}

async function makeTree (root: string, count: number): Promise<void> {
  const per = count / FOLDERS
  for (let d = 0; d < FOLDERS; d++) {
    const dir = path.join(root, `d${String(d).padStart(3, '0')}`)
    await fsp.mkdir(dir, { recursive: true })
    const data = randomBytes(per * FILE_SIZE)
    const writes: Array<Promise<void>> = []
    for (let f = 0; f < per; f++) {
      const name = `f${String(f).padStart(4, '0')}`
      writes.push(fsp.writeFile(path.join(dir, name), data.subarray(f * FILE_SIZE, (f + 1) * FILE_SIZE)))
      if (writes.length >= 64) await Promise.all(writes.splice(0))
    }
    await Promise.all(writes)
  }
}

/** Reads every file once: both tools then find data and metadata in the cache. */
async function readAll (root: string): Promise<void> {
  for (const d of await fsp.readdir(root)) {
    const names = await fsp.readdir(path.join(root, d))
    for (let i = 0; i < names.length; i += 64) {
      await Promise.all(names.slice(i, i + 64).map(async n => await fsp.readFile(path.join(root, d, n))))
    }
  }
}
