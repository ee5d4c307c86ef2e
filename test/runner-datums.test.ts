/**
 * Globs and datums over a real store: every glob shape Pachyderm has, and cross, union,
 * join (inner and outer) and group, with ids that name paths and keys that add content.
 */
import t, { type Test } from 'tap'
import type { Pfs } from '../store/api/pfs.js'
import { compileGlob, keyOf, matchGlob } from '../runner/glob.js'
import { type Datum, type InputCommit, datumKey, enumerate } from '../runner/datums.js'
import { parseSpec } from '../runner/spec.js'
import { tmpStore } from './helpers/stores.js'

t.test('glob shapes', async t => {
  const m = (glob: string, path: string): string[] | undefined => matchGlob(compileGlob(glob), path)
  t.ok(m('/', ''), '/ is the root')
  t.equal(compileGlob('/').depth, 0)
  t.ok(m('/*', 'a.txt'))
  t.notOk(m('/*', 'd/a.txt'), '* stays within a name')
  t.equal(compileGlob('/*/*').depth, 2)
  t.ok(m('/*/*', 'd/a.txt'))
  t.ok(m('/**', 'd/e/f.txt'), '** crosses folders')
  t.equal(compileGlob('/**').depth, undefined)
  t.ok(m('/d/**/f.txt', 'd/f.txt'), '/**/ may match nothing')
  t.ok(m('/d/**/f.txt', 'd/x/y/f.txt'))
  t.ok(m('/?.txt', 'a.txt'))
  t.notOk(m('/?.txt', 'ab.txt'))
  t.ok(m('/[ab].txt', 'b.txt'))
  t.notOk(m('/[!ab].txt', 'b.txt'), '[!..] negates')
  t.ok(m('/[a-c]*', 'cat'))
  t.ok(m('/{jpg,png}/*', 'png/x'))
  t.equal(compileGlob('/{a,b/c}').depth, undefined, 'a brace holding / varies in depth')
  t.same(m('/(*)-(*).csv', 'x-2024.csv')?.slice(1), ['x', '2024'], 'capture groups')
  t.equal(keyOf('$2/$1', ['', 'x', '2024'], 'in'), '2024/x')
  t.throws(() => keyOf('$3', ['', 'x'], 'in'), /capture group \$3/)
  t.ok(m('/a.b', 'a.b'))
  t.notOk(m('/a.b', 'axb'), 'regex characters are literal')
  for (const bad of ['/[ab', '/{a,b', '/(a', '/a)', '/b}', 'a']) t.throws(() => compileGlob(bad), /glob/, bad)
})

/**
 * A store with repos `images` (3 files, one folder, and a fifo and a socket that no glob
 * makes a datum of), `a` and `b` (for joins).
 */
async function fixture (t: Test): Promise<{ pfs: Pfs, commits: Map<string, InputCommit> }> {
  const pfs = await tmpStore(t)
  const put = async (repo: string, files: Record<string, string>): Promise<InputCommit> => {
    await pfs.createRepo(repo)
    await pfs.startCommit(repo, 'master')
    for (const [p, body] of Object.entries(files)) await pfs.putFile(repo, 'master', p, Buffer.from(body))
    if (repo === 'images') {
      await pfs.apply(repo, 'master', [{ op: 'mknod', path: '0.png', kind: 'fifo' }, { op: 'mknod', path: 'sub/s.png', kind: 'socket' }])
    }
    const c = await pfs.finishCommit(repo, 'master')
    return { name: repo, repo, branch: 'master', commit: c.id }
  }
  const commits = new Map<string, InputCommit>()
  commits.set('images', await put('images', { '1.png': 'one', '2.png': 'two', 'sub/3.png': 'three', 'sub/x.txt': 'x' }))
  commits.set('a', await put('a', { '1.txt': 'a1', '2.txt': 'a2', '4.txt': 'a4' }))
  commits.set('b', await put('b', { '1.csv': 'b1', '2.csv': 'b2', '3.csv': 'b3', 'extra/2.csv': 'b2x' }))
  return { pfs, commits }
}

const datumsOf = async (pfs: Pfs, commits: Map<string, InputCommit>, input: string): Promise<Datum[]> => {
  const spec = parseSpec(`pipeline: {name: p}\ntransform: {cmd: [sh]}\ninput: ${input}\n`, 'spec')
  return await enumerate(pfs, spec.input, name => {
    const c = commits.get(name)
    if (c === undefined) throw new Error(`no input ${name}`)
    return c
  })
}
const paths = (ds: Datum[]): string[][] => ds.map(d => d.inputs.map(i => `${i.name}:${i.path}`))

