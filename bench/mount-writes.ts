/**
 * The writing phases of the mount benchmark: a sequential write (and the store alone,
 * without FUSE, for comparison), many small files, and peak memory while streaming.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { type Row, MiB, report, fmtRatio, syncDisk, warmCache } from './measure.js'
import { dropCaches, sh, pfsCli } from './mount-procs.js'
import { randomFile, writeSmallFiles, storeAlonePut } from './mount-data.js'
import { type Env, withMount, secs, rate, mibs, gib, ddRead } from './mount-env.js'

// ---- sequential write ----
export async function writes (env: Env, dir: string): Promise<Row[]> {
  const size = env.sizes.read
  const src = path.join(dir, 'write-src')
  const alone = path.join(dir, 'write-alone')
  await randomFile(src, size)
  await randomFile(alone, size) // other bytes: the store must not find them already stored
  await syncDisk()
  await warmCache(src)
  const disk = await sh('cp "$1" "$2" && sync', src, path.join(env.plain, 'copy'))
  await warmCache(alone)
  const storeMs = await storeAlonePut(env.store, alone, 128 << 10)
  const pfs = await withMount(env, 'write', async () => {
    await syncDisk()
    const cp = await sh('cp "$1" "$2"', src, path.join(env.branch, 'copy'))
    const commit = await pfsCli(env.store, 'commit', 'data@master', '-m', 'write benchmark')
    const got = (await fsp.stat(path.join(env.branch, 'copy'))).size
    if (got !== size) throw new Error(`the mount shows ${got} bytes after the write, expected ${size}`)
    return { cp, commit }
  })
  await fsp.rm(src)
  await fsp.rm(alone)
  const pfsRate = rate(size, pfs.cp + pfs.commit)
  const diskRate = rate(size, disk)
  const storeRate = rate(size, storeMs)
  return [report({
    name: `sequential write of ${gib(size)} GiB: cp into the branch folder + pfs commit`,
    pfs: `${mibs(pfsRate)} (cp ${secs(pfs.cp)}, commit ${secs(pfs.commit)})`,
    peer: `disk cp + sync ${mibs(diskRate)}`,
    ratio: fmtRatio(pfsRate / diskRate),
    goal: '≥ 0.50× disk',
    met: pfsRate >= 0.5 * diskRate
  }), report({
    name: `the store alone, no FUSE: putFile of ${gib(size)} GiB other random bytes in 128 KiB pieces`,
    pfs: mibs(storeRate),
    peer: `disk cp + sync ${mibs(diskRate)}`,
    ratio: `${fmtRatio(storeRate / diskRate)} disk; the mount is ${fmtRatio(pfsRate / storeRate)} of this`,
    goal: '—',
    met: null
  })]
}

// ---- many small files ----
export async function smallFiles (env: Env): Promise<Row[]> {
  const n = env.sizes.small
  await syncDisk()
  const disk = await writeSmallFiles(path.join(env.plain, 'small-disk'), n, 1024) + await sh('sync')
  const pfs = await withMount(env, 'small', async () => {
    await syncDisk()
    const w = await writeSmallFiles(path.join(env.branch, 'small'), n, 1024)
    const c = await pfsCli(env.store, 'commit', 'data@master', '-m', 'small files')
    const seen = (await fsp.readdir(path.join(env.branch, 'small'))).length
    if (seen !== n) throw new Error(`the mount shows ${seen} small files after commit, expected ${n}`)
    return { w, c }
  })
  await syncDisk()
  const rc = await writeSmallFiles(path.join(env.rclone.dir, 'small-rclone'), n, 1024) + await sh('sync')
  const fps = (ms: number): number => n / (ms / 1000)
  const pfsFps = fps(pfs.w + pfs.c)
  return [report({
    name: `create ${n} files of 1 KiB (python) + pfs commit`,
    pfs: `${pfsFps.toFixed(0)} files/s (write ${secs(pfs.w)}, commit ${secs(pfs.c)})`,
    peer: `disk + sync ${fps(disk).toFixed(0)} files/s; rclone + sync ${fps(rc).toFixed(0)} files/s`,
    ratio: `${fmtRatio(pfsFps / fps(disk))} disk, ${fmtRatio(pfsFps / fps(rc))} rclone`,
    goal: '—',
    met: null
  })]
}

// ---- peak memory while streaming ----
interface Streamed { start: number, ms: number, peak: number }

export async function peakRss (env: Env, dir: string): Promise<Row[]> {
  const size = env.sizes.stream
  const src = path.join(dir, 'stream-src')
  await randomFile(src, size)
  await syncDisk()
  await warmCache(src)
  const file = path.join(env.branch, 'stream')
  const write = await withMount(env, 'rss-write', async m => {
    const start = await m.peakRss()
    const ms = await sh('cp "$1" "$2"', src, file) + await pfsCli(env.store, 'commit', 'data@master', '-m', 'stream')
    return { start, ms, peak: await m.peakRss() }
  })
  await fsp.rm(src)
  const readWith = async (extra: string[]): Promise<Streamed> =>
    await withMount(env, `rss-read${extra.join('')}`, async m => {
      const start = await m.peakRss()
      await dropCaches()
      const ms = await ddRead(file, size)
      return { start, ms, peak: await m.peakRss() }
    }, extra)
  const read = await readWith([])
  const small = await readWith(['--cache-size', '32M'])
  const mib = (b: number): string => `${(b / MiB).toFixed(0)} MiB`
  const row = (what: string, v: Streamed, goal: boolean): Row => report({
    name: `peak RSS of the mount process, streaming ${gib(size)} GiB: ${what}`,
    pfs: `${mib(v.peak)} VmHWM`,
    peer: `${mib(v.start)} after mount; ${mibs(rate(size, v.ms))}`,
    ratio: '—',
    goal: goal ? '≤ 200 MiB' : '—',
    met: goal ? v.peak <= 200 * MiB : null
  })
  return [
    row('write (cp + commit)', write, true),
    row('read (dd, cold)', read, true),
    row('read (dd, cold) with --cache-size 32M', small, false)
  ]
}
