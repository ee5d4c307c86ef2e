/**
 * A client of the server is not trusted. Whatever it sends, a finished commit keeps its
 * bytes: a known chunk keeps its location, a new one must be an object that is really in
 * the store where the client says, and modes and times must be ones pfs can store. What
 * the server refuses reaches the client as a one-line PfsError and is no bug in the
 * server's log. A server that stops answering is given up on, not waited for forever.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { META_METHODS, type MetaApi, type NewObject, type ReadPlan, type WriteOp } from '../store/api/meta.js'
import type { Pfs } from '../store/api/pfs.js'
import { PfsError } from '../store/api/errors.js'
import { openEngine } from '../store/engine/engine.js'
import { createPfs } from '../store/client/pfs-impl.js'
import { LocalObjectStore } from '../store/objects/local.js'
import { chunkKey, packKey } from '../store/format/pack.js'
import { RemoteMeta } from '../store/rpc/remote-meta.js'
import { startServer, tmpDir } from './helpers/servers.js'
import { randomData } from './helpers/stores.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const hex64 = (): string => randomBytes(32).toString('hex')
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

interface Story {
  pfs: Pfs
  client: RemoteMeta
  objects: LocalObjectStore
  /** The server's log: it must stay empty, since nothing here is a server bug. */
  logged: string[]
  /** The first finished commit: a big file (a standalone chunk) and a small one (packed). */
  commit: string
  big: Buffer
  small: Buffer
}

/** A store behind a TCP server, with one finished commit written by an honest remote client. */
async function story (t: Test): Promise<Story> {
  const dir = await tmpDir(t)
  const engine = await openEngine(path.join(dir, 'store'))
  t.teardown(() => engine.close())
  const logged: string[] = []
  const client = await startServer(t, engine, { tcp: true, log: m => logged.push(m) })
  const cfg = await client.config()
  if (cfg.objects.kind !== 'local') throw new Error('test stores are local')
  const objects = new LocalObjectStore(cfg.objects.path)
  const pfs = createPfs(client, objects, cfg, 'remote')
  await pfs.createRepo('r')
  const big = randomData(700_000, 1)
  const small = Buffer.from('a small file, stored in a pack\n')
  await pfs.startCommit('r', 'master')
  await pfs.putFile('r', 'master', 'big.bin', big)
  await pfs.putFile('r', 'master', 'small.txt', small)
  const commit = (await pfs.finishCommit('r', 'master')).id
  return { pfs, client, objects, logged, commit, big, small }
}

/** The call fails with a one-line PfsError of that code whose message matches. */
async function refused (t: Test, what: string, call: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const e = await call.then(() => undefined, (err: unknown) => err)
  if (!(e instanceof PfsError)) {
    t.fail(`${what}: refused with a PfsError, got ${String(e)}`)
    return
  }
  t.equal(e.code, code, `${what}: ${code}`)
  t.match(e.message, message, `${what}: says why (${e.message})`)
  t.notMatch(e.message, /\n/, `${what}: one line`)
}

/** The first commit reads as it was written, chunk locations included. */
async function unchanged (t: Test, s: Story, plans: ReadPlan[]): Promise<void> {
  t.ok((await s.pfs.readAll('r', s.commit, 'big.bin')).equals(s.big), 'the big file of the finished commit')
  t.ok((await s.pfs.readAll('r', s.commit, 'small.txt')).equals(s.small), 'the small file of the finished commit')
  t.same(await plansOf(s), plans, 'its chunks are where they were')
  t.same((await s.client.fsck()).problems, [], 'fsck finds nothing wrong')
  t.same(s.logged, [], 'the server logged no bug (no INTERNAL, no stack)')
}

const plansOf = async (s: Story): Promise<ReadPlan[]> =>
  await Promise.all([s.client.readPlan('r', s.commit, 'big.bin'), s.client.readPlan('r', s.commit, 'small.txt')])

