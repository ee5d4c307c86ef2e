// Owners, special files, times and permissions (issue 9): a branch folder does what a
// plain folder does with chown, mkfifo, sockets, mknod, touch -a/-m, ctime and two users,
// and a commit, `pfs get`, tar, rsync -a and cp -a keep all of it. Runs as root (chown
// and mknod need it, and a second user needs root to switch to).
import t from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { mountPfs, type Mount } from './helpers/mount.js'
import { pfsJson, PY } from './helpers/mount-tools.js'
import type { CommitInfo, FileInfo } from '../store/api/meta.js'

const OPS = fileURLToPath(new URL('./helpers/posix-ops.py', import.meta.url))
const STORY = fileURLToPath(new URL('./helpers/owners-story.sh', import.meta.url))
const USERS = fileURLToPath(new URL('./helpers/users-story.sh', import.meta.url))

type Tree = Record<string, { mode: string, owner: string, mtime?: number, rdev?: string, size?: number }>

const root = process.getuid?.() === 0
let m: Mount

async function sh (script: string, vars: Record<string, string> = {}): Promise<string> {
  const env = Object.entries({ OPS, PY, ...vars }).map(([k, v]) => `export ${k}='${v}'\n`).join('')
  const r = await m.sh(env + script, { timeoutMs: 120_000 })
  if (r.code !== 0) throw new Error(`${script.slice(0, 200)}: exit ${String(r.code)}: ${r.stdout}${r.stderr}`)
  return r.stdout
}

/** Every entry below `dir` (type, mode, owner, device, size, and mtime when `times`). */
async function tree (dir: string, times: boolean): Promise<Tree> {
  const all = JSON.parse(await sh(`"$PY" "$OPS" walk '${dir}'`)) as Tree
  if (times) return all
  return Object.fromEntries(Object.entries(all).map(([p, { mtime: _, ...rest }]) => [p, rest]))
}

async function headId (repo: string): Promise<string> {
  return (await pfsJson<CommitInfo>(m, ['inspect', `${repo}@master`])).id
}

t.before(async () => {
  if (!root) return
  m = await mountPfs(t, { args: ['--allow-other'] })
  // A second user must reach both the mount and the plain folders through the temp folder.
  await fsp.chmod(path.dirname(m.dir), 0o755)
  await sh('mkdir $M/own $M/own/master')
})

