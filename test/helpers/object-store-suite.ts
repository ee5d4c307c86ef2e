/**
 * The ObjectStore contract as tests, run against every implementation (local folder and
 * memory now, S3 through s3rver next): `objectStoreSuite(t, 'local', async () => new LocalObjectStore(dir))`.
 * `make` is called once per subtest and must return an empty store.
 */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import type { ObjectStore } from '../../store/objects/object-store.js'

async function keysOf (store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const k of store.list(prefix)) keys.push(k)
  return keys.sort()
}

export function objectStoreSuite (t: Test, name: string, make: () => Promise<ObjectStore>): void {
  const withStore = (title: string, fn: (t: Test, s: ObjectStore) => Promise<void>): void => {
    t.test(`${name}: ${title}`, async t => {
      const s = await make()
      try {
        await fn(t, s)
      } finally {
        await s.close()
      }
    })
  }

  withStore('a deferred put is whole and durable once sync resolves, never partial before', async (t, s) => {
    const objs = Array.from({ length: 20 }, (_, i) => ({ key: `chunks/d${i % 4}/obj${i}`, data: randomBytes(50_000 + i) }))
    await Promise.all(objs.map(async o => await s.put(o.key, o.data, { defer: true })))
    for (const o of objs) {
      const seen = await s.stat(o.key)
      t.ok(seen === undefined || seen.size === o.data.length, `${o.key} before sync: absent or whole (${String(seen?.size)} bytes)`)
      const read = await s.get(o.key).catch((e: { code?: string }) => e)
      t.ok(Buffer.isBuffer(read) ? read.equals(o.data) : read.code === 'NOT_FOUND', `${o.key} before sync: NOT_FOUND or every byte`)
    }
    await s.sync?.()
    for (const o of objs) t.ok((await s.get(o.key)).equals(o.data), `${o.key} after sync`)
    const listed: string[] = []
    for await (const k of s.list('chunks/')) listed.push(k)
    t.same(listed.sort(), objs.map(o => o.key).sort(), 'no temp names listed')
    await s.sync?.()
  })

  withStore('sync(keys) makes only those deferred puts durable; another caller\'s stay pending', async (t, s) => {
    if (s.sync === undefined) { t.pass('this store has no deferred puts'); return }
    const a = { key: 'chunks/aa/mine', data: randomBytes(1000) }
    const b = { key: 'chunks/bb/theirs', data: randomBytes(1000) }
    await s.put(a.key, a.data, { defer: true })
    await s.put(b.key, b.data, { defer: true })
    await s.sync([a.key])
    t.ok((await s.get(a.key)).equals(a.data), 'the caller\'s own object is there')
    t.equal(await s.has(b.key), false, 'the other writer\'s object is left to its own sync')
    await s.sync([b.key])
    t.ok((await s.get(b.key)).equals(b.data))
  })

  withStore('two writers of one deferred key: each sync returns with the object in place', async (t, s) => {
    if (s.sync === undefined) { t.pass('this store has no deferred puts'); return }
    const data = randomBytes(200_000)
    await s.put('chunks/ee/same', data, { defer: true })
    await s.put('chunks/ee/same', data, { defer: true })
    const first = s.sync(['chunks/ee/same'])
    await s.sync(['chunks/ee/same'])
    t.ok((await s.get('chunks/ee/same')).equals(data), 'visible once the second writer\'s sync returns')
    await first
    t.same(await keysOf(s, ''), ['chunks/ee/same'])
  })

  withStore('an object put is read back whole and by range', async (t, s) => {
    const data = randomBytes(100_000)
    await s.put('chunks/ab/abc', data)
    t.ok((await s.get('chunks/ab/abc')).equals(data))
    t.ok((await s.getRange('chunks/ab/abc', 0, 10)).equals(data.subarray(0, 10)), 'first bytes')
    t.ok((await s.getRange('chunks/ab/abc', 4321, 5000)).equals(data.subarray(4321, 9321)), 'middle')
    t.ok((await s.getRange('chunks/ab/abc', 99_990, 10)).equals(data.subarray(99_990)), 'last bytes')
    t.equal(await s.has('chunks/ab/abc'), true)
    const st = await s.stat('chunks/ab/abc')
    t.equal(st?.size, data.length)
    t.ok(typeof st?.mtimeMs === 'number' && st.mtimeMs > 0, 'stat has a modification time')
  })

  withStore('an empty object is an object', async (t, s) => {
    await s.put('refs/empty', new Uint8Array(0))
    t.equal((await s.get('refs/empty')).length, 0)
    t.equal(await s.has('refs/empty'), true)
    t.equal((await s.stat('refs/empty'))?.size, 0)
  })

  withStore('a missing key is NOT_FOUND for reads and absent for has/stat', async (t, s) => {
    await t.rejects(s.get('chunks/00/nothing'), { code: 'NOT_FOUND' })
    await t.rejects(s.getRange('chunks/00/nothing', 0, 1), { code: 'NOT_FOUND' })
    t.equal(await s.has('chunks/00/nothing'), false)
    t.equal(await s.stat('chunks/00/nothing'), undefined)
  })

  withStore('the folder above an object is no object', async (t, s) => {
    await s.put('chunks/ab/abc', Buffer.from('bytes'))
    t.equal(await s.stat('chunks/ab'), undefined, 'stat of a folder')
    t.equal(await s.has('chunks'), false, 'has of a folder')
    t.equal(await s.stat('chunks/ab/abc/deeper'), undefined, 'below an object')
  })

  withStore('putting a key again is allowed and leaves one object', async (t, s) => {
    const data = Buffer.from('same bytes')
    await s.put('packs/aa/aa1', data)
    await s.put('packs/aa/aa1', data)
    t.ok((await s.get('packs/aa/aa1')).equals(data))
    t.same(await keysOf(s, ''), ['packs/aa/aa1'])
  })

  withStore('delete removes an object; deleting a missing key is a no-op', async (t, s) => {
    await s.put('chunks/ab/ab1', Buffer.from('x'))
    await s.delete('chunks/ab/ab1')
    t.equal(await s.has('chunks/ab/ab1'), false)
    await t.rejects(s.get('chunks/ab/ab1'), { code: 'NOT_FOUND' })
    await s.delete('chunks/ab/ab1')
    await s.delete('never/was')
    t.same(await keysOf(s, ''), [])
  })

  withStore('list yields exactly the keys under a prefix', async (t, s) => {
    const keys = ['chunks/ab/ab1', 'chunks/ab/ab2', 'chunks/ac/ac1', 'packs/ab/ab9', 'refs/master']
    for (const k of keys) await s.put(k, Buffer.from(k))
    t.same(await keysOf(s, ''), keys, 'everything')
    t.same(await keysOf(s, 'chunks/'), keys.slice(0, 3), 'a folder')
    t.same(await keysOf(s, 'chunks/ab/'), keys.slice(0, 2), 'a sub-folder')
    t.same(await keysOf(s, 'chunks/a'), keys.slice(0, 3), 'a folder plus the start of a name')
    t.same(await keysOf(s, 'chunks/ab/ab2'), ['chunks/ab/ab2'], 'a whole key')
    t.same(await keysOf(s, 'chunk'), keys.slice(0, 3), 'the start of a top-level name')
    t.same(await keysOf(s, 'nothing/'), [], 'no such prefix')
  })

  withStore('concurrent puts leave no temporary objects visible', async (t, s) => {
    const keys = Array.from({ length: 40 }, (_, i) => `chunks/${String(i % 4).padStart(2, '0')}/k${i}`)
    await Promise.all(keys.map(async k => await s.put(k, randomBytes(20_000))))
    t.same(await keysOf(s, ''), keys.slice().sort())
  })

  withStore('concurrent puts of the same key end with that object whole', async (t, s) => {
    const data = randomBytes(300_000)
    await Promise.all(Array.from({ length: 16 }, async () => await s.put('chunks/cc/same', data)))
    t.ok((await s.get('chunks/cc/same')).equals(data))
    t.same(await keysOf(s, ''), ['chunks/cc/same'])
  })
}
