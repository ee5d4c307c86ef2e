// Real programs at work inside a branch folder: git, tar, rsync and Python's seek/write/
// truncate see a POSIX file system, and what they leave behind is intact in history.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { mountPfs, type Mount } from './helpers/mount.js'

const SEEK_WRITES = fileURLToPath(new URL('./helpers/seek-writes.py', import.meta.url))

/** Runs a script that must succeed; its output when it does not. */
async function ok (t: Test, m: Mount, script: string, what: string): Promise<string> {
  const r = await m.sh(`set -euo pipefail\n${script}`, { timeoutMs: 120_000 })
  t.equal(r.code, 0, what, { stdout: r.stdout.slice(-3000), stderr: r.stderr.slice(-3000) })
  return r.stdout
}

/** The newest finished commit of a repo. */
async function head (m: Mount, repo: string): Promise<string> {
  const log = JSON.parse((await m.pfs(['log', repo, '--json'])).stdout) as Array<{ id: string, finished: number | null }>
  return log.filter(c => c.finished !== null)[0].id
}

/** Every entry's type, mode, size and link target (mtimes aside), one line each. */
const LISTING = "find . -printf '%y %m %s %l %p\\n' | LC_ALL=C sort"
const MTIMES = "find . -printf '%y %TY-%Tm-%Td %TH:%TM:%.2TS %p\\n' | LC_ALL=C sort"

t.test('git init, commit, log, status and gc inside a branch folder; the repo is intact in history', async t => {
  const m = await mountPfs(t)
  await ok(t, m, 'mkdir $M/code $M/code/master', 'repo and branch made with mkdir')
  const log = await ok(t, m, `
    cd $M/code/master
    git init -q -b main proj && cd proj
    git config user.email tester@example.com && git config user.name tester
    mkdir -p src/deep/er docs
    for i in $(seq 1 30); do seq 1 $((i * 200)) > src/f$i.txt; done
    head -c 2000000 /dev/urandom > docs/blob.bin
    printf '#!/bin/sh\\necho hi\\n' > src/deep/er/run.sh && chmod 755 src/deep/er/run.sh
    ln -s src/deep/er/run.sh run
    git add . && git commit -qm first
    echo change >> src/f3.txt && git mv src/f4.txt src/four.txt && git rm -q src/f5.txt
    git commit -qam second
    for i in $(seq 1 5); do echo "round $i" >> docs/notes.md; git add docs/notes.md; git commit -qm "notes $i"; done
    git log --format='%H %s'`, 'git init, add, commit, mv, rm, log')
  t.equal(log.trim().split('\n').length, 7, 'seven commits in git log')
  t.equal(await ok(t, m, 'git -C $M/code/master/proj status --porcelain', 'git status'), '', 'git status is clean')
  await ok(t, m, 'git -C $M/code/master/proj gc -q && git -C $M/code/master/proj fsck --full --strict', 'git gc, then git fsck')
  t.match(await ok(t, m, 'git -C $M/code/master/proj count-objects -v', 'count-objects'), /^count: 0$/m, 'gc packed every loose object')
  t.equal(await ok(t, m, "git -C $M/code/master/proj log --format='%H %s'", 'git log after gc'), log, 'history unchanged by gc')
  t.equal(await ok(t, m, 'git -C $M/code/master/proj status --porcelain', 'git status after gc'), '', 'still clean after gc')

  t.equal((await m.pfs(['commit', 'code@master', '-m', 'a git repo'])).code, 0, 'pfs commit')
  const id = await head(m, 'code')
  for (const h of [`$M/code/.commits/${id}/proj`, `$M/code/${id.slice(0, 8)}/proj`, '$M/code/master~0/proj']) {
    t.equal(await ok(t, m, `git --git-dir=${h}/.git log --format='%H %s'`, `git --git-dir log in ${h}`), log, `the whole history reads back from ${h}`)
  }
  const H = `$M/code/.commits/${id}/proj`
  t.equal(await ok(t, m, `git -C ${H} status --porcelain`, 'git status in the committed view'), '', 'the committed work tree is clean')
  await ok(t, m, `git -C ${H} diff --exit-code HEAD && git --git-dir=${H}/.git fsck --full --strict`, 'git diff and fsck in the committed view')
  await ok(t, m, `diff -r --no-dereference $M/code/master/proj ${H}`, 'the committed view equals the branch folder, .git included')
  await ok(t, m, `git clone -q ${H} $L/clone && diff -r --no-dereference --exclude=.git $L/clone ${H}`, 'git clone from history')
  const ro = await m.sh(`touch ${H}/new.txt; git -C ${H} commit --allow-empty -qm nope`)
  t.match(ro.stderr, /Read-only file system/, 'the committed view is read-only')
  t.not(ro.code, 0)
  t.equal(await ok(t, m, `git --git-dir=${H}/.git log --format='%H %s'`, 'log after the refused commit'), log, 'a refused git commit changed nothing')
})

