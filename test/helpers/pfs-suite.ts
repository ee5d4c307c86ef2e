/**
 * The Pfs suite: one user story, run against the embedded store and against the same
 * engine behind `pfs serve` (remote). Both must give the same answers.
 */
import type { Test } from 'tap'
import os from 'node:os'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { tmpStore, randomData, pieces, type StoreKind } from './stores.js'

const MiB = 1 << 20

export function pfsSuite (t: Test, kind: StoreKind): void {
  t.test('files round-trip byte for byte at every size that matters', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('data')
    const sizes = [0, 1, 512 * 1024, 512 * 1024 + 1, 4 * MiB, 8 * MiB, 3 * 4 * MiB + 7]
    for (const [i, size] of sizes.entries()) {
      const data = randomData(size, i + 1)
      await pfs.putFile('data', 'master', `f${size}`, pieces(data, 100_003))
      const back = await pfs.readAll('data', 'master', `f${size}`)
      t.equal(back.length, size, `size ${size}`)
      t.ok(back.equals(data), `bytes of ${size}`)
      const plan = await pfs.readPlan('data', 'master', `f${size}`)
      for (const c of plan.chunks.slice(0, -1)) t.ok(c.size >= 512 * 1024 && c.size <= 4 * MiB, 'chunk within min..max')
    }
    const part = await pfs.readAll('data', 'master', `f${8 * MiB}`, { offset: 4 * MiB - 10, length: 20 })
    t.ok(part.equals(randomData(8 * MiB, 6).subarray(4 * MiB - 10, 4 * MiB + 10)), 'a range across a chunk boundary')
  })

  t.test('positional reads (what the mount asks for) return the file\'s bytes anywhere', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('pos')
    const data = randomData(9 * MiB + 123, 77)
    await pfs.putFile('pos', 'master', 'f', data)
    const f = await pfs.openFile('pos', 'master', 'f')
    t.equal(f.size, data.length)
    for (let off = 0; off < data.length; off += 128 * 1024 + 17) {
      const got = await f.read(off, 128 * 1024)
      if (!got.equals(data.subarray(off, off + 128 * 1024))) { t.fail(`sequential read at ${off}`); return }
    }
    for (const [off, len] of [[0, 1], [data.length - 1, 10], [4 * MiB - 3, 6], [data.length, 5], [123_456, 5 * MiB]]) {
      t.ok((await f.read(off, len)).equals(data.subarray(off, off + len)), `read ${len} at ${off}`)
    }
    await t.rejects(pfs.openFile('pos', 'master', 'missing'), { code: 'NOT_FOUND' })
  })

  t.test('a 100 MiB file streams in and out with bounded memory', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('big')
    const data = randomData(100 * MiB, 42)
    await pfs.putFile('big', 'master', 'big.bin', pieces(data, 1 << 20))
    let n = 0; let ok = true
    for await (const b of await pfs.readStream('big', 'master', 'big.bin')) {
      const buf = b as Buffer
      if (!buf.equals(data.subarray(n, n + buf.length))) ok = false
      n += buf.length
    }
    t.equal(n, data.length)
    t.ok(ok, 'every byte equal')
  })

  t.test('identical and shifted data are stored once', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('d')
    const data = randomData(24 * MiB, 7)
    await pfs.putFile('d', 'master', 'a.bin', data)
    const before = (await pfs.du()).storedBytes
    await pfs.putFile('d', 'master', 'copy/a.bin', data)
    const afterCopy = (await pfs.du()).storedBytes
    t.ok(afterCopy - before < 64 * 1024, `identical file adds only metadata (${afterCopy - before} bytes)`)
    const shifted = Buffer.concat([data.subarray(0, 12 * MiB), Buffer.from('a few inserted bytes'), data.subarray(12 * MiB)])
    await pfs.putFile('d', 'master', 'shifted.bin', shifted)
    const grown = (await pfs.du()).storedBytes - afterCopy
    t.ok(grown < 0.3 * data.length, `an insertion stores only nearby chunks (${(grown / MiB).toFixed(1)} MiB of 24)`)
    t.ok((await pfs.readAll('d', 'master', 'shifted.bin')).equals(shifted))
    const du = await pfs.du()
    t.equal(du.repos[0].size, data.length * 2 + shifted.length, 'logical size counts every file')
  })

  t.test('every rev form names the right commit', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('r')
    const ids: string[] = []
    const times: number[] = []
    for (let i = 1; i <= 4; i++) {
      const res = await pfs.putFile('r', 'master', 'v.txt', Buffer.from(`v${i}`), { message: `m${i}` })
      ids.push(res.commit.id)
      times.push(res.commit.finished as number)
      await new Promise(resolve => setTimeout(resolve, 15))
    }
    const read = async (rev: string) => (await pfs.readAll('r', rev, 'v.txt')).toString()
    t.equal(await read('master'), 'v4')
    t.equal(await read('master~1'), 'v3')
    t.equal(await read('master^'), 'v3')
    t.equal(await read('master^^'), 'v2')
    t.equal(await read('master~3'), 'v1')
    t.equal(await read('master~1^'), 'v2')
    t.equal(await read(ids[1]), 'v2')
    t.equal(await read(ids[1].slice(0, 8)), 'v2')
    t.equal(await read(`${ids[2]}~1`), 'v2')
    t.equal(await read(`master@{${new Date(times[1] + 5).toISOString()}}`), 'v2')
    t.equal(await read(`master@{${new Date(times[3] + 5).toISOString()}}`), 'v4')
    await t.rejects(read('master~4'), { code: 'NOT_FOUND' }, 'past the first commit')
    await t.rejects(read('nope'), { code: 'NOT_FOUND' }, 'unknown branch')
    await t.rejects(read('abcdef12'), { code: 'NOT_FOUND' }, 'unknown prefix')
    await t.rejects(read('master@{2001-01-01}'), { code: 'NOT_FOUND' }, 'before the branch existed')
    await t.rejects(read('master@{not a date}'), { code: 'INVALID_ARGUMENT' })
    await t.rejects(read('ma{ster'), { code: 'INVALID_ARGUMENT' })
    const log = await pfs.log('r', 'master')
    t.same(log.map(c => c.message), ['m4', 'm3', 'm2', 'm1'], 'log newest first')
    t.same((await pfs.log('r', 'master', { limit: 2 })).map(c => c.id), [ids[3], ids[2]])
    const all = await pfs.listCommits('r', { limit: 3 })
    t.same(all.entries.map(c => c.id), [ids[3], ids[2], ids[1]])
    const rest = await pfs.listCommits('r', { after: all.next })
    t.same(rest.entries.map(c => c.id), [ids[0]])
    await pfs.createBranch('r', 'old', { from: 'master~2' })
    t.equal((await pfs.readAll('r', 'old', 'v.txt')).toString(), 'v2', 'a branch can start at any rev')
  })

  t.test('a write session is one commit, visible on the branch, and can be aborted', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('s')
    await pfs.putFile('s', 'master', 'base.txt', Buffer.from('base'))
    const open = await pfs.startCommit('s', 'master', { message: 'session' })
    t.equal(open.finished, null)
    await t.rejects(pfs.startCommit('s', 'master'), { code: 'CONFLICT' }, 'one session per branch')
    const r1 = await pfs.putFile('s', 'master', 'a.txt', Buffer.from('a'))
    t.equal(r1.finished, false, 'put joins the open session')
    await pfs.putFile('s', 'master', 'b.txt', Buffer.from('b'))
    t.same((await pfs.list('s', 'master', '')).entries.map(e => e.name), ['a.txt', 'b.txt', 'base.txt'], 'readers see the session')
    t.same((await pfs.list('s', 'master~1', '')).entries.map(e => e.name), ['base.txt'], 'history does not change')
    t.equal((await pfs.inspectCommit('s', 'master')).id, open.id)
    const done = await pfs.finishCommit('s', 'master', { message: 'two files' })
    t.equal(done.id, open.id)
    t.equal(done.message, 'two files')
    t.equal((await pfs.log('s', 'master')).length, 2, 'the session became exactly one commit')
    await t.rejects(pfs.finishCommit('s', 'master'), { code: 'CONFLICT' }, 'nothing open')
    await pfs.startCommit('s', 'master')
    await pfs.apply('s', 'master', [{ op: 'delete', path: 'a.txt' }])
    await pfs.abortCommit('s', 'master')
    t.same((await pfs.list('s', 'master', '')).entries.map(e => e.name), ['a.txt', 'b.txt', 'base.txt'], 'abort discards')
    t.equal((await pfs.inspectBranch('s', 'master')).open, null)
  })

  t.test('folders: put recursively, get back identical, rm, cp without copying chunks', async t => {
    const pfs = await tmpStore(t, kind)
    const local = await fsp.mkdtemp(path.join(os.tmpdir(), 'pfs-local-'))
    t.teardown(() => fsp.rm(local, { recursive: true, force: true }))
    await fsp.mkdir(path.join(local, 'src/sub/deeper'), { recursive: true })
    await fsp.mkdir(path.join(local, 'src/empty'))
    await fsp.writeFile(path.join(local, 'src/a.txt'), 'alpha')
    await fsp.writeFile(path.join(local, 'src/sub/b.bin'), randomData(3 * MiB, 3))
    await fsp.writeFile(path.join(local, 'src/sub/deeper/c.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 })
    await fsp.symlink('a.txt', path.join(local, 'src/link'))
    await pfs.createRepo('f')
    const res = await pfs.putLocal('f', 'master', 'in', path.join(local, 'src'), { message: 'tree' })
    t.equal(res.finished, true)
    t.equal((await pfs.log('f', 'master')).length, 1, 'a folder is one commit')
    const walk = await pfs.walk('f', 'master', '')
    t.same(walk.entries.map(e => e.path), ['in', 'in/a.txt', 'in/empty', 'in/link', 'in/sub', 'in/sub/b.bin', 'in/sub/deeper', 'in/sub/deeper/c.sh'])
    const link = await pfs.stat('f', 'master', 'in/link')
    t.equal(link.kind, 'symlink'); t.equal(link.target, 'a.txt')
    t.equal((await pfs.stat('f', 'master', 'in/sub/deeper/c.sh')).mode, 0o755, 'mode kept')
    const out = path.join(local, 'out')
    const got = await pfs.getLocal('f', 'master', 'in', out)
    t.equal(got.files, 3)
    t.equal(await fsp.readFile(path.join(out, 'a.txt'), 'utf8'), 'alpha')
    t.ok((await fsp.readFile(path.join(out, 'sub/b.bin'))).equals(randomData(3 * MiB, 3)))
    t.equal((await fsp.stat(path.join(out, 'sub/deeper/c.sh'))).mode & 0o777, 0o755)
    t.equal(await fsp.readlink(path.join(out, 'link')), 'a.txt')
    t.ok((await fsp.stat(path.join(out, 'empty'))).isDirectory())
    const stored = (await pfs.du()).storedBytes
    await pfs.apply('f', 'master', [{ op: 'copy', from: { repo: 'f', rev: 'master', path: 'in/sub' }, path: 'copied' }])
    t.ok((await pfs.du()).storedBytes - stored < 16 * 1024, 'cp copies no chunk')
    const [p1, p2] = await Promise.all([pfs.readPlan('f', 'master', 'in/sub/b.bin'), pfs.readPlan('f', 'master', 'copied/b.bin')])
    t.same(p1.chunks.map(c => c.id), p2.chunks.map(c => c.id))
    await t.rejects(pfs.apply('f', 'master', [{ op: 'delete', path: 'in' }]), { code: 'NOT_EMPTY' })
    await pfs.apply('f', 'master', [{ op: 'delete', path: 'in', recursive: true }])
    t.same((await pfs.list('f', 'master', '')).entries.map(e => e.name), ['copied'])
    const diff = await pfs.diff('f', 'master~1', 'master')
    t.same(diff.filter(d => d.change === 'removed').map(d => d.path).slice(0, 2), ['in', 'in/a.txt'])
    t.notOk(diff.some(d => d.path.startsWith('copied')), 'untouched folders are not in the diff')
    const parentDiff = await pfs.diff('f', null, 'master~1')
    t.same(parentDiff.map(d => `${d.change[0]} ${d.path}`), ['a copied', 'a copied/b.bin', 'a copied/deeper', 'a copied/deeper/c.sh'])
  })

  t.test('big folders page through listing, and equal folders hash equal however built', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('p')
    const chunk = (await pfs.readPlan('p', (await pfs.putFile('p', 'seed', 'x', Buffer.from('same'))).commit.id, 'x')).chunks.map(c => [c.id, c.size] as [string, number])
    const names = Array.from({ length: 3000 }, (_, i) => `file-${String(i).padStart(5, '0')}`)
    const put = (n: string) => ({ op: 'put' as const, path: `big/${n}`, chunks: chunk, mtime: 1000 })
    await pfs.apply('p', 'one', names.map(put))
    for (let i = 0; i < names.length; i += 500) await pfs.apply('p', 'many', names.slice(i, i + 500).reverse().map(put))
    t.equal((await pfs.stat('p', 'one', 'big')).hash, (await pfs.stat('p', 'many', 'big')).hash, 'content-defined pages: same entries, same hash')
    const seen: string[] = []
    let after: string | undefined
    do {
      const page = await pfs.list('p', 'one', 'big', { after, limit: 250 })
      seen.push(...page.entries.map(e => e.name))
      after = page.next
    } while (after !== undefined)
    t.same(seen, names, 'paged listing returns every name once, in order')
    const walked: string[] = []
    after = undefined
    do {
      const page = await pfs.walk('p', 'one', '', { after, limit: 700 })
      walked.push(...page.entries.map(e => e.path))
      after = page.next
    } while (after !== undefined)
    t.equal(walked.length, 3001)
    await pfs.apply('p', 'one', [{ op: 'delete', path: 'big/file-01500' }, put('file-01500b')])
    t.equal((await pfs.stat('p', 'one', 'big')).count, 3000)
    const d = await pfs.diff('p', 'one~1', 'one')
    t.same(d.map(c => `${c.change} ${c.path}`), ['removed big/file-01500', 'added big/file-01500b'], 'diff reads only changed pages')
  })

  t.test('POSIX rules for rename, put and mkdir', async t => {
    const pfs = await tmpStore(t, kind)
    await pfs.createRepo('x')
    await pfs.apply('x', 'master', [{ op: 'mkdir', path: 'd/e', parents: true }, { op: 'mkdir', path: 'f' }])
    await pfs.putFile('x', 'master', 'd/e/file', Buffer.from('1'))
    await t.rejects(pfs.putFile('x', 'master', 'd', Buffer.from('x')), { code: 'IS_A_DIRECTORY' })
    await t.rejects(pfs.apply('x', 'master', [{ op: 'mkdir', path: 'f' }]), { code: 'EXISTS' })
    await t.rejects(pfs.apply('x', 'master', [{ op: 'rename', from: 'd', path: 'd/e/inside' }]), { code: 'INVALID_ARGUMENT' })
    await t.rejects(pfs.apply('x', 'master', [{ op: 'rename', from: 'f', path: 'd' }]), { code: 'NOT_EMPTY' })
    await t.rejects(pfs.putFile('x', 'master', 'd/e/file/under', Buffer.from('x')), { code: 'NOT_A_DIRECTORY' })
    await t.rejects(pfs.apply('x', 'master', [{ op: 'delete', path: 'nope' }]), { code: 'NOT_FOUND' })
    await pfs.apply('x', 'master', [{ op: 'rename', from: 'd', path: 'f' }, { op: 'setattr', path: 'f/e/file', mode: 0o600, mtime: 5000 }])
    const st = await pfs.stat('x', 'master', 'f/e/file')
    t.equal(st.mode, 0o600); t.equal(st.mtime, 5000)
    const before = (await pfs.log('x', 'master')).length
    await t.rejects(pfs.apply('x', 'master', [{ op: 'delete', path: 'f/e/file' }, { op: 'delete', path: 'missing' }]), { code: 'NOT_FOUND' })
    t.equal((await pfs.readAll('x', 'master', 'f/e/file')).toString(), '1', 'a failed batch changes nothing')
    t.equal((await pfs.log('x', 'master')).length, before, 'and makes no commit')
  })

  t.test('bad names and unknown things are refused with the right code', async t => {
    const pfs = await tmpStore(t, kind)
    for (const bad of ['', 'a/b', '..', '.hidden', 'x'.repeat(300), 'nul\0byte', 'has space', 'a@b', 'a:b']) {
      await t.rejects(pfs.createRepo(bad), { code: 'INVALID_NAME' }, JSON.stringify(bad.slice(0, 20)))
    }
    await pfs.createRepo('ok')
    await t.rejects(pfs.createRepo('ok'), { code: 'EXISTS' })
    await t.rejects(pfs.inspectRepo('missing'), { code: 'NOT_FOUND' })
    await t.rejects(pfs.createBranch('ok', '.b'), { code: 'INVALID_NAME' })
    await t.rejects(pfs.putFile('missing', 'master', 'a', Buffer.from('x')), { code: 'NOT_FOUND' })
    await t.rejects(pfs.putFile('ok', 'master', '../escape', Buffer.from('x')), { code: 'INVALID_ARGUMENT' })
    await t.rejects(pfs.stat('ok', 'master', 'nothing'), { code: 'NOT_FOUND' })
    await t.rejects(pfs.putLocal('ok', 'master', 'a', '/definitely/not/here'), { code: 'NOT_FOUND' })
    await pfs.putFile('ok', 'master', 'a', Buffer.from('x'))
    await t.rejects(pfs.deleteRepo('ok'), { code: 'CONFLICT' }, 'a repo with commits needs force')
    await pfs.deleteRepo('ok', { force: true })
    t.same(await pfs.listRepos(), [])
  })
}