t.test('re-registering a chunk of a finished commit at other bytes changes nothing', async t => {
  const s = await story(t)
  const plans = await plansOf(s)
  const [bigPlan, smallPlan] = plans
  const bigChunk = bigPlan.chunks[0]
  const smallChunk = smallPlan.chunks[0]
  t.equal(bigChunk.loc.key, chunkKey(bigChunk.id), 'the big file is a standalone chunk')
  t.match(smallChunk.loc.key, /^packs\//, 'the small file is packed')
  // A location that exists and is well formed: the engine used to take it, and the big
  // file of the finished commit then read the small file's bytes.
  const moved: NewObject[] = [{ id: bigChunk.id, loc: smallChunk.loc }]
  const other = await s.client.modify('r', 'master', [], { objects: moved })
  t.equal(other.finished, true, 'the call itself is harmless: an empty commit')
  t.same((await s.client.readPlan('r', other.commit.id, 'big.bin')).chunks, bigPlan.chunks,
    'the new commit reads the same chunks')
  await s.client.stage('r', [], { objects: moved })
  // The small chunk's id at the big chunk's object is not even a location pfs writes.
  const swapped = [{ id: smallChunk.id, loc: { key: bigChunk.loc.key, offset: 0, length: smallChunk.size } }]
  await refused(t, 'a chunk id under another chunk\'s key', s.client.modify('r', 'master', [], { objects: swapped }),
    'INVALID_ARGUMENT', /chunks\/<id\[0:2\]>\/<id>/)
  await unchanged(t, s, plans)
})

t.test('registrations of objects that are not where the client says are refused', async t => {
  const s = await story(t)
  const plans = await plansOf(s)
  const head = (await s.client.inspectBranch('r', 'master')).head
  const smallLoc = (await s.client.readPlan('r', s.commit, 'small.txt')).chunks[0].loc
  const register = (...objects: unknown[]): Promise<unknown> =>
    s.client.modify('r', 'master', [], { objects: objects as NewObject[] })
  const at = (id: string, key: string, offset: number, length: number): NewObject =>
    ({ id, loc: { key, offset, length } })

  const absent = hex64()
  const bytes = randomData(300_000, 2)
  const id = sha256(bytes)
  await s.objects.put(chunkKey(id), bytes)
  const junk = randomBytes(100)
  const junkKey = packKey(sha256(junk))
  await s.objects.put(junkKey, junk)
  const folderId = hex64()
  await fsp.mkdir(path.join(s.objects.root, chunkKey(folderId)), { recursive: true })
  const cases: Array<[string, NewObject, string, RegExp]> = [
    ['a chunk never written', at(absent, chunkKey(absent), 0, 10), 'CONFLICT', /not in the store.*retry the put/],
    ['a pack never written', at(absent, packKey(hex64()), 0, 10), 'CONFLICT', /not in the store/],
    ['a chunk longer than its object', at(id, chunkKey(id), 0, bytes.length + 1), 'CONFLICT', /not written completely/],
    ['a chunk shorter than its object', at(id, chunkKey(id), 0, bytes.length - 1), 'INVALID_ARGUMENT',
      /holds 300000 bytes, not the 299999 registered/],
    ['a standalone chunk from an offset', at(id, chunkKey(id), 1, 10), 'INVALID_ARGUMENT', /offset 0/],
    ["a chunk under another chunk's key", at(absent, chunkKey(id), 0, bytes.length), 'INVALID_ARGUMENT',
      /chunks\/<id\[0:2\]>\/<id>/],
    ['a range of a pack its trailer does not list', at(absent, smallLoc.key, smallLoc.offset, 1), 'INVALID_ARGUMENT',
      /has no chunk .* where its trailer puts them/],
    ['a range past the end of a pack', at(absent, smallLoc.key, 1e9, 1), 'CONFLICT', /not written completely/],
    ['an object that is no pack', at(absent, junkKey, 0, 10), 'INVALID_ARGUMENT', /is not a pack pfs can read/],
    ["a folder at a chunk's key", at(folderId, chunkKey(folderId), 0, 1), 'CONFLICT', /not in the store/],
    ['the folder above chunks', at(absent, `chunks/${absent.slice(0, 2)}`, 0, 1), 'INVALID_ARGUMENT', /bad object/]
  ]
  for (const key of ['../../etc/passwd', '/etc/passwd', `chunks/../../${absent}`, 'packs/ab/../../config.json',
    `chunks/${absent.slice(0, 2)}/../${absent.slice(0, 2)}/${absent}`, 'journal/000000000000001-00000000', '']) {
    cases.push([`the key ${JSON.stringify(key)}`, at(absent, key, 0, 1), 'INVALID_ARGUMENT', /bad object registration/])
  }
  for (const [what, obj, code, message] of cases) await refused(t, what, register(obj), code, message)
  for (const bad of [null, 'x', { id: 'xyz', loc: smallLoc }, { id: absent }, at(absent, smallLoc.key, 0, -1),
    at(absent, smallLoc.key, 0.5, 1), { id: absent, loc: { ...smallLoc, key: 7 } }]) {
    await refused(t, `the registration ${JSON.stringify(bad)}`, register(bad), 'INVALID_ARGUMENT', /bad object/)
  }
  await refused(t, 'objects that are no list', s.client.modify('r', 'master', [], { objects: 'all' as never }),
    'INVALID_ARGUMENT', /objects must be a list/)
  const staged = s.client.stage('r', [], { objects: [at(absent, '/etc/passwd', 0, 1)] })
  await refused(t, 'a stage is checked the same way', staged, 'INVALID_ARGUMENT', /bad object registration/)
  t.equal((await s.client.inspectBranch('r', 'master')).head, head, 'no refused call made a commit')

  const ok = await s.client.modify('r', 'honest', [{ op: 'put', path: 'c.bin', chunks: [[id, bytes.length]] }],
    { objects: [at(id, chunkKey(id), 0, bytes.length)] })
  t.ok((await s.pfs.readAll('r', ok.commit.id, 'c.bin')).equals(bytes), 'the same chunk registered truthfully is taken')
  await unchanged(t, s, plans)
})

t.test('modes and times a client sends must be ones pfs can store', async t => {
  const s = await story(t)
  const plans = await plansOf(s)
  const head = (await s.client.inspectBranch('r', 'master')).head
  const [chunk] = (await s.client.readPlan('r', s.commit, 'small.txt')).chunks
  const put = (extra: Record<string, unknown>): WriteOp =>
    ({ op: 'put', path: 'x', chunks: [[chunk.id, chunk.size]], ...extra }) as WriteOp
  const apply = (ops: WriteOp[]): Promise<unknown> => s.client.modify('r', 'master', ops)

  for (const mode of [0o170777, 0o020644, 0o040644, 0o200000, -1, 1.5, '644', null]) {
    const shown = typeof mode === 'number' && mode > 0 && Number.isInteger(mode) ? mode.toString(8) : String(mode)
    await refused(t, `put with mode ${shown}`, apply([put({ mode })]), 'INVALID_ARGUMENT', /is not a mode pfs can/)
  }
  // NaN and Infinity arrive as null: JSON has neither
  for (const mtime of [Number.NaN, Infinity, 1e300, -1e16, '2020-01-01', null]) {
    await refused(t, `put with mtime ${String(mtime)}`, apply([put({ mtime })]), 'INVALID_ARGUMENT', /is not a time/)
  }
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['mkdir with the mode of a file', () => apply([{ op: 'mkdir', path: 'd', mode: 0o100755 }]), /mode/],
    ['setattr with a mode of no kind', () => apply([{ op: 'setattr', path: 'small.txt', mode: 0o170644 }]), /mode/],
    ['a put with uid -1', () => apply([put({ uid: -1 })]), /uid -1 is not a user or group id/],
    ['a put with a gid of 2^32-1', () => apply([put({ gid: 2 ** 32 - 1 })]), /gid 4294967295 is not a user or group id/],
    ['a setattr with a fractional uid', () => apply([{ op: 'setattr', path: 'small.txt', uid: 1.5 }]), /uid 1.5/],
    ['a setattr with a bad atime', () => apply([{ op: 'setattr', path: 'small.txt', atime: 'x' as never }]), /atime/],
    ['an mtimeNs of a whole ms', () => apply([put({ mtime: 1, mtimeNs: 1e6 })]), /mtimeNs 1000000 is not nanoseconds/],
    ['a mknod of no kind', () => apply([{ op: 'mknod', path: 'n', kind: 'pipe' as never }]), /kind "pipe" is not a special/],
    ['a device with no number', () => apply([{ op: 'mknod', path: 'n', kind: 'chardev' }]), /needs its device number/],
    ['a fifo with a device number', () => apply([{ op: 'mknod', path: 'n', kind: 'fifo', rdev: 1 }]), /has no device/],
    ['a mknod with the mode of a file', () => apply([{ op: 'mknod', path: 'n', kind: 'fifo', mode: 0o100644 }]), /mode/],
    ['setattr with a bad mtime', () => apply([{ op: 'setattr', path: 'small.txt', mtime: 'now' as never }]), /mtime/],
    ['a stage with a bad mode', () => s.client.stage('r', [put({ mode: 0o777777 }) as never]), /mode/],
    ['a symlink with no target', () => apply([{ op: 'symlink', path: 'l', target: 7 as never }]), /link target/],
    ['a copy with no source', () => apply([{ op: 'copy', path: 'c', from: null as never }]), /copy needs 'from'/],
    ['an op that is no object', () => apply(['rm -rf' as never]), /must be an object/],
    ['options that are no object', () => s.client.modify('r', 'master', [], 'fast' as never), /options.* must be an object/]
  ]
  for (const [what, call, message] of cases) await refused(t, what, call(), 'INVALID_ARGUMENT', message)
  t.equal((await s.client.inspectBranch('r', 'master')).head, head, 'no refused call made a commit')

  // What a stat gives (type bits and all) is fine: only the permission bits are kept.
  const when = Date.UTC(1969, 6, 20, 20, 17)
  const ok = await s.client.modify('r', 'attrs', [put({ mode: 0o100640, mtime: when + 0.5 }),
    { op: 'mkdir', path: 'd', mode: 0o040750 }, { op: 'setattr', path: 'd', mode: 0o1777 }])
  const x = await s.client.stat('r', ok.commit.id, 'x')
  t.same([x.mode, x.mtime], [0o640, when + 0.5], 'a file keeps its permission bits and a time before 1970')
  t.equal((await s.client.stat('r', ok.commit.id, 'd')).mode, 0o1777, 'a folder keeps its permission bits')
  const special = await s.client.modify('r', 'attrs', [{ op: 'mknod', path: 'p', kind: 'fifo', mode: 0o010600 },
    { op: 'mknod', path: 'null', kind: 'chardev', rdev: 259, uid: 0, gid: 0 },
    { op: 'setattr', path: 'p', uid: 65534, gid: 65534, atime: when, atimeNs: 7, mtime: when, mtimeNs: 9 }])
  t.match(await s.client.stat('r', special.commit.id, 'p'),
    { kind: 'fifo', mode: 0o600, uid: 65534, gid: 65534, atime: when, mtime: when, mtimeNs: 9, atimeNs: 7 },
    'special files, owners and nanoseconds are kept')
  t.match(await s.client.stat('r', special.commit.id, 'null'), { kind: 'chardev', rdev: 259, uid: 0, gid: 0 })
  await unchanged(t, s, plans)
})