t.test('owners, fifos, sockets, devices and times: a branch folder does what a plain folder does, and a commit keeps it', async t => {
  if (!root) { t.pass('needs root (chown, mknod)'); return }
  const plain = path.join(m.local, 'plain')
  const branch = `${m.dir}/own/master`
  await fsp.mkdir(plain)
  const want = await sh('bash "$STORY"', { D: plain, STORY })
  t.equal(await sh('bash "$STORY"', { D: branch, STORY }), want, 'every step printed the same and failed the same way')
  t.match(want, /chown-file: ok 65534:65534\n/, 'chown is kept (a sanity check of the plain run)')
  t.match(want, /fifo-carries: ok through the fifo\n/)
  t.match(want, /socket: ok over the socket True\n/)
  t.match(want, /socket-in-use: failed: EADDRINUSE\n/)
  t.match(want, /mknod-char: ok character special file 1:3/)
  t.match(want, /touch-m: ok 1900000000 1000000000\n/, 'touch -m leaves the atime')
  t.match(want, /ns-atime: ok 2002-02-03 04:05:06.987654321 \+0000\|2001-02-03 04:05:06.123456789 \+0000\n/)
  t.match(want, /ctime: ok forward kept above a past mtime\n/)

  const plainTree = await tree(plain, false)
  t.same(await tree(branch, false), plainTree, 'the branch folder holds the same tree: types, modes, owners, devices')
  t.equal((await m.pfs(['commit', 'own@master', '-m', 'owners'])).code, 0)
  const id = await headId('own')
  const history = `${m.dir}/own/.commits/${id}`
  t.same(await tree(history, false), plainTree, 'so does the commit, read as history')
  // (Not compared with the plain folder: reading it for the tree moved its atimes; the mount is noatime.)
  t.equal(await sh('cd "$D" && stat -c "%x|%y" at && stat -c "%X %Y" td', { D: history }),
    '2002-02-03 04:05:06.987654321 +0000|2001-02-03 04:05:06.123456789 +0000\n1900000000 1200000000\n',
    'with its atimes and mtimes to the nanosecond')
  t.equal(await sh('cd "$D" && [ -p p4 ] && [ -S s ] && [ -c cdev ] && [ -b bdev ] && echo special', { D: history }),
    'special\n', 'its special files are special files')

  const infos = await pfsJson<FileInfo[]>(m, ['ls', 'own@master', '--json'])
  const byName = new Map(infos.map(e => [e.name, e]))
  t.match(byName.get('f2'), { kind: 'file', uid: 65534, gid: 100 }, 'pfs ls shows owners')
  t.match(byName.get('p'), { kind: 'fifo', uid: 7, gid: 7 })
  t.match(byName.get('s'), { kind: 'socket' })
  t.match(byName.get('cdev'), { kind: 'chardev' })
  t.match(byName.get('at'), { mtimeNs: 456789, atimeNs: 654321 })
  const touched = byName.get('tn')
  t.ok(touched !== undefined && (touched.ctime ?? 0) > touched.mtime, 'a file made by touch -d keeps a ctime of now')
  t.equal(byName.get('back')?.uid, undefined, 'given back to the mounting user: no owner recorded')

  const got = path.join(m.local, 'got')
  const get = await m.pfs(['get', 'own@master:', '-o', got])
  t.equal(get.code, 0, get.stderr)
  t.match(get.stdout, /skipped 1 special file: sockets are not copied/, 'and says what it skipped')
  const { s: _socket, ...noSocket } = plainTree
  t.same(await tree(got, false), noSocket, 'pfs get as root gives owners, fifos and devices back (sockets are skipped, as tar does)')

  const cat = await m.pfs(['cat', 'own@master:p'])
  t.not(cat.code, 0)
  t.match(cat.stderr, /'p' is a fifo, which has no content to read/, 'reading a fifo from the store says what it is')
})

