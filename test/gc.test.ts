// gc deletes what no commit or session reaches, keeps everything that one does, and
// loses nothing that a put running at the same time is about to register.
import t from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { ChunkRef } from '../store/api/meta.js'
import { testStore, tempDir, bytes, sha, snapshot, dumpIndex, objectKeys, SMALL_CHUNKS, type TestStore } from './helpers/store-checks.js'
import { monotonicClock } from '../store/engine/clock.js'

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** A local folder of `n` small files (and one medium one), for folder puts. */
async function localFolder (t: Parameters<typeof tempDir>[0], n: number, seed: number): Promise<string> {
  const dir = await tempDir(t)
  await fsp.mkdir(path.join(dir, 'sub'))
  for (let i = 0; i < n; i++) await fsp.writeFile(path.join(dir, i % 3 === 0 ? 'sub' : '', `f${i}.bin`), bytes(200 + (i * 997) % 20_000, seed + i))
  await fsp.writeFile(path.join(dir, 'medium.bin'), bytes(300_000, seed - 1))
  return dir
}

/** A repo with history on two branches and an open session: everything here is live. */
async function liveHistory (t: Parameters<typeof tempDir>[0], s: TestStore): Promise<void> {
  const pfs = s.pfs()
  await pfs.createRepo('keep')
  await pfs.putFile('keep', 'master', 'big.bin', bytes(2_500_000, 1))
  await pfs.putLocal('keep', 'master', 'folder', await localFolder(t, 30, 100))
  await pfs.createBranch('keep', 'dev', { from: 'master~1' })
  await pfs.putFile('keep', 'dev', 'dev-only.bin', bytes(400_000, 2))
  await pfs.apply('keep', 'master', [{ op: 'delete', path: 'big.bin' }], { message: 'older commits still hold it' })
  await pfs.startCommit('keep', 'open')
  await pfs.putFile('keep', 'open', 'in-session.bin', bytes(900_000, 3))
}

async function storedBytes (s: TestStore): Promise<number> {
  return (await s.engine.du()).storedBytes
}

t.test('gc after an abort deletes the session data and keeps every commit', async t => {
  const s = await testStore(t)
  await liveHistory(t, s)
  const pfs = s.pfs()
  const before = await snapshot(s.pfs())
  const bytesBefore = await storedBytes(s)

  await pfs.startCommit('keep', 'master')
  await pfs.putFile('keep', 'master', 'doomed.bin', bytes(3_000_000, 50))
  await pfs.putLocal('keep', 'master', 'doomed', await localFolder(t, 40, 500))
  const doomed = (await s.engine.readPlan('keep', 'master', 'doomed.bin')).chunks
  await pfs.abortCommit('keep', 'master')
  const withDoomed = await storedBytes(s)
  t.ok(withDoomed - bytesBefore > 3_000_000, 'the aborted data is still stored')

  const report = await s.engine.gc()
  t.ok(report.deletedObjects > doomed.length, `${report.deletedObjects} objects deleted`)
  t.ok(report.freedBytes > 3_000_000, `${report.freedBytes} bytes freed`)
  t.equal(report.dryRun, false)
  const after = await storedBytes(s)
  t.ok(withDoomed - after > 3_000_000, 'storedBytes dropped by the aborted data')
  t.ok(after <= bytesBefore, 'and by nothing that was there before')
  const onDisk = new Set(await objectKeys(path.join(s.dir, 'objects'), 'chunks'))
  t.notOk(doomed.some(c => onDisk.has(c.loc.key)), 'the aborted chunks are gone from disk')

  t.same((await s.engine.fsck()).problems, [])
  t.same(await snapshot(s.pfs()), before, 'every file of every commit (and the open session) reads the same')
  await s.reopen()
  t.same(await snapshot(s.pfs()), before, 'also after a restart')
  t.match(await s.engine.gc(), { deletedObjects: 0, repackedPacks: 0 }, 'a second gc finds nothing')
})