t.test('tar x into a branch folder gives what tar x gives on a plain folder: content, links, modes, mtimes', async t => {
  const m = await mountPfs(t)
  await ok(t, m, `
    mkdir -p src/a/b/c/d/e src/empty-dir src/x
    echo hello > src/a/hello.txt
    head -c 3000000 /dev/urandom > src/a/b/big.bin
    head -c 70000 /dev/urandom > src/a/b/c/d/e/mid.bin
    : > src/x/empty
    printf '#!/bin/sh\\n' > src/a/b/c/run.sh
    for i in $(seq 1 40); do seq 1 $i > src/x/n$i; done
    ln -s ../a/hello.txt src/x/link
    ln -s b/c src/a/dirlink
    ln -s /nowhere/at/all src/x/dangling
    chmod 751 src/a/b/c/run.sh; chmod 600 src/a/hello.txt; chmod 444 src/x/n7; chmod 4755 src/x/n8
    chmod 700 src/a/b; chmod 750 src/a/b/c/d
    touch -d '2001-02-03 04:05:06' src/a/hello.txt src/a/b/big.bin src/x/n1
    touch -d '1999-12-31 23:59:59' src/a/b/c/d/e/mid.bin src/x/empty
    touch -h -d '2002-01-01 00:00:00' src/x/link
    touch -d '2003-03-03 03:03:03' src/a/b/c/d src/empty-dir
    tar cf t.tar -C src .
    mkdir plain && tar xf t.tar -C plain
    mkdir $M/t $M/t/master $M/t/master/x
    tar xf t.tar -C $M/t/master/x`, 'tar x into the mount')
  await ok(t, m, 'diff -r --no-dereference plain $M/t/master/x', 'diff -r: same files, content and link targets')
  const plain = await ok(t, m, `cd plain && ${LISTING}`, 'listing of the plain folder')
  t.equal(await ok(t, m, `cd $M/t/master/x && ${LISTING}`, 'listing of the mount'), plain, 'same types, modes, sizes and link targets')
  const cmp = await m.sh('tar --compare -f t.tar -C $M/t/master/x')
  t.equal(cmp.code, 0, 'tar --compare finds no difference in the branch folder', { differences: cmp.stdout + cmp.stderr })
  const times = await ok(t, m, `cd plain && ${MTIMES}`, 'mtimes of the plain folder')
  t.equal(await ok(t, m, `cd $M/t/master/x && ${MTIMES}`, 'mtimes in the mount'), times, 'tar restored every mtime')

  t.equal((await m.pfs(['commit', 't@master', '-m', 'unpacked'])).code, 0, 'pfs commit')
  const H = `$M/t/.commits/${await head(m, 't')}/x`
  await ok(t, m, `diff -r --no-dereference plain ${H}`, 'the commit holds the same tree')
  t.equal(await ok(t, m, `cd ${H} && ${LISTING}`, 'listing of the commit'), plain, 'and the same modes and links')
  const cmpH = await m.sh(`tar --compare -f t.tar -C ${H}`)
  t.equal(cmpH.code, 0, 'tar --compare finds no difference in the commit', { differences: cmpH.stdout + cmpH.stderr })
})