t.test('malformed arguments to any call are refused cleanly, never a server bug', async t => {
  const s = await story(t)
  const plans = await plansOf(s)
  // Wrong types, missing and extra arguments, nulls where options go (JSON has no undefined).
  const malformed: unknown[][] = [
    [], [1], [{}], [null], [[1]], [null, null, null, null], ['r', 5], ['r', {}], ['r', null],
    ['r', 'master', 7], ['r', 'master', null], ['r', 'master', 'x', 'y'], ['r', 'master', [{}]],
    ['r', 'master', [], null], ['r', 'master', '', null], ['r', 'master', 'p', { limit: 'x' }],
    ['r', 'master', '', { limit: -1, cursor: 5 }], ['r', null, 'master'], [{ repo: 5 }],
    ['r', 'master', { limit: {} }], ['r', 'master', { message: 5 }], ['r', [{ op: 'put' }]]
  ]
  // gc and rebuildIndex change the store: their options are checked in the gc and rebuild tests.
  const methods = META_METHODS.filter(m => m !== 'gc' && m !== 'rebuildIndex')
  let internal = 0
  for (const method of methods) {
    for (const args of malformed) {
      await s.client.call(method, args).catch((e: unknown) => {
        if (e instanceof PfsError) return
        internal++
        t.fail(`${method}(${JSON.stringify(args).slice(1, -1)}) failed as a server bug: ${String(e)}`)
      })
    }
  }
  t.equal(internal, 0, `${methods.length * malformed.length} malformed calls: each a PfsError or an answer`)
  await unchanged(t, s, plans)
})