t.test('gc after repo delete --force frees its data, but not what another repo shares', async t => {
  const s = await testStore(t)
  await liveHistory(t, s)
  const pfs = s.pfs()
  const shared = bytes(1_200_000, 77)
  await pfs.putFile('keep', 'master', 'shared.bin', shared)
  await pfs.createRepo('temp')
  await pfs.putFile('temp', 'master', 'shared.bin', shared)
  await pfs.putFile('temp', 'master', 'unique.bin', bytes(2_000_000, 78))
  await pfs.putLocal('temp', 'other', 'f', await localFolder(t, 20, 900))
  const before = await snapshot(s.pfs())
  const stored = await storedBytes(s)

  await t.rejects(pfs.deleteRepo('temp'), { code: 'CONFLICT' }, 'a repo with commits needs --force')
  await pfs.deleteRepo('temp', { force: true })
  const report = await s.engine.gc()
  t.ok(report.freedBytes > 2_000_000, `${report.freedBytes} bytes freed`)
  const after = await storedBytes(s)
  t.ok(stored - after > 2_000_000, 'storedBytes dropped by the repo\'s own data')
  t.ok(stored - after < 2_000_000 + 300_000 + 20 * 21_000 + 100_000, 'and by no more than it had')

  t.same((await s.engine.fsck()).problems, [])
  const left = await snapshot(s.pfs())
  for (const [key, files] of before) if (key.startsWith('keep@')) t.same(left.get(key), files, `${key} reads the same`)
  t.equal([...left.keys()].filter(k => k.startsWith('temp@')).length, 0, 'nothing of the deleted repo is listed')
  t.equal(sha(await s.pfs().readAll('keep', 'master', 'shared.bin')), sha(shared), 'the shared file still reads')
})

t.test('a dry run reports what gc would delete and deletes nothing', async t => {
  const s = await testStore(t)
  await liveHistory(t, s)
  const pfs = s.pfs()
  await pfs.startCommit('keep', 'master')
  await pfs.putFile('keep', 'master', 'doomed.bin', bytes(1_000_000, 60))
  await pfs.abortCommit('keep', 'master')
  const objectsDir = path.join(s.dir, 'objects')
  const files = [...await objectKeys(objectsDir, 'chunks'), ...await objectKeys(objectsDir, 'packs')]

  const dry = await s.engine.gc({ dryRun: true })
  t.equal(dry.dryRun, true)
  t.ok(dry.deletedObjects > 0 && dry.freedBytes > 1_000_000, `would delete ${dry.deletedObjects} objects, ${dry.freedBytes} bytes`)
  t.same([...await objectKeys(objectsDir, 'chunks'), ...await objectKeys(objectsDir, 'packs')], files, 'no object file deleted')
  await s.close()
  const index = await dumpIndex(s.dir)
  await s.reopen()
  t.same((await s.engine.gc({ dryRun: true })), dry, 'a second dry run says the same')
  await s.close()
  t.same(await dumpIndex(s.dir), index, 'the index is untouched')

  await s.reopen()
  const real = await s.engine.gc()
  t.match(real, { deletedObjects: dry.deletedObjects, freedBytes: dry.freedBytes, dryRun: false }, 'the real gc does what the dry run said')
})

t.test('a pack that is partly garbage is repacked; its live objects still read', async t => {
  let skew = 0
  const s = await testStore(t, { ...SMALL_CHUNKS, clock: monotonicClock(() => Date.now() + skew) })
  const pfs = s.pfs()
  await pfs.createRepo('r')
  const local = await localFolder(t, 24, 300)
  await pfs.startCommit('r', 'master')
  await pfs.putLocal('r', 'master', 'set', local) // one pack holds every small chunk of the folder
  const goneFiles = ['set/f1.bin', 'set/f2.bin', 'set/sub/f3.bin']
  const gonePlans = await Promise.all(goneFiles.map(async f => await s.engine.readPlan('r', 'master', f)))
  const pack = gonePlans[0].chunks[0].loc.key
  t.match(pack, /^packs\//)
  t.ok(gonePlans.every(p => p.chunks.every(c => c.loc.key === pack)), 'the doomed files share one pack')
  await pfs.apply('r', 'master', goneFiles.map(f => ({ op: 'delete' as const, path: f })))
  await pfs.finishCommit('r', 'master', { message: 'only some of the pack is used' })
  const keptPlan = await s.engine.readPlan('r', 'master', 'set/f4.bin')
  t.equal(keptPlan.chunks[0].loc.key, pack, 'a live file shares that pack')
  const before = await snapshot(s.pfs())

  const report = await s.engine.gc()
  t.ok(report.repackedPacks > 0, `${report.repackedPacks} pack(s) repacked`)
  t.ok(await s.engine.objects.has(pack), 'the old pack is retired, kept for readers planned before the repack')
  await s.close()
  const retired = (await dumpIndex(s.dir)).filter(([k]) => k.startsWith('rt | '))
  t.same(retired.map(([k]) => k), [`rt | ${pack}`], 'and recorded as retired')
  await s.reopen()
  skew = 14 * 60 * 1000
  await s.engine.gc()
  t.ok(await s.engine.objects.has(pack), 'a gc within the grace period keeps it')
  skew = 16 * 60 * 1000
  await s.engine.gc()
  t.notOk(await s.engine.objects.has(pack), 'a gc after the grace period deletes it')
  await s.close()
  t.same((await dumpIndex(s.dir)).filter(([k]) => k.startsWith('rt | ')), [], 'and its record with it')
  await s.reopen()
  const moved = await s.engine.readPlan('r', 'master', 'set/f4.bin')
  t.not(moved.chunks[0].loc.key, pack, 'the live chunk now lives in a new pack')
  t.same(await s.engine.missing(gonePlans.map(p => p.chunks[0].id)), gonePlans.map(p => p.chunks[0].id), 'the dead chunks are gone from the index')
  t.same(await snapshot(s.pfs()), before, 'every file reads the same')
  t.same((await s.engine.fsck()).problems, [])
  await s.reopen()
  t.same(await snapshot(s.pfs()), before, 'also after a restart')
})

/** A stream that hands out `data` in pieces, yielding to the event loop between them. */
async function * slowly (data: Buffer, piece = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += piece) {
    await sleep(1)
    yield data.subarray(i, i + piece)
  }
}

