// A branch folder behaves like a plain folder: the same programs doing the same things
// in both leave byte-for-byte the same tree (content, sizes, modes, symlinks, the times
// that were set), fail with the same errors, and the commit keeps all of it.
import t from 'tap'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { mountPfs, type Mount } from './helpers/mount.js'
import { pfsJson, PY } from './helpers/mount-tools.js'
import type { CommitInfo } from '../store/api/meta.js'

const OPS = fileURLToPath(new URL('./helpers/posix-ops.py', import.meta.url))
// The operations, each logged; run in $D.
const STORY = fileURLToPath(new URL('./helpers/posix-story.sh', import.meta.url))

// Only times a step set are compared (others are "when the step ran").
const SET_TIMES = ['t1', 'brand-new', 'big.bin', 'full', 'kept-times']

type Tree = Record<string, { mode: string, mtime?: number, size?: number, sha256?: string, target?: string }>

let m: Mount

/** Runs a bash script that must succeed, with OPS, PY and `vars` exported; its stdout. */
async function sh (script: string, vars: Record<string, string> = {}): Promise<string> {
  const r = await m.sh(Object.entries({ OPS, PY, ...vars }).map(([k, v]) => `export ${k}='${v}'\n`).join('') + script, { timeoutMs: 120_000 })
  if (r.code !== 0) throw new Error(`${script.slice(0, 200)}: exit ${String(r.code)}: ${r.stderr}`)
  return r.stdout
}

/** Every entry below `root`, without the times no step set: those are when the run happened. */
async function tree (root: string): Promise<Tree> {
  const all = JSON.parse(await sh(`"$PY" "$OPS" walk '${root}'`)) as Tree
  return Object.fromEntries(Object.entries(all).map(([p, e]) => {
    const { mtime: _mtime, ...rest } = e
    return [p, SET_TIMES.includes(p) ? e : rest]
  }))
}

t.before(async () => {
  m = await mountPfs(t)
  await sh('mkdir $M/posix $M/posix/master && head -c 5242880 /dev/urandom > $L/seed.bin && echo keep > $L/kept-src')
})

t.test('the same operations on a plain folder and on a branch folder leave the same tree', async t => {
  const branch = `${m.dir}/posix/master`
  const plain = path.join(m.local, 'plain')
  await sh(`mkdir '${plain}'`)
  const plainLog = await sh('bash "$STORY"', { D: plain, STORY })
  const mountLog = await sh('bash "$STORY"', { D: branch, STORY })
  t.equal(mountLog, plainLog, 'every step printed the same and failed the same way')
  t.match(plainLog, /rmdir-nonempty: failed: rmdir: failed to remove 'd2': Directory not empty/, 'the plain run met ENOTEMPTY (a sanity check of the script)')
  t.match(plainLog, /rmdir-nonempty2: failed: ENOTEMPTY/)

  const want = await tree(plain)
  t.ok(Object.keys(want).length > 15, 'the plain tree has the entries the script made')
  t.same(await tree(branch), want, 'the branch folder holds the same tree')

  const commit = await m.pfs(['commit', 'posix@master', '-m', 'posix'])
  t.equal(commit.code, 0, commit.stderr)
  t.same(await tree(branch), want, 'after the commit, the branch folder still does')
  const { id } = await pfsJson<CommitInfo>(m, ['inspect', 'posix@master'])
  t.same(await tree(`${m.dir}/posix/.commits/${id}`), want, 'so does the commit, read as history')

  const got = path.join(m.local, 'got')
  const get = await m.pfs(['get', 'posix@master:', '-o', got])
  t.equal(get.code, 0, get.stderr)
  t.same(await tree(got), want, 'pfs get of the commit gives the same tree back')
})

t.test('a modification time set apart from the access time is kept (os.utime, touch -m)', async t => {
  // cp -p, rsync -t, tar and python's os.utime set both times at once, usually different.
  const script = [
    'cd "$D"',
    '"$PY" "$OPS" utime both 1000000000 1500000000 > /dev/null',
    'echo m > mtime-only && touch -m -d "2012-12-12 12:12:12" mtime-only',
    'stat -c "%n %Y" both mtime-only'
  ].join(' && ')
  await sh('mkdir $M/posix/times $L/times')
  const want = await sh(script, { D: path.join(m.local, 'times') })
  t.equal(want, 'both 1500000000\nmtime-only 1355314332\n', 'the plain folder keeps both')
  t.equal(await sh(script, { D: `${m.dir}/posix/times` }), want, 'so does the branch folder')
  t.equal((await m.pfs(['commit', 'posix@times', '-m', 'times'])).code, 0)
  t.equal(await sh(`cd "$M/posix/times" && stat -c "%n %Y" both mtime-only`), want, 'and the commit')
})
