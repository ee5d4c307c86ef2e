/**
 * The mount's pieces without a mount, as restic tests its FUSE nodes: what a path names,
 * how views cache what a rev resolves to, and spools, the files open for writing. A real
 * embedded store underneath, no FUSE.
 */
import t from 'tap'
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { Pfs } from '../store/api/pfs.js'
import { parseMountPath } from '../fs/paths.js'
import { Views } from '../fs/views.js'
import { Spools } from '../fs/spools.js'
import { tmpStore, randomData } from './helpers/stores.js'

t.test('a mount path says what it names, and whether it is history', async t => {
  t.same(parseMountPath('/'), { kind: 'root' })
  t.same(parseMountPath('/images'), { kind: 'repo', repo: 'images' })
  t.same(parseMountPath('/images/.commits'), { kind: 'commits', repo: 'images' })
  t.same(parseMountPath('/score/.provenance/master/train'),
    { kind: 'provenance', repo: 'score', rev: 'master', name: 'train', deeper: false }, 'provenance links by name')
  t.same(parseMountPath('/score/.provenance'), { kind: 'provenance', repo: 'score', rev: undefined, name: undefined, deeper: false })
  t.same(parseMountPath('/images/.commits/3f2a9c1e/cats/1.png'),
    { kind: 'view', repo: 'images', rev: '3f2a9c1e', path: 'cats/1.png', history: true }, 'under .commits: always history')
  t.same(parseMountPath('/images/master/cats/'), { kind: 'view', repo: 'images', rev: 'master', path: 'cats', history: false })
  t.same(parseMountPath('/images/master~2'), { kind: 'view', repo: 'images', rev: 'master~2', path: '', history: false },
    'a rev outside .commits is history only once resolved')
  t.same(parseMountPath('//images//master///a'), { kind: 'view', repo: 'images', rev: 'master', path: 'a', history: false })
})

/** A Pfs that counts `resolve` calls, so a test can see what the cache answered. */
function counting (pfs: Pfs): { pfs: Pfs, resolves: () => number } {
  let n = 0
  const spy = Object.create(pfs) as Pfs
  spy.resolve = async (repo, rev) => { n++; return await pfs.resolve(repo, rev) }
  return { pfs: spy, resolves: () => n }
}

t.test('views: a branch resolves for a moment, a finished commit id forever, a tree never goes stale', async t => {
  const store = await tmpStore(t)
  await store.createRepo('r')
  const first = await store.putFile('r', 'master', 'a.txt', Buffer.from('one'))
  const { pfs, resolves } = counting(store)
  const views = new Views(pfs, 60_000)
  const a = await views.resolve('r', 'master')
  await store.putFile('r', 'master', 'a.txt', Buffer.from('two!'))
  t.equal((await views.resolve('r', 'master')).root, a.root, 'within its time, a branch is answered from the cache')
  t.equal(resolves(), 1)
  const generation = views.generation
  views.invalidate('r')
  t.ok(views.generation > generation, 'an invalidation is counted, so a resolution across it can be told')
  const b = await views.resolve('r', 'master')
  t.not(b.root, a.root, 'after an invalidation the branch is resolved again')

  await views.resolve('r', first.commit.id)
  const before = resolves()
  await views.resolve('r', first.commit.id)
  t.equal(resolves(), before, 'a finished commit named by its full id is never asked again')

  t.same(await views.list('r', a.root, ''), ['a.txt'])
  t.equal((await views.stat('r', a.root, 'a.txt'))?.size, 3, 'the old tree still says 3 bytes')
  t.equal((await views.stat('r', b.root, 'a.txt'))?.size, 4, 'the new one 4')
  t.equal(await views.stat('r', b.root, 'nothing'), null, 'a missing path is null')
  t.equal(await views.stat('r', b.root, 'a.txt/below'), null, 'so is a path below a file')

  const short = new Views(store, 10)
  const c = await short.resolve('r', 'master')
  await store.putFile('r', 'master', 'b.txt', Buffer.from('b'))
  await new Promise(resolve => setTimeout(resolve, 30))
  t.not((await short.resolve('r', 'master')).root, c.root, 'past its time, a branch is resolved again')
})