t.test('gc running again and again during puts loses nothing', async t => {
  const s = await testStore(t)
  await liveHistory(t, s)
  const pfs = s.pfs()
  // Garbage for every gc run to sweep while the puts upload.
  await pfs.startCommit('keep', 'master')
  await pfs.putLocal('keep', 'master', 'doomed', await localFolder(t, 30, 700))
  await pfs.abortCommit('keep', 'master')

  const big = bytes(8_000_000, 11)
  const folder = await localFolder(t, 200, 1000)
  let done = false
  const puts = Promise.all([
    pfs.putFile('keep', 'master', 'big-during-gc.bin', slowly(big)),
    pfs.putLocal('keep', 'folders', 'many', folder),
    pfs.putFile('keep', 'open', 'session-during-gc.bin', slowly(bytes(2_000_000, 12)))
  ]).finally(() => { done = true })
  let runs = 0
  let deleted = 0
  while (!done) {
    const r = await s.engine.gc()
    runs++
    deleted += r.deletedObjects
    await sleep(runs % 2 === 0 ? 0 : 15)
  }
  await puts
  t.ok(runs >= 3, `gc ran ${runs} times while the puts were uploading`)
  t.ok(deleted > 0, 'and it did delete the aborted session\'s data meanwhile')
  await s.engine.gc()

  t.same((await s.engine.fsck()).problems, [])
  const fresh = s.pfs()
  t.equal(sha(await fresh.readAll('keep', 'master', 'big-during-gc.bin')), sha(big), 'the big file reads back')
  t.equal(sha(await fresh.readAll('keep', 'open', 'session-during-gc.bin')), sha(bytes(2_000_000, 12)))
  const names = (await fsp.readdir(folder, { recursive: true, withFileTypes: true })).filter(d => d.isFile())
  for (const d of names) {
    const rel = path.relative(folder, path.join(d.parentPath, d.name))
    const want = await fsp.readFile(path.join(folder, rel))
    const got = await fresh.readAll('keep', 'folders', `many/${rel}`)
    if (!got.equals(want)) t.fail(`many/${rel} differs`)
  }
  t.pass(`all ${names.length} files of the folder read back`)
  await s.reopen()
  t.same((await s.engine.fsck()).problems, [], 'clean after a restart')
})

/** Chunks of bytes put in a session that was then aborted: indexed, but garbage. */
async function deadChunks (s: TestStore,
  data: Buffer): Promise<Array<{ id: string, size: number, loc: { key: string } }>> {
  const pfs = s.pfs()
  await pfs.startCommit('keep', 'scratch')
  await pfs.putFile('keep', 'scratch', 'x', data)
  const chunks = (await s.engine.readPlan('keep', 'scratch', 'x')).chunks
  await pfs.abortCommit('keep', 'scratch')
  return chunks
}

t.test('a chunk that missing() called present just before gc is kept for the put that needs it', async t => {
  const s = await testStore(t)
  await liveHistory(t, s)
  const data = bytes(1_500_000, 21)
  const dead = await deadChunks(s, data)
  const ids = dead.map(c => c.id)

  t.same(await s.engine.missing(ids), [], 'the store says it has every chunk')
  const report = await s.engine.gc()
  t.ok(report.keptObjects > 0)
  const refs: ChunkRef[] = dead.map(c => [c.id, c.size])
  const res = await s.engine.modify('keep', 'master', [{ op: 'put', path: 'reused.bin', chunks: refs }], { message: 'no chunk written again' })
  t.ok(res.finished, 'the put that relied on them commits')
  await s.engine.gc()
  t.equal(sha(await s.pfs().readAll('keep', 'master', 'reused.bin')), sha(data))
  t.same((await s.engine.fsck()).problems, [])
})

