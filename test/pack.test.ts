import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { LocalObjectStore } from '../store/objects/local.js'
import { PackWriter, readPackIndex, chunkKey, packKey, type ObjectType } from '../store/format/pack.js'
import type { ObjectStore } from '../store/objects/object-store.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const store = (t: Test): LocalObjectStore => new LocalObjectStore(t.testdir())

async function keysOf (s: ObjectStore, prefix: string): Promise<string[]> {
  const keys = []
  for await (const k of s.list(prefix)) keys.push(k)
  return keys
}

t.test('chunk and pack keys fan out by the first two hex digits', async t => {
  t.equal(chunkKey('abcdef'), 'chunks/ab/abcdef')
  t.equal(packKey('0123'), 'packs/01/0123')
})

t.test('a flushed pack holds each object at its location and its index lists them', async t => {
  const s = store(t)
  const pw = new PackWriter(s)
  const objs: Array<[string, ObjectType, Buffer]> = [
    ['chunk', 'chunk', randomBytes(5000)], ['manifest', 'manifest', Buffer.from('[["a",1]]')],
    ['tree', 'tree', Buffer.from('{}')], ['commit', 'commit', randomBytes(300)], ['empty', 'chunk', Buffer.alloc(0)]
  ]
  for (const [, type, data] of objs) pw.add(sha(data), type, data)
  t.equal(pw.pendingCount, objs.length)
  t.equal(pw.pendingBytes, 5000 + 9 + 2 + 300)
  t.ok(pw.has(sha(objs[0][2])))
  const packed = await pw.flush()
  t.equal(pw.pendingCount, 0)
  t.equal(pw.pendingBytes, 0)
  t.notOk(pw.has(sha(objs[0][2])), 'flushed objects are no longer pending')

  const [key] = await keysOf(s, 'packs/')
  t.equal(key, packKey(sha(await s.get(key))), 'the pack key is the hash of its bytes')
  for (const [, type, data] of objs) {
    const p = packed.find(e => e.id === sha(data))
    t.equal(p?.type, type)
    t.ok(p !== undefined && (await s.getRange(p.loc.key, p.loc.offset, p.loc.length)).equals(data), `${type} reads back by range`)
  }
  t.same(await readPackIndex(s, key), packed, 'the index read from the trailer matches')
})

t.test('the same id added twice before a flush is stored once', async t => {
  const s = store(t)
  const pw = new PackWriter(s)
  const data = randomBytes(100)
  pw.add(sha(data), 'chunk', data)
  pw.add(sha(data), 'chunk', data)
  t.equal(pw.pendingCount, 1)
  t.equal(pw.pendingBytes, 100)
  t.equal((await pw.flush()).length, 1)
})

t.test('flushing nothing writes nothing', async t => {
  const s = store(t)
  t.same(await new PackWriter(s).flush(), [])
  t.same(await keysOf(s, ''), [])
})

t.test('objects added during a flush go to the next pack', async t => {
  const s = store(t)
  const pw = new PackWriter(s, { targetSize: 1000 })
  const a = randomBytes(600)
  const b = randomBytes(600)
  pw.add('a', 'chunk', a)
  t.ok(!pw.full)
  pw.add('b', 'chunk', b)
  t.ok(pw.full, 'full at the target size')
  const first = pw.flush()
  const c = randomBytes(10)
  pw.add('c', 'chunk', c)
  pw.add('a', 'chunk', a) // being flushed: not packed again
  t.equal(pw.pendingCount, 1)
  const second = pw.flush()
  t.same((await first).map(p => p.id), ['a', 'b'])
  t.same((await second).map(p => p.id), ['c'])
  t.equal((await keysOf(s, 'packs/')).length, 2)
})

t.test('a failed flush keeps its objects pending for the next one', async t => {
  const s = store(t)
  let fail = true
  const flaky: ObjectStore = Object.assign(Object.create(s) as ObjectStore, {
    put: async (key: string, data: Uint8Array) => {
      if (fail) throw new Error('disk on fire')
      await s.put(key, data)
    }
  })
  const pw = new PackWriter(flaky)
  pw.add('x', 'tree', Buffer.from('x'))
  await t.rejects(pw.flush(), /disk on fire/)
  t.equal(pw.pendingCount, 1)
  fail = false
  t.same((await pw.flush()).map(p => p.id), ['x'])
})

t.test('a damaged pack trailer is CORRUPT, a missing pack NOT_FOUND', async t => {
  const s = store(t)
  const pw = new PackWriter(s)
  pw.add('x', 'chunk', randomBytes(1000))
  const [{ loc: { key } }] = await pw.flush()
  const good = await s.get(key)
  const tlen = good.readUInt32BE(good.length - 8)
  const damaged = (f: (b: Buffer) => Buffer): Buffer => f(Buffer.from(good))
  const cases: Array<[string, Buffer, RegExp]> = [
    ['wrong magic', damaged(b => { b[b.length - 1] = 0x58; return b }), /magic/],
    ['trailer longer than the pack', damaged(b => { b.writeUInt32BE(1e6, b.length - 8); return b }), /does not fit/],
    ['trailer not JSON', damaged(b => { b[b.length - 8 - tlen] = 0x7a; return b }), /not valid JSON/],
    ['too short', Buffer.from('PFSP'), /too short/],
    ['entry past the data', damaged(b => Buffer.concat([b.subarray(0, 10), b.subarray(1000)])), /bad trailer entry/]
  ]
  for (const [what, bytes, msg] of cases) {
    await s.put('packs/zz/bad', bytes)
    await t.rejects(readPackIndex(s, 'packs/zz/bad'), { code: 'CORRUPT', message: msg }, what)
  }
  await s.put('packs/zz/bad', Buffer.concat([Buffer.from('{"v":2,"entries":[]}'), Buffer.from([0, 0, 0, 20]), Buffer.from('PFSP')]))
  await t.rejects(readPackIndex(s, 'packs/zz/bad'), { code: 'CORRUPT', message: /version 1/ }, 'unknown version')
  await t.rejects(readPackIndex(s, 'packs/zz/none'), { code: 'NOT_FOUND' })
})