t.test('tar (owners, fifos, devices, symlinks) extracted as root compares equal; rsync -a, cp -a and pfs put/get round-trip', async t => {
  if (!root) { t.pass('needs root (tar keeps owners only for root)'); return }
  await sh(`set -e
    mkdir -p $L/src/deep/er $M/arc $M/arc/master
    cd $L/src
    echo one > a; chown 65534:65534 a; chmod 640 a
    echo two > deep/b; chown 1000:100 deep/b; chmod 4755 deep/b
    head -c 300000 /dev/urandom > deep/er/big; chown 1234:5678 deep/er/big
    ln -s deep/b link; chown -h 42:43 link
    mkfifo -m 600 fifo; chown 7:8 fifo
    mknod null c 1 3; chmod 666 null
    mkdir sg; chown 0:4321 sg; chmod 2770 sg; echo in > sg/f; chown 0:4321 sg/f
    touch -d "2011-11-11 11:11:11.111111111" a deep/er/big
    touch -h -d "2012-12-12 12:12:12" link
    touch -d "2010-10-10 10:10:10" deep/er deep sg
    cd $L && tar --numeric-owner -cf a.tar -C src .`)
  const want = await tree(`${m.local}/src`, true)
  const cmp = async (dir: string): Promise<string> => await sh(`tar --compare --numeric-owner -f $L/a.tar -C '${dir}' 2>&1; echo "exit $?"`)

  await sh('mkdir $M/arc/master/tar && tar -xpf $L/a.tar -C $M/arc/master/tar')
  t.equal(await cmp(`${m.dir}/arc/master/tar`), 'exit 0\n', 'tar --compare finds the extracted tree equal')
  t.same(await tree(`${m.dir}/arc/master/tar`, true), want, 'owners, modes, devices and times as in the source')

  await sh('rsync -a $L/src/ $M/arc/master/rsync/')
  t.equal(await sh('rsync -a --dry-run --itemize-changes $L/src/ $M/arc/master/rsync/'), '', 'a second rsync -a finds nothing to do')
  t.same(await tree(`${m.dir}/arc/master/rsync`, true), want, 'rsync -a kept everything')

  await sh('cp -a $L/src $M/arc/master/cp')
  t.same(await tree(`${m.dir}/arc/master/cp`, true), want, 'cp -a kept everything')
  t.equal(await cmp(`${m.dir}/arc/master/cp`), 'exit 0\n')

  t.equal((await m.pfs(['commit', 'arc@master', '-m', 'archives'])).code, 0)
  const history = `${m.dir}/arc/.commits/${await headId('arc')}`
  for (const d of ['tar', 'rsync', 'cp']) t.same(await tree(`${history}/${d}`, true), want, `the commit keeps the ${d} copy`)
  t.equal(await cmp(`${history}/tar`), 'exit 0\n', 'tar --compare against the commit')

  await sh('chown 1:1 $M/arc/master/tar/a')
  t.match(await cmp(`${m.dir}/arc/master/tar`), /a: Uid differs\n[^]*exit 1\n/, 'a changed owner is a difference tar sees (the comparison looks at owners)')

  const put = await m.pfs(['put', 'arc@master:/put', `${m.local}/src`])
  t.equal(put.code, 0, put.stderr)
  t.same(await tree(`${m.dir}/arc/master/put`, true), want, 'pfs put as root keeps owners, fifos and devices')
  const got = await m.pfs(['get', 'arc@master:/put', '-o', `${m.local}/back`])
  t.equal(got.code, 0, got.stderr)
  t.same(await tree(`${m.local}/back`, true), want, 'and pfs get as root gives them back')
  t.equal(await cmp(`${m.local}/back`), 'exit 0\n')
})

t.test('two users on an --allow-other mount meet owners, modes and the sticky bit as on a disk', async t => {
  if (!root) { t.pass('needs root to run a command as another user'); return }
  const plain = path.join(m.local, 'users')
  await fsp.mkdir(plain)
  await sh('mkdir $M/own/master/users')
  const want = await sh('bash "$USERS"', { D: plain, USERS })
  t.equal(await sh('bash "$USERS"', { D: `${m.dir}/own/master/users`, USERS }), want, 'every step printed the same and failed the same way')
  t.match(want, /read-private: failed: .*Permission denied/, 'the plain run met EACCES (a sanity check)')
  t.match(want, /chmod-roots: failed: .*Operation not permitted/)
  t.match(want, /rm-sticky: failed: .*Operation not permitted/)
  t.match(want, /create-shared: ok nobody:nogroup\n/)
})

t.test('a rename across branches or repos is EXDEV (mv then copies)', async t => {
  if (!root) { t.pass('shares the root-only mount'); return }
  await sh('mkdir $M/own/other && echo x > $M/own/master/cross && mkdir $M/arc/side')
  const os = await m.sh(`"${PY}" "${OPS}" rename $M/own/master/cross $M/own/other/cross`)
  t.equal(os.stdout, 'EXDEV\n', 'rename(2) to another branch')
  const repo = await m.sh(`"${PY}" "${OPS}" rename $M/own/master/cross $M/arc/side/cross`)
  t.equal(repo.stdout, 'EXDEV\n', 'rename(2) to another repo')
  t.equal(await sh('mv $M/own/master/cross $M/own/other/ && cat $M/own/other/cross && ls $M/own/master/cross 2>&1 || true'),
    'x\nls: cannot access \'' + m.dir + '/own/master/cross\': No such file or directory\n', 'mv falls back to copy and delete')
})
