// fsck re-reads every object a commit reaches and names each one that is damaged or gone.
import t from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { testStore, tempDir, bytes, snapshot, indexedLocation, type TestStore } from './helpers/store-checks.js'

/** A store with a big file (standalone chunks, a manifest) and small ones (packed). */
async function storeWithFiles (t: Parameters<typeof testStore>[0]): Promise<TestStore> {
  const s = await testStore(t)
  const pfs = s.pfs()
  await pfs.createRepo('data')
  await pfs.putFile('data', 'master', 'big.bin', bytes(3_000_000, 1))
  const local = await tempDir(t)
  for (let i = 0; i < 5; i++) await fsp.writeFile(path.join(local, `${i}.txt`), bytes(1000 + i, 10 + i))
  await pfs.putLocal('data', 'master', 'small', local, { message: 'small files, one pack' })
  return s
}

/** Flips one byte of an object file and returns how to flip it back. */
async function flipByte (file: string, at: number): Promise<() => Promise<void>> {
  const fh = await fsp.open(file, 'r+')
  try {
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, at)
    await fh.write(Buffer.from([b[0] ^ 0x5a]), 0, 1, at)
  } finally {
    await fh.close()
  }
  return async () => { await flipByte(file, at) }
}

t.test('a clean store has no problems', async t => {
  const s = await storeWithFiles(t)
  const report = await s.engine.fsck()
  t.same(report.problems, [])
  t.equal(report.commitsChecked, 2)
  t.ok(report.objectsChecked > 50, `${report.objectsChecked} objects checked`)
  t.ok(report.bytesChecked >= 3_000_000, `${report.bytesChecked} bytes checked`)
})

t.test('a flipped byte in a standalone chunk is reported, naming the chunk', async t => {
  const s = await storeWithFiles(t)
  const plan = await s.engine.readPlan('data', 'master', 'big.bin')
  const victim = plan.chunks.find(c => c.loc.key.startsWith('chunks/'))
  if (victim === undefined) throw new Error('no standalone chunk in a 3 MB file')
  const unflip = await flipByte(path.join(s.dir, 'objects', victim.loc.key), Math.floor(victim.size / 2))

  const report = await s.engine.fsck()
  t.equal(report.problems.length, 1, 'one problem')
  t.match(report.problems[0], { key: victim.loc.key, object: victim.id, problem: /corrupt/ })
  t.match(report.problems[0].problem, victim.id.slice(0, 12), 'the message names the chunk')

  await unflip()
  t.same((await s.engine.fsck()).problems, [], 'clean again once the byte is back')
})

t.test('a flipped byte inside a pack is reported for that object only', async t => {
  const s = await storeWithFiles(t)
  const plan = await s.engine.readPlan('data', 'master', 'small/3.txt')
  const victim = plan.chunks[0]
  t.match(victim.loc.key, /^packs\//, 'small files are packed')
  const unflip = await flipByte(path.join(s.dir, 'objects', victim.loc.key), victim.loc.offset + 7)

  const report = await s.engine.fsck()
  t.equal(report.problems.length, 1, 'only the damaged object, not its pack neighbours')
  t.match(report.problems[0], { key: victim.loc.key, object: victim.id, problem: /corrupt/ })
  await t.rejects(s.pfs().readAll('data', 'master', 'small/3.txt'), { code: 'CORRUPT', message: new RegExp(`chunk ${victim.id} in ${victim.loc.key} is damaged`) },
    'a read re-hashes too: the damage is an error naming the object, never wrong bytes')
  t.equal((await s.pfs().readAll('data', 'master', 'small/2.txt')).length, 1002, 'its pack neighbours still read')

  await unflip()
  t.same((await s.engine.fsck()).problems, [])
})

t.test('a damaged folder node is reported with the commits that need it', async t => {
  const s = await storeWithFiles(t)
  const head = await s.engine.inspectCommit('data', 'master')
  await s.close()
  const loc = await indexedLocation(s.dir, head.root)
  await flipByte(path.join(s.dir, 'objects', loc.key), loc.offset + 2)
  await s.reopen()
  const report = await s.engine.fsck()
  const about = report.problems.filter(p => p.object === head.root)
  t.ok(about.length >= 1, 'the root tree is named')
  t.ok(about.some(p => p.commits?.includes(head.id) === true || p.key === loc.key), 'with its commit or its pack')
})

t.test('a deleted chunk file is reported missing', async t => {
  const s = await storeWithFiles(t)
  const plan = await s.engine.readPlan('data', 'master', 'big.bin')
  const gone = plan.chunks.filter(c => c.loc.key.startsWith('chunks/')).slice(0, 2)
  for (const c of gone) await fsp.rm(path.join(s.dir, 'objects', c.loc.key))

  const report = await s.engine.fsck()
  t.equal(report.problems.length, 2, 'one problem per missing chunk')
  for (const c of gone) {
    t.match(report.problems.find(p => p.object === c.id), { key: c.loc.key, problem: /missing from the object store/ }, `chunk ${c.id.slice(0, 12)} is named`)
  }
})

t.test('a missing pack is reported for every object in it', async t => {
  const s = await storeWithFiles(t)
  const plan = await s.engine.readPlan('data', 'master', 'small/0.txt')
  const pack = plan.chunks[0].loc.key
  await fsp.rm(path.join(s.dir, 'objects', pack))
  const report = await s.engine.fsck()
  t.equal(report.problems.length, 5, 'the five small files were in it')
  t.ok(report.problems.every(p => p.key === pack && /missing/.test(p.problem)), 'each names the pack')
})

// Regression: a change that failed after queueing a new manifest left it in a pack flush
// running in the background; a retry of the same change right away skipped the object as
// "being flushed", so the commit referred to a manifest the index never recorded.
t.test('a failed change retried at once leaves every object indexed', async t => {
  const s = await testStore(t)
  const pfs = s.pfs()
  await pfs.createRepo('data')
  await pfs.putFile('data', 'seed', 'f', bytes(700_000, 3))
  const chunks = (await s.engine.readPlan('data', 'seed', 'f')).chunks.map(c => [c.id, c.size] as [string, number])
  t.ok(chunks.length > 8, 'enough chunks for a manifest object')
  const put = { op: 'put' as const, path: 'again', chunks: [...chunks].reverse(), mtime: 1000 }
  const failing = s.engine.modify('data', 'master', [put, { op: 'rename', from: 'no-such-file', path: 'x' }])
  const retry = s.engine.modify('data', 'master', [put])
  await t.rejects(failing, { code: 'NOT_FOUND' })
  const done = await retry
  t.ok(done.finished)
  t.same((await s.engine.fsck()).problems, [], 'clean while the engine runs')
  await s.reopen()
  t.same((await s.engine.fsck()).problems, [], 'clean after a restart')
  t.equal((await s.pfs().readAll('data', 'master', 'again')).length, 700_000)
  t.equal((await snapshot(s.pfs())).size, 2)
})