async function spoolDir (t: Parameters<typeof tmpStore>[0]): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-spools-'))
  t.teardown(() => fsp.rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('spools: a writer reads its own writes; the store has the file once it is uploaded', async t => {
  const pfs = await tmpStore(t)
  await pfs.createRepo('r')
  await pfs.startCommit('r', 'master')
  const uploads: string[] = []
  const spools = new Spools(pfs, await spoolDir(t), (repo, branch) => uploads.push(`${repo}@${branch}`))
  const root = (await pfs.resolve('r', 'master')).root
  const s = await spools.open('r', 'master', 'new.txt', { baseRoot: root, size: 0, mode: 0o640, mtime: 0, truncate: true, create: true })
  t.equal(spools.get('r', 'master', 'new.txt'), s)
  t.same(spools.inDir('r', 'master', '').map(x => x.path), ['new.txt'], 'listed in its folder before it reaches the store')
  await spools.write(s, Buffer.from('hello world'), 11, 0)
  await spools.write(s, Buffer.from('HELLO'), 5, 0)
  const buf = Buffer.alloc(32)
  t.equal(buf.subarray(0, await spools.read(s, buf, 32, 0)).toString(), 'HELLO world', 'read-your-writes, overwrites included')
  await t.rejects(pfs.stat('r', 'master', 'new.txt'), { code: 'NOT_FOUND' }, 'nothing in the store before the close')
  await spools.upload(s)
  t.same(uploads, ['r@master'], 'the upload is reported')
  t.equal((await pfs.readAll('r', 'master', 'new.txt')).toString(), 'HELLO world')
  t.equal((await pfs.stat('r', 'master', 'new.txt')).mode, 0o640)
  await spools.release(s)
  t.equal(spools.get('r', 'master', 'new.txt'), undefined, 'the last release drops the spool')
  t.notOk(spools.hasOpen('r', 'master'))
})

t.test('spools: appends stream into the store; a seek back falls back to the whole spool', async t => {
  const pfs = await tmpStore(t)
  await pfs.createRepo('r')
  await pfs.createBranch('r', 'master')
  const spools = new Spools(pfs, await spoolDir(t), () => {})
  const root = (await pfs.resolve('r', 'master')).root
  const data = randomData(3 << 20, 5)
  const s = await spools.open('r', 'master', 'big.bin', { baseRoot: root, size: 0, mode: 0o644, mtime: 0, truncate: true, create: true })
  const piece = 128 << 10
  for (let off = 0; off < data.length; off += piece) {
    await spools.write(s, data.subarray(off, off + piece), Math.min(piece, data.length - off), off)
  }
  t.ok(s.stream, 'sequential writes are streaming')
  await spools.upload(s)
  t.ok((await pfs.readAll('r', 'master', 'big.bin')).equals(data), 'streamed bytes arrive whole')

  const patch = Buffer.from('PATCH')
  await spools.write(s, patch, patch.length, 1000)
  t.equal(s.stream, null, 'a write that is not an append ends streaming')
  await spools.upload(s)
  const want = Buffer.from(data)
  patch.copy(want, 1000)
  t.ok((await pfs.readAll('r', 'master', 'big.bin')).equals(want), 'the spool is uploaded whole instead')
  await spools.release(s)
})

t.test('spools: an existing file is loaded only for a partial change; truncate, rename and unlink follow it', async t => {
  const pfs = await tmpStore(t)
  await pfs.createRepo('r')
  await pfs.putFile('r', 'master', 'd/f.txt', Buffer.from('0123456789'))
  await pfs.startCommit('r', 'master')
  const spools = new Spools(pfs, await spoolDir(t), () => {})
  const root = (await pfs.resolve('r', 'master')).root
  const s = await spools.open('r', 'master', 'd/f.txt', { baseRoot: root, size: 10, mode: 0o644, mtime: 1, truncate: false, create: false })
  t.notOk(s.loaded, 'opening reads nothing')
  const buf = Buffer.alloc(4)
  t.equal(buf.subarray(0, await spools.read(s, buf, 4, 3)).toString(), '3456', 'reads come from the store until a change')
  await spools.write(s, Buffer.from('X'), 1, 9)
  t.ok(s.loaded, 'a partial write loads the old content first')
  await spools.truncate(s, 5)
  t.equal(s.size, 5)
  spools.move('r', 'master', 'd', 'e')
  t.equal(s.path, 'e/f.txt', 'a folder rename moves the open file with it')
  t.equal(spools.get('r', 'master', 'e/f.txt'), s)
  await pfs.apply('r', 'master', [{ op: 'rename', from: 'd', path: 'e' }], { keepOpen: true })
  await spools.upload(s)
  t.equal((await pfs.readAll('r', 'master', 'e/f.txt')).toString(), '01234')
  spools.detach('r', 'master', 'e/f.txt')
  await spools.write(s, Buffer.from('zz'), 2, 0)
  await spools.upload(s)
  t.equal((await pfs.readAll('r', 'master', 'e/f.txt')).toString(), '01234', 'an unlinked file is never uploaded again')
  await spools.release(s)
})
