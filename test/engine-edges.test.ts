// Edge cases of the engine, each a bug found in review or a rule that is easy to break.
import t from 'tap'
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { openEngine } from '../store/engine/engine.js'
import { createPfs } from '../store/client/pfs-impl.js'
import { PfsError } from '../store/api/errors.js'
import { tmpStore } from './helpers/stores.js'
import { testStore, bytes, dumpIndex, snapshot } from './helpers/store-checks.js'

t.test('a failed change on a new branch leaves no branch behind, even after rebuild-index', async t => {
  const pfs = await tmpStore(t)
  await pfs.createRepo('r')
  await t.rejects(pfs.apply('r', 'typo', [{ op: 'delete', path: 'nothing' }]), { code: 'NOT_FOUND' })
  t.same((await pfs.listBranches('r')).map(b => b.name), [])
  await pfs.rebuildIndex()
  t.same((await pfs.listBranches('r')).map(b => b.name), [], 'the journal did not record it either')
})

t.test('a damaged store settings file is an error, never replaced with defaults', async t => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-cfg-'))
  t.teardown(() => fsp.rm(dir, { recursive: true, force: true }))
  const e = await openEngine(dir, { chunking: { min: 1024, avg: 4096, max: 16384 } })
  await e.close()
  const saved = await fsp.readFile(path.join(dir, 'config.json'), 'utf8')
  t.match(JSON.parse(saved), { chunking: { avg: 4096 } }, 'chunking settings are kept with the store')
  await fsp.writeFile(path.join(dir, 'config.json'), '{ not json')
  await t.rejects(openEngine(dir), { code: 'CORRUPT', message: /config\.json/ })
  t.equal(await fsp.readFile(path.join(dir, 'config.json'), 'utf8'), '{ not json', 'left as it was')
})

t.test('malformed chunk references are the caller\'s mistake (INVALID_ARGUMENT), not a crash', async t => {
  const pfs = await tmpStore(t)
  await pfs.createRepo('r')
  for (const chunks of [[['zz', 1]], [[`${'a'.repeat(64)}`, -1]], ['nope'], [null]]) {
    await t.rejects(pfs.apply('r', 'master', [{ op: 'put', path: 'f', chunks: chunks as never }]), { code: 'INVALID_ARGUMENT' })
  }
  await t.rejects(pfs.apply('r', 'master', [{ op: 'put', path: 'f', chunks: [['b'.repeat(64), 10]] }]), { code: 'CONFLICT' }, 'a chunk the store lacks')
})

t.test('an ambiguous commit prefix is refused and names the candidates', async t => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-amb-'))
  // Two commits whose ids share the first 8 characters.
  const ids = ['abcd1234' + '0'.repeat(24), 'abcd1234' + 'f'.repeat(24)]
  let n = 0
  const e = await openEngine(dir, { newCommitId: () => ids[n++] })
  t.teardown(async () => { await e.close(); await fsp.rm(dir, { recursive: true, force: true }) })
  await e.createRepo('r')
  await e.startCommit('r', 'master'); await e.finishCommit('r', 'master')
  await e.startCommit('r', 'master'); await e.finishCommit('r', 'master')
  await t.rejects(e.resolve('r', 'abcd'), { code: 'AMBIGUOUS', message: /abcd12340000.*abcd1234ffff.*give more characters/ })
  await t.rejects(e.resolve('r', 'abcd1234'), { code: 'AMBIGUOUS' })
  t.equal((await e.resolve('r', 'abcd12340')).commit?.id, ids[0])
  t.equal((await e.resolve('r', 'abcd1234f')).commit?.id, ids[1])
  t.equal((await e.resolve('r', `${ids[1]}^`)).commit?.id, ids[0])
  await t.rejects(e.resolve('r', 'abc'), { code: 'NOT_FOUND' }, 'prefixes need 4 characters')
})

t.test('rebuild-index after a repack: retired packs are skipped, the index comes back equal', async t => {
  const s = await testStore(t)
  const pfs = s.pfs()
  await pfs.createRepo('r')
  const local = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-rp-'))
  t.teardown(() => fsp.rm(local, { recursive: true, force: true }))
  for (let i = 0; i < 12; i++) await fsp.writeFile(path.join(local, `f${i}`), bytes(20_000 + i, i))
  await pfs.startCommit('r', 'master')
  await pfs.putLocal('r', 'master', 'set', local) // small files: one shared pack
  await pfs.apply('r', 'master', [{ op: 'delete', path: 'set/f1' }, { op: 'delete', path: 'set/f2' }])
  await pfs.finishCommit('r', 'master')
  const files = await snapshot(pfs)
  t.ok((await s.engine.gc()).repackedPacks > 0, 'something was repacked')
  await s.close()
  const before = await dumpIndex(s.dir)
  await s.reopen()
  await s.engine.rebuildIndex()
  await s.close()
  t.same(await dumpIndex(s.dir), before, 'same index, retired-pack record included')
  await s.reopen()
  t.same(await snapshot(s.pfs()), files, 'every file of every commit reads the same')
  t.same((await s.engine.fsck()).problems, [])
})

t.test('a folder put that fails leaves nothing behind: no session, no branch, no stage', async t => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-abort-'))
  const engine = await openEngine(dir)
  t.teardown(async () => { await engine.close(); await fsp.rm(dir, { recursive: true, force: true }) })
  await engine.createRepo('r')
  // The metadata API takes the folder's first batches, then refuses the last (a server going away).
  const meta = Object.create(engine) as typeof engine
  meta.modify = async () => { throw new PfsError('UNAVAILABLE', 'lost the connection to the pfs server') }
  const pfs = createPfs(meta, engine.objects, engine.storeConfig, 'embedded')
  const local = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-abort-src-'))
  t.teardown(() => fsp.rm(local, { recursive: true, force: true }))
  for (let i = 0; i < 2500; i++) await fsp.writeFile(path.join(local, `f${i}`), `file ${i}`)
  const e = await pfs.putLocal('r', 'master', 'data', local).catch((x: unknown) => x) as PfsError
  t.ok(e instanceof PfsError, 'a PfsError, not a bug')
  t.match(e.message, /lost the connection/)
  t.same(await engine.listBranches('r'), [], 'no branch was made')
  t.same((await engine.du()).uniqueBytes, 0, 'no stage holds anything')
})