t.test('rsync -a into a branch folder, again with a few changes, then with --delete', async t => {
  const m = await mountPfs(t)
  const T = '$M/data/master/tree'
  await ok(t, m, `
    mkdir -p tree/a/b/c tree/d tree/gone/deeper
    for i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom > tree/a/f$i; done
    head -c 3000000 /dev/urandom > tree/d/big
    for i in $(seq 1 5); do echo $i > tree/gone/deeper/g$i; done
    echo x > tree/a/b/c/deep.txt; echo y > tree/d/old.txt
    ln -s a/f1 tree/lnk; ln -s ../../d tree/a/b/up
    chmod 640 tree/a/f3; chmod 700 tree/a/b
    touch -d '2005-05-05 05:05:05' tree/a/f9 tree/d
    mkdir $M/data $M/data/master
    rsync -a tree/ ${T}/`, 'first rsync -a')
  await ok(t, m, `diff -r --no-dereference tree ${T}`, 'diff -r after the first rsync')
  const listing = async (dir: string): Promise<string> => await ok(t, m, `cd ${dir} && ${LISTING}`, `listing of ${dir}`)
  t.equal(await listing(T), await listing('tree'), 'types, modes, sizes and links as in the source')
  t.equal((await m.pfs(['commit', 'data@master', '-m', 'first sync'])).code, 0)
  const first = await head(m, 'data')

  const second = await ok(t, m, `
    echo appended >> tree/a/f5
    head -c 12345 /dev/urandom > tree/a/f7
    echo new > tree/a/b/c/new.txt
    rsync -a --itemize-changes tree/ ${T}/`, 'second rsync -a')
  const sent = (s: string): string[] => s.split('\n').filter(l => l.startsWith('>f')).map(l => l.slice(12)).sort()
  t.same(sent(second), ['a/b/c/new.txt', 'a/f5', 'a/f7'], 'rsync sends only the changed files', { itemized: second })
  await ok(t, m, `diff -r --no-dereference tree ${T}`, 'diff -r after the second rsync')
  t.equal((await m.pfs(['commit', 'data@master', '-m', 'second sync'])).code, 0)
  const diff = (await m.pfs(['diff', `data@${first}`, 'data@master'])).stdout
  t.same(diff.trim().split('\n').sort(), ['A\ttree/a/b/c/new.txt', 'M\ttree/a/f5', 'M\ttree/a/f7'], 'the commit changed only those files')

  const third = await ok(t, m, `
    rm -r tree/gone tree/d/old.txt tree/a/f11
    echo again >> tree/a/f12
    rsync -a --delete --itemize-changes tree/ ${T}/`, 'rsync -a --delete')
  t.same(third.split('\n').filter(l => l.startsWith('*deleting')).map(l => l.replace(/^\*deleting\s+/, '')).sort(),
    ['a/f11', 'd/old.txt', 'gone/', 'gone/deeper/', ...[1, 2, 3, 4, 5].map(i => `gone/deeper/g${i}`)].sort(), 'rsync --delete removes what the source lost')
  t.same(sent(third), ['a/f12'], 'and sends only the changed file', { itemized: third })
  await ok(t, m, `diff -r --no-dereference tree ${T}`, 'diff -r after rsync --delete')
  t.equal((await m.pfs(['commit', 'data@master', '-m', 'third sync'])).code, 0)
  await ok(t, m, `diff -r --no-dereference tree $M/data/.commits/${await head(m, 'data')}/tree`, 'the last commit equals the source')
  await ok(t, m, `diff -r --no-dereference $L/tree $M/data/master/tree && test ! -e $M/data/master~0/tree/gone && test -e $M/data/master~1/tree/gone/deeper/g3`, 'history keeps the deleted folder')
})

t.test('python seek, write, read and truncate give the same bytes as on a plain file', async t => {
  const m = await mountPfs(t)
  await ok(t, m, 'mkdir $M/py $M/py/master', 'repo and branch')
  // The real interpreter, not a version manager's shim (seconds per start on a busy machine).
  const py = `${(await ok(t, m, 'python3 -c "import sys; print(sys.executable)"', 'find python')).trim()} ${SEEK_WRITES}`
  for (const seed of [1, 2, 3]) {
    const inMount = await ok(t, m, `${py} $M/py/master/s${seed}.bin ${seed}`, `seed ${seed} in the mount`)
    const plain = await ok(t, m, `${py} $L/s${seed}.bin ${seed}`, `seed ${seed} on a plain file`)
    t.same(JSON.parse(inMount), JSON.parse(plain), `seed ${seed}: every read and the final bytes agree`)
    await ok(t, m, `cmp $M/py/master/s${seed}.bin $L/s${seed}.bin`, `seed ${seed}: cmp`)
  }
  t.equal((await m.pfs(['commit', 'py@master', '-m', 'seeked'])).code, 0)
  for (const seed of [1, 2, 3]) {
    const got = await m.pfs(['get', `py@master:s${seed}.bin`, '-o', `${m.local}/got${seed}.bin`])
    t.equal(got.code, 0)
    await ok(t, m, `cmp got${seed}.bin s${seed}.bin`, `seed ${seed}: the commit holds the same bytes`)
  }
  // The same again on files that are already committed: the spool starts from the commit.
  for (const seed of [1, 2, 3]) {
    const inMount = await ok(t, m, `${py} $M/py/master/s${seed}.bin ${seed + 10} --existing`, `seed ${seed + 10} over a committed file`)
    const plain = await ok(t, m, `${py} $L/s${seed}.bin ${seed + 10} --existing`, `seed ${seed + 10} on the plain copy`)
    t.same(JSON.parse(inMount), JSON.parse(plain), `seed ${seed + 10}: every read and the final bytes agree`)
  }
  t.equal((await m.pfs(['commit', 'py@master', '-m', 'seeked again'])).code, 0)
  await ok(t, m, 'for s in 1 2 3; do cmp $M/py/master/s$s.bin $L/s$s.bin; cmp $M/py/master~1/s$s.bin got$s.bin; done', 'both commits read back')
})
