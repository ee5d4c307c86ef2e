/**
 * Planning from diffs must find exactly the datums that differ: for every input shape
 * (each glob form; cross, union, join inner and outer, group, nested), through a random
 * walk of commits (files added, changed, removed, folders added and removed, a change
 * reverted), the datums `changedDatums` reports are checked against enumerating every
 * datum on both sides and comparing them.
 */
import t from 'tap'
import type { Pfs } from '../store/api/pfs.js'
import type { WriteOp } from '../store/api/meta.js'
import { type CommitsOf, datumKey, enumerate } from '../runner/datums.js'
import { changedDatums } from '../runner/plan.js'
import { parseSpec } from '../runner/spec.js'
import { tmpStore } from './helpers/stores.js'

const SHAPES: Record<string, string> = {
  'the whole input': '{pfs: {repo: a, glob: "/"}}',
  'top-level entries': '{pfs: {repo: a, glob: "/*"}}',
  'two levels': '{pfs: {repo: a, glob: "/*/*"}}',
  'files at any depth': '{pfs: {repo: a, glob: "/**"}}',
  'text files below folders': '{pfs: {repo: a, glob: "/d*/**.txt"}}',
  'braces and classes': '{pfs: {repo: a, glob: "/{k,d}[0-3]*"}}',
  'cross with a whole input': '{cross: [{pfs: {repo: a, glob: "/*"}}, {pfs: {repo: b, glob: "/"}}]}',
  'cross of two globs': '{cross: [{pfs: {repo: a, glob: "/*"}}, {pfs: {repo: b, glob: "/*"}}]}',
  union: '{union: [{pfs: {repo: a, glob: "/*"}}, {pfs: {repo: b, glob: "/*", name: bb}}]}',
  join: '{join: [{pfs: {repo: a, glob: "/(*).txt", join_on: "$1"}}, {pfs: {repo: b, glob: "/(*).csv", join_on: "$1"}}]}',
  'outer join': '{join: [{pfs: {repo: a, glob: "/(*).txt", join_on: "$1", outer_join: true}}, ' +
    '{pfs: {repo: b, glob: "/(*).csv", join_on: "$1"}}]}',
  group: '{group: [{pfs: {repo: a, glob: "/(?)*", group_by: "$1"}}, {pfs: {repo: b, glob: "/(?)*", group_by: "$1"}}]}',
  nested: '{cross: [{join: [{pfs: {repo: a, glob: "/(*).txt", join_on: "$1"}}, ' +
    '{pfs: {repo: b, glob: "/(*).csv", join_on: "$1"}}]}, {pfs: {repo: b, glob: "/", name: whole}}]}'
}

/** A seeded random walk (mulberry32), so a failure can be replayed. */
function rng (seed: number): (n: number) => number {
  let s = seed >>> 0
  return n => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = Math.imul(s ^ (s >>> 15), s | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return (((x ^ (x >>> 14)) >>> 0) / 2 ** 32 * n) | 0
  }
}

/** One random change to a repo: add, change or remove a file, add or remove a folder. */
async function mutate (pfs: Pfs, repo: string, ext: string, r: (n: number) => number): Promise<void> {
  const files = await listAll(pfs, repo)
  const ops: WriteOp[] = []
  const body = `v${r(3)}`
  const put = async (path: string): Promise<void> => { await pfs.putFile(repo, 'master', path, Buffer.from(body)) }
  await pfs.startCommit(repo, 'master')
  const pick = r(8)
  if (pick < 3) await put(`k${r(4)}${ext}`)
  else if (pick === 3 && files.length > 0) await put(files[r(files.length)]!)
  else if (pick === 4 && files.length > 0) ops.push({ op: 'delete', path: files[r(files.length)]! })
  else if (pick < 7) for (let i = 0; i < 3; i++) await put(`d${r(4)}/f${i}${ext}`)
  else ops.push({ op: 'delete', path: `d${r(4)}`, recursive: true, force: true })
  if (ops.length > 0) await pfs.apply(repo, 'master', ops)
  await pfs.finishCommit(repo, 'master')
}

const head = async (pfs: Pfs, repo: string): Promise<string | null> =>
  (await pfs.listBranches(repo)).find(b => b.name === 'master')?.head ?? null

async function listAll (pfs: Pfs, repo: string): Promise<string[]> {
  if (await head(pfs, repo) === null) return []
  return (await pfs.walk(repo, 'master', '', { limit: 10_000 })).entries.filter(e => e.kind !== 'dir').map(e => e.path)
}

const at = (heads: Record<string, string | null>): CommitsOf => name => {
  const repo = name === 'bb' || name === 'whole' ? 'b' : name
  return { name, repo, branch: 'master', commit: heads[repo] ?? null }
}

for (const [shape, input] of Object.entries(SHAPES)) {
  t.test(`the datums a diff finds are exactly those that differ: ${shape}`, async t => {
    const pfs = await tmpStore(t)
    await pfs.createRepo('a')
    await pfs.createRepo('b')
    const spec = parseSpec(`pipeline: {name: p}\ntransform: {cmd: [sh]}\ninput: ${input}\n`, 'spec')
    const r = rng(Object.keys(SHAPES).indexOf(shape) + 1)
    const history: Array<Record<string, string | null>> = [{ a: null, b: null }]
    const usesB = input.includes('repo: b')
    for (let step = 0; step < 30; step++) {
      // Mostly .txt in a and .csv in b, so joins find keys on both sides.
      const repo = usesB && r(2) === 0 ? 'b' : 'a'
      await mutate(pfs, repo, (r(4) === 0) === (repo === 'a') ? '.csv' : '.txt', r)
      history.push({ a: await head(pfs, 'a'), b: await head(pfs, 'b') })
    }
    // Each step, and some longer spans (the last back to the start is a whole history).
    const pairs: Array<[number, number]> = history.slice(1).map((_, i) => [i, i + 1])
    pairs.push([0, history.length - 1], [3, 9], [9, 3], [5, 5])
    let differing = 0
    for (const [x, y] of pairs) {
      const [before, after] = [at(history[x]!), at(history[y]!)]
      const full = async (c: CommitsOf): Promise<Map<string, string>> =>
        new Map((await enumerate(pfs, spec.input, c)).map(d => [d.id, datumKey(d, 'v')]))
      const [old, now] = [await full(before), await full(after)]
      const want = {
        before: [...old].filter(([id, key]) => now.get(id) !== key).map(([id]) => id).sort(),
        after: [...now].filter(([id, key]) => old.get(id) !== key).map(([id]) => id).sort()
      }
      if (want.before.length + want.after.length > 0) differing++
      const got = await changedDatums(pfs, spec.input, before, after, 'v')
      t.same({
        before: got.before.map(d => d.d.id).sort(), after: got.after.map(d => d.d.id).sort()
      }, want, `commits ${x} -> ${y}: ${want.before.length} gone or changed, ${want.after.length} new or changed`)
      t.ok(got.after.every(d => now.get(d.d.id) === d.key), 'with the keys of the new side')
    }
    t.ok(differing >= 3, `the walk changed datums ${differing} times`)
  })
}
