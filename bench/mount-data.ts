/**
 * Data for the mount benchmark: random files on plain disk, a store holding the read
 * file and a folder of many entries, the same folder on plain disk, and the small-file
 * writer every target runs.
 */
import { promises as fsp, createReadStream } from 'node:fs'
import path from 'node:path'
import { randomFillSync } from 'node:crypto'
import { openPfs, type WriteOp } from '../store/index.js'
import { run } from './peers.js'
import { MiB } from './measure.js'

/** Writes `size` random bytes (a reused buffer refilled: ~3 GB/s, disk-bound). */
export async function randomFile (file: string, size: number): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true })
  const buf = Buffer.alloc(16 * MiB)
  const fh = await fsp.open(file, 'w')
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(buf.length, size - done)
      randomFillSync(buf, 0, n)
      await fh.write(buf, 0, n)
      done += n
    }
  } finally {
    await fh.close()
  }
}

export interface Seeded {
  /** The finished commit holding `big` and `many/`. */
  commit: string
}

/**
 * A store with repo `data`, branch `master`, one commit: `big` (a copy of `bigLocal`)
 * and `many/` with `count` entries that all share one small chunk, made by metadata ops
 * in batches (no data written per entry).
 */
export async function seedStore (store: string, bigLocal: string, big: string, count: number): Promise<Seeded> {
  const pfs = await openPfs({ store, embeddedOnly: true })
  try {
    await pfs.createRepo('data')
    await pfs.startCommit('data', 'master', { message: 'benchmark data' })
    await pfs.putLocal('data', 'master', big, bigLocal)
    await pfs.putFile('data', 'master', 'seed', Buffer.alloc(100, 'x'))
    const plan = await pfs.readPlan('data', 'master', 'seed')
    const chunks = plan.chunks.map(c => [c.id, c.size] as [string, number])
    const mtime = Date.now()
    await pfs.apply('data', 'master', [{ op: 'mkdir', path: 'many' }], { keepOpen: true })
    for (let i = 0; i < count; i += 10_000) {
      const ops: WriteOp[] = []
      for (let j = i; j < Math.min(count, i + 10_000); j++) {
        ops.push({ op: 'put', path: `many/${entryName(j)}`, chunks, mode: 0o644, mtime })
      }
      await pfs.apply('data', 'master', ops, { keepOpen: true })
    }
    return { commit: (await pfs.finishCommit('data', 'master', { message: 'benchmark data' })).id }
  } finally {
    await pfs.close()
  }
}

const entryName = (i: number): string => `f${String(i).padStart(6, '0')}`

/** Writes `count` files of `size` random bytes into `dir` (created), one process. */
const WRITER = `
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d, exist_ok=True)
for i in range(n):
    with open(os.path.join(d, 'f%06d' % i), 'wb') as f:
        f.write(os.urandom(size))
`

let python: string | undefined

/** The real python3 binary (not a pyenv shim, whose start-up would be timed too). */
async function pythonBin (): Promise<string> {
  python ??= (await run('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim()
  return python
}

/** Runs the small-file writer; resolves to its wall time in ms. */
export async function writeSmallFiles (dir: string, count: number, size: number): Promise<number> {
  return (await run(await pythonBin(), ['-c', WRITER, dir, String(count), String(size)])).ms
}

/** `count` files of 100 bytes in `dir` on plain disk, named as in the store's `many/`. */
export async function plainMany (dir: string, count: number): Promise<void> {
  await writeSmallFiles(dir, count, 100)
}

/**
 * The store alone, no FUSE: `putFile` of a local file read in `piece`-byte pieces (as
 * FUSE hands writes over), into a session that is then aborted. Resolves to wall ms.
 */
export async function storeAlonePut (store: string, file: string, piece: number): Promise<number> {
  const pfs = await openPfs({ store, embeddedOnly: true })
  try {
    const t0 = performance.now()
    const pieces = createReadStream(file, { highWaterMark: piece })
    await pfs.putFile('data', 'master', 'store-alone', pieces, { keepOpen: true })
    const ms = performance.now() - t0
    await pfs.abortCommit('data', 'master')
    return ms
  } finally {
    await pfs.close()
  }
}