t.test('a streaming put of aborted content, paused while gc runs, reuses the chunks gc kept', async t => {
  const s = await testStore(t)
  await liveHistory(t, s)
  const data = bytes(4_000_000, 31)
  const dead = await deadChunks(s, data)
  let open!: () => void
  const gate = new Promise<void>(resolve => { open = resolve })
  async function * gated (): AsyncGenerator<Buffer> {
    yield * slowly(data)
    await gate // the writer has asked about its first batches of chunks by now
  }
  const put = s.pfs().putFile('keep', 'master', 'again.bin', gated())
  await sleep(300)
  for (let i = 0; i < 3; i++) await s.engine.gc()
  open()
  await put
  const plan = await s.engine.readPlan('keep', 'master', 'again.bin')
  t.equal(plan.chunks[0].loc.key, dead[0].loc.key, 'the first chunk was not written again: gc kept it')
  t.equal(sha(await s.pfs().readAll('keep', 'master', 'again.bin')), sha(data))
  t.same((await s.engine.fsck()).problems, [])
})

// missing() during the sweep waits for it, so every chunk it calls present is kept: a
// writer that refers to exactly those (and uploads the rest) always commits.
t.test('a chunk that missing() calls present while gc sweeps is kept', async t => {
  const s = await testStore(t)
  await liveHistory(t, s)
  const data = bytes(1_500_000, 41)
  const dead = await deadChunks(s, data)
  let asked: Promise<string[]> | undefined
  let gcDone = false
  let answeredDuringGc: boolean | undefined
  await s.engine.gc({
    onProgress: p => {
      if (p.phase === 'sweep' && asked === undefined) {
        asked = s.engine.missing(dead.map(c => c.id))
        void asked.then(() => { answeredDuringGc = !gcDone })
      }
    }
  })
  gcDone = true
  t.ok(asked !== undefined, 'missing() was called during the sweep')
  const absent = await asked as string[]
  t.equal(answeredDuringGc, false, 'it answered only once the sweep was over')
  t.same(absent.sort(), dead.map(c => c.id).sort(), 'the swept chunks are honestly reported missing')
  const again = await s.engine.missing(dead.map(c => c.id))
  t.same(again.sort(), absent.sort(), 'and stay missing')
  const before = await deadChunks(s, data)
  const present = await s.engine.missing(before.map(c => c.id))
  t.same(present, [], 'a re-upload makes them present again')
  const refs: ChunkRef[] = before.map(c => [c.id, c.size])
  await s.engine.gc()
  await s.engine.modify('keep', 'master', [{ op: 'put', path: 'reused.bin', chunks: refs }])
  t.equal(sha(await s.pfs().readAll('keep', 'master', 'reused.bin')), sha(data), 'promised chunks survive the next gc')
  t.same((await s.engine.fsck()).problems, [], 'the store stays consistent')
})

// A repack retires the old pack instead of deleting it, so a read planned before gc (an
// open file in a mount, a stream being consumed) still finds its bytes.
t.test('a read that started before gc repacked its pack still reads', async t => {
  const s = await testStore(t)
  const pfs = s.pfs()
  await pfs.createRepo('r')
  await pfs.startCommit('r', 'master')
  await pfs.putLocal('r', 'master', 'set', await localFolder(t, 6, 400))
  await pfs.apply('r', 'master', [{ op: 'delete', path: 'set/f1.bin' }])
  await pfs.finishCommit('r', 'master')
  const want = bytes(200 + (2 * 997) % 20_000, 402) // f2.bin of localFolder(t, 6, 400)
  const stream = await s.pfs().readStream('r', 'master', 'set/f2.bin')
  t.ok((await s.engine.gc()).repackedPacks > 0, 'the pack with the file is repacked')
  const got = await (async () => {
    const parts: Buffer[] = []
    for await (const b of stream) parts.push(b as Buffer)
    return Buffer.concat(parts)
  })().then(b => b, (e: Error) => e)
  t.ok(Buffer.isBuffer(got) && got.equals(want), 'the stream finishes with the file\'s bytes')
  t.equal(sha(await s.pfs().readAll('r', 'master', 'set/f2.bin')), sha(want), 'a read planned after gc works')
})