t.test('a server that accepts and never answers is given up on with UNAVAILABLE', async t => {
  const sockets = new Set<net.Socket>()
  const silent = net.createServer(sock => { sockets.add(sock); sock.resume() })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const sock of sockets) sock.destroy()
    silent.close()
  })
  const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`
  const where = url.replace(/\./g, '\\.')
  const says = new RegExp(`^the pfs server at ${where} sent nothing for 0\\.3 s during listRepos.*PFS_TIMEOUT`)
  const timedOut = async (client: RemoteMeta, what: string): Promise<void> => {
    const started = Date.now()
    await refused(t, what, client.listRepos(), 'UNAVAILABLE', says)
    const took = Date.now() - started
    t.ok(took >= 250 && took < 5000, `${what}: gave up after ${took} ms`)
    await client.close()
  }
  await timedOut(new RemoteMeta({ url, token: 'tok', timeoutMs: 300 }), 'with timeoutMs')

  const before = process.env.PFS_TIMEOUT
  t.teardown(() => { if (before === undefined) delete process.env.PFS_TIMEOUT; else process.env.PFS_TIMEOUT = before })
  process.env.PFS_TIMEOUT = '0.3'
  await timedOut(new RemoteMeta({ url, token: 'tok' }), 'with $PFS_TIMEOUT')
  process.env.PFS_TIMEOUT = 'soon'
  t.throws(() => new RemoteMeta({ url }), { code: 'INVALID_ARGUMENT', message: /PFS_TIMEOUT must be a number/ })
})

t.test('a call that runs longer than the timeout is not cut while the server lives', async t => {
  const meta = { async du () { await sleep(4500); return { repos: [], uniqueBytes: 0, storedBytes: 0, objects: 0 } } }
  // The server sends a blank line every 2 s while a call runs: its silence never lasts 3 s.
  const client = await startServer(t, meta as unknown as MetaApi, { tcp: true, timeoutMs: 3000 })
  const started = Date.now()
  const report = await client.du()
  t.same(report.repos, [], 'the long call got its answer')
  t.ok(Date.now() - started >= 4400, 'it ran past the timeout')
})
