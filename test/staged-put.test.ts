// A folder put too big for one `modify` goes through a stage: the branch gets the whole
// folder at once or nothing, merged over what is there, and a dead put's stage is
// invisible and dropped by gc in time.
import t from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { STAGE_MS } from '../store/api/pins.js'
import { SMALL_CHUNKS, testStore, tempDir } from './helpers/store-checks.js'

/** More files than one batch (2,000), so the put stages. */
const FILES = 2500
const SUB_TIME = Date.UTC(2011, 10, 11)

async function bigFolder (t: Parameters<typeof tempDir>[0]): Promise<string> {
  const local = await tempDir(t, 'pfs-staged-src-')
  await fsp.mkdir(path.join(local, 'sub'))
  for (let i = 0; i < FILES; i++) await fsp.writeFile(path.join(local, i % 2 === 0 ? 'sub' : '', `f${i}`), `file ${i}`)
  await fsp.utimes(path.join(local, 'sub'), SUB_TIME / 1000, SUB_TIME / 1000)
  return local
}

t.test('a staged folder put merges over the branch as one commit', async t => {
  const s = await testStore(t)
  const pfs = s.pfs()
  await pfs.createRepo('r')
  await pfs.putFile('r', 'master', 'data/keep.txt', Buffer.from('kept'))
  await pfs.putFile('r', 'master', 'data/f1', Buffer.from('replaced'))
  const before = (await pfs.log('r', 'master')).length
  const res = await pfs.putLocal('r', 'master', 'data', await bigFolder(t), { message: 'big' })
  t.equal(res.finished, true, 'a commit of its own')
  t.equal((await pfs.log('r', 'master')).length, before + 1, 'one commit for the whole folder')
  t.equal((await pfs.readAll('r', 'master', 'data/keep.txt')).toString(), 'kept', 'what was there stays')
  t.equal((await pfs.readAll('r', 'master', 'data/f1')).toString(), 'file 1', 'a file at the same path is replaced')
  t.equal((await pfs.readAll('r', 'master', 'data/sub/f2498')).toString(), 'file 2498', 'the last batch landed')
  t.equal((await pfs.stat('r', 'master', 'data/sub')).count, FILES / 2)
  t.equal((await pfs.stat('r', 'master', 'data/sub')).mtime, SUB_TIME, 'a new folder keeps its local mtime')
  t.same((await s.engine.fsck()).problems, [])
})

t.test('a merged stage keeps a replaced file\'s owner unless its writer gave owners', async t => {
  const s = await testStore(t)
  const pfs = s.pfs()
  await pfs.createRepo('r')
  const chunk = async (): Promise<Array<[string, number]>> => (await pfs.readPlan('r', 'master', 'f')).chunks.map(c => [c.id, c.size])
  await pfs.putFile('r', 'master', 'f', Buffer.from('old'), { uid: 7, gid: 8, mtime: 5000 })
  const keep = await pfs.stage('r', [{ op: 'put', path: 'f', chunks: await chunk(), mtime: 1000 }])
  await pfs.apply('r', 'master', [{ op: 'merge', stage: keep.stage }])
  t.match(await pfs.stat('r', 'master', 'f'), { uid: 7, gid: 8, mtime: 1000, atime: 5000 },
    'like writing into the file: owner and atime stay')
  t.ok(((await pfs.stat('r', 'master', 'f')).ctime ?? 0) > 5000, 'and the ctime does not go back with the mtime')
  const given = await pfs.stage('r', [{ op: 'put', path: 'f', chunks: await chunk(), uid: null, gid: 9 }])
  await pfs.apply('r', 'master', [{ op: 'merge', stage: given.stage, owners: 'given' }])
  const f = await pfs.stat('r', 'master', 'f')
  t.same([f.uid, f.gid], [undefined, 9], 'owners given (a put by root): none kept')
})

t.test('into an open session, a staged put joins it and the session stays open', async t => {
  const s = await testStore(t)
  const pfs = s.pfs()
  await pfs.createRepo('r')
  await pfs.startCommit('r', 'master')
  const res = await pfs.putLocal('r', 'master', '', await bigFolder(t))
  t.equal(res.finished, false)
  t.equal((await pfs.inspectBranch('r', 'master')).open, res.commit.id)
  t.equal((await pfs.stat('r', 'master', 'sub')).count, FILES / 2)
})

t.test('a stage is invisible, kept by gc while alive, dropped once stale', async t => {
  let now = Date.now()
  const s = await testStore(t, { ...SMALL_CHUNKS, clock: () => ++now })
  const pfs = s.pfs()
  await pfs.createRepo('r')
  const { stage } = await pfs.stage('r', [{ op: 'put', path: 'a', chunks: [] }, { op: 'mkdir', path: 'd' }])
  t.same(await pfs.listBranches('r'), [], 'no branch shows it')
  await t.rejects(pfs.stage('r', [{ op: 'delete', path: 'a' } as never]), { code: 'INVALID_ARGUMENT' }, 'a stage only adds')
  await pfs.gc()
  await pfs.modify('r', 'master', [{ op: 'merge', stage }])
  t.same((await pfs.list('r', 'master', '')).entries.map(e => e.name), ['a', 'd'], 'merged')
  await t.rejects(pfs.modify('r', 'master', [{ op: 'merge', stage }]), { code: 'NOT_FOUND' }, 'a merged stage is gone')

  const second = (await pfs.stage('r', [{ op: 'mkdir', path: 'late' }])).stage
  now += STAGE_MS + 1
  await pfs.gc()
  await t.rejects(pfs.modify('r', 'master', [{ op: 'merge', stage: second }]), { code: 'NOT_FOUND', message: /put again/ },
    'gc dropped the stale stage')
  await pfs.dropStage('r', second) // gone already: not an error
})