t.test('a pfs input, every glob shape', async t => {
  const { pfs, commits } = await fixture(t)
  const of = async (glob: string): Promise<string[][]> =>
    paths(await datumsOf(pfs, commits, `{pfs: {repo: images, glob: "${glob}"}}`))
  t.same(await of('/'), [['images:']], '/ is one datum: the whole input')
  t.same(await of('/*'), [['images:1.png'], ['images:2.png'], ['images:sub']], '/* is each top-level entry')
  t.same(await of('/*/*'), [['images:sub/3.png'], ['images:sub/x.txt']])
  t.same(await of('/**'), [['images:1.png'], ['images:2.png'], ['images:sub/3.png'], ['images:sub/x.txt']],
    '/** is every file at any depth')
  t.same(await of('/**.png'), [['images:1.png'], ['images:2.png'], ['images:sub/3.png']])
  t.same(await of('/?.png'), [['images:1.png'], ['images:2.png']])
  t.same(await of('/sub/*.txt'), [['images:sub/x.txt']])
  t.same(await of('/nothing/*'), [], 'no match, no datums')
  commits.set('pics', { ...commits.get('images')!, name: 'pics' })
  const named = await datumsOf(pfs, commits, '{pfs: {repo: images, glob: "/*", name: pics}}')
  t.equal(named[0]!.inputs[0]!.name, 'pics', 'the input name is its folder')
})

t.test('cross, union, join, group', async t => {
  const { pfs, commits } = await fixture(t)
  t.same(paths(await datumsOf(pfs, commits, '{cross: [{pfs: {repo: a, glob: "/*"}}, {pfs: {repo: images, glob: "/*.png"}}]}')),
    [['a:1.txt', 'images:1.png'], ['a:1.txt', 'images:2.png'], ['a:2.txt', 'images:1.png'],
      ['a:2.txt', 'images:2.png'], ['a:4.txt', 'images:1.png'], ['a:4.txt', 'images:2.png']], 'cross is the product')
  t.same(paths(await datumsOf(pfs, commits, '{union: [{pfs: {repo: a, glob: "/1.txt"}}, {pfs: {repo: b, glob: "/3.csv"}}]}')),
    [['a:1.txt'], ['b:3.csv']], 'union is the sum')
  const join = (outer: string): string => `{join: [{pfs: {repo: a, glob: "/(*).txt", join_on: "$1"${outer}}}, ` +
    '{pfs: {repo: b, glob: "/**/(*).csv", join_on: "$1"}}]}'
  t.same(paths(await datumsOf(pfs, commits, join(''))),
    [['a:1.txt', 'b:1.csv'], ['a:2.txt', 'b:2.csv'], ['a:2.txt', 'b:extra/2.csv']],
    'an inner join matches keys, every combination of the matches')
  t.same(paths(await datumsOf(pfs, commits, join(', outer_join: true'))),
    [['a:1.txt', 'b:1.csv'], ['a:2.txt', 'b:2.csv'], ['a:2.txt', 'b:extra/2.csv'], ['a:4.txt']],
    'outer_join keeps the unmatched entries of that input')
  t.same(paths(await datumsOf(pfs, commits, '{group: [{pfs: {repo: a, glob: "/(*).txt", group_by: "$1"}}, ' +
    '{pfs: {repo: b, glob: "/**/(*).csv", group_by: "$1"}}]}')),
  [['a:1.txt', 'b:1.csv'], ['a:2.txt', 'b:2.csv', 'b:extra/2.csv'], ['a:4.txt'], ['b:3.csv']],
  'group is one datum per key with every entry that has it')
})

t.test('ids name paths, keys add content and the pipeline version', async t => {
  const { pfs, commits } = await fixture(t)
  const before = await datumsOf(pfs, commits, '{pfs: {repo: images, glob: "/*"}}')
  await pfs.putFile('images', 'master', '1.png', Buffer.from('ONE'))
  const c = (await pfs.inspectBranch('images', 'master')).head!
  commits.set('images', { ...commits.get('images')!, commit: c })
  const after = await datumsOf(pfs, commits, '{pfs: {repo: images, glob: "/*"}}')
  t.same(after.map(d => d.id), before.map(d => d.id), 'the same paths, the same ids')
  t.not(datumKey(after[0]!, 'v1'), datumKey(before[0]!, 'v1'), 'changed content, a new key')
  t.equal(datumKey(after[1]!, 'v1'), datumKey(before[1]!, 'v1'), 'unchanged content, the same key')
  t.not(datumKey(after[1]!, 'v2'), datumKey(after[1]!, 'v1'), 'a new pipeline version, a new key')
  await pfs.putFile('images', 'master', '1.png', Buffer.from('one'))
  const reverted = await datumsOf(pfs, commits.set('images', {
    ...commits.get('images')!, commit: (await pfs.inspectBranch('images', 'master')).head!
  }), '{pfs: {repo: images, glob: "/*"}}')
  t.equal(datumKey(reverted[0]!, 'v1'), datumKey(before[0]!, 'v1'), 'reverted content, the old key again')
})
