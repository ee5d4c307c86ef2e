// Edge cases of the engine, each a bug found in review or a rule that is easy to break.
import t from 'tap'
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { openEngine } from '../store/engine.js'
import { tmpStore } from './helpers/stores.js'

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
  const e = await openEngine(dir)
  t.teardown(async () => { await e.close(); await fsp.rm(dir, { recursive: true, force: true }) })
  // Two commits whose ids share the first 8 characters.
  const ids = ['abcd1234' + '0'.repeat(24), 'abcd1234' + 'f'.repeat(24)]
  let n = 0
  e.newCommitId = () => ids[n++]
  await e.createRepo('r')
  await e.startCommit('r', 'master'); await e.finishCommit('r', 'master')
  await e.startCommit('r', 'master'); await e.finishCommit('r', 'master')
  await t.rejects(e.resolve('r', 'abcd'), { code: 'AMBIGUOUS', message: /abcd12340000.*abcd1234ffff|give more characters/ })
  await t.rejects(e.resolve('r', 'abcd1234'), { code: 'AMBIGUOUS' })
  t.equal((await e.resolve('r', 'abcd12340')).commit?.id, ids[0])
  t.equal((await e.resolve('r', 'abcd1234f')).commit?.id, ids[1])
  t.equal((await e.resolve('r', `${ids[1]}^`)).commit?.id, ids[0])
  await t.rejects(e.resolve('r', 'abc'), { code: 'NOT_FOUND' }, 'prefixes need 4 characters')
})
