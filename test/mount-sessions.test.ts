// A branch folder is the branch's write session: what a program writes there is what
// every pfs command sees, until a commit (pfs commit, unmount, or idle) makes it history
// or pfs abort throws it away. A crash loses nothing that was fsynced or committed.
import t, { type Test } from 'tap'
import { readFileSync, readdirSync, existsSync, promises as fsp } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { mountPfs, type Mount } from './helpers/mount.js'
import { pfsJson, pythonInBackground, until } from './helpers/mount-tools.js'
import type { BranchInfo, CommitInfo, FileInfo } from '../store/api/meta.js'

/** A mount with repo `images` and its branch `master`, made through the mount. */
async function withImages (t: Test, args: string[] = []): Promise<Mount> {
  const m = await mountPfs(t, { args })
  const r = await m.sh('mkdir $M/images $M/images/master')
  if (r.code !== 0) throw new Error(r.stderr)
  return m
}

const log = async (m: Mount, rev = 'images@master'): Promise<CommitInfo[]> => await pfsJson<CommitInfo[]>(m, ['log', rev])
/** Finished commits only: `pfs log` of a branch starts at its open commit, if any. */
const finished = async (m: Mount, rev = 'images@master'): Promise<CommitInfo[]> => (await log(m, rev)).filter(c => c.finished !== null)
const branch = async (m: Mount, repo: string, name: string): Promise<BranchInfo | undefined> =>
  (await pfsJson<BranchInfo[]>(m, ['branch', 'list', repo])).find(b => b.name === name)
const cat = async (m: Mount, p: string): Promise<string> => (await m.sh(`cat "$M/${p}"`)).stdout
/** Where a mount process spools open files (bin/commands/mount.ts names it by pid). */
const spoolDir = (pid: number | undefined): string => path.join(os.tmpdir(), `pfs-spool-${String(pid)}`)
const spoolFiles = (pid: number | undefined): string[] => existsSync(spoolDir(pid)) ? readdirSync(spoolDir(pid)) : []
const mountedAt = (dir: string): boolean => readFileSync('/proc/mounts', 'utf8').split('\n').some(l => l.split(' ')[1] === dir)

t.test('a writer reads its own writes; pfs commit makes them history next to the old version', async t => {
  const m = await withImages(t)
  await m.sh('printf "first\\n" > $L/a.txt && cp $L/a.txt $M/images/master/a.txt')
  t.equal(await cat(m, 'images/master/a.txt'), 'first\n', 'read your writes before any commit')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'first'])).code, 0)
  t.equal((await m.sh('echo second > $M/images/master/a.txt && echo more >> $M/images/master/a.txt && cat $M/images/master/a.txt')).stdout, 'second\nmore\n')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'second'])).code, 0)
  const [c2, c1] = await log(m)
  t.same([c2.message, c1.message], ['second', 'first'])
  t.equal(await cat(m, 'images/master/a.txt'), 'second\nmore\n', 'the branch shows the new version')
  t.equal(await cat(m, 'images/master~1/a.txt'), 'first\n', 'master~1 the old one')
  t.equal(await cat(m, `images/.commits/${c1.id}/a.txt`), 'first\n')
  t.equal((await m.pfs(['cat', `images@${c2.id}:a.txt`])).stdout, 'second\nmore\n', 'and pfs cat agrees')
})

t.test('other pfs commands see the files of an open session', async t => {
  const m = await withImages(t)
  await m.sh('mkdir $M/images/master/cats && echo meow > $M/images/master/cats/1.txt && cp $M/images/master/cats/1.txt $M/images/master/cats/2.txt')
  const b = await branch(m, 'images', 'master')
  t.ok(b?.open, 'the mount opened a write session')
  t.equal(b?.head, null, 'nothing is committed yet')
  t.same((await pfsJson<FileInfo[]>(m, ['ls', 'images@master:cats'])).map(e => e.name), ['1.txt', '2.txt'], 'pfs ls shows the session\'s files')
  t.equal((await m.pfs(['cat', 'images@master:cats/2.txt'])).stdout, 'meow\n', 'pfs cat reads them')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'cats'])).code, 0)
  t.equal((await branch(m, 'images', 'master'))?.open, null, 'the session is closed by the commit')
})

t.test('pfs abort discards the session and the mount shows the old state again', async t => {
  const m = await withImages(t)
  await m.sh('echo kept > $M/images/master/a.txt')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'kept'])).code, 0)
  await m.sh('echo thrown-away > $M/images/master/a.txt && echo new > $M/images/master/b.txt && rm $M/images/master/a.txt && echo again > $M/images/master/a.txt')
  t.equal((await m.sh('cat $M/images/master/a.txt $M/images/master/b.txt')).stdout, 'again\nnew\n')
  t.equal((await m.pfs(['abort', 'images@master'])).code, 0)
  const took = await until(async () => {
    const r = await m.sh('export LC_ALL=C; ls $M/images/master && cat $M/images/master/a.txt')
    return r.stdout === 'a.txt\nkept\n'
  }, 3000)
  t.ok(took >= 0 && took <= 1500, `the mount shows the committed state within ~1 s (took ${took} ms)`)
  t.match((await m.sh('cat $M/images/master/b.txt')).stderr, /No such file or directory/)
  t.equal((await log(m)).length, 1, 'no commit came of it')
})

t.test('a clean unmount commits every changed session with a default message', async t => {
  const m = await withImages(t)
  await m.sh('mkdir $M/labels $M/labels/master $M/images/untouched && echo x > $M/images/untouched/x.txt')
  t.equal((await m.pfs(['commit', 'images@untouched', '-m', 'before'])).code, 0)
  t.equal((await m.pfs(['branch', 'create', 'images@dev'])).code, 0)
  await m.sh('echo m > $M/images/master/m.txt && echo d > $M/images/dev/d.txt && echo l > $M/labels/master/l.txt')
  // A file still open for writing when the mount stops is saved too.
  const holder = await pythonInBackground(t, m, [
    'import os, sys, time',
    'fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
    'os.write(fd, b"written, not closed")',
    'open("ready", "w").close()',
    'time.sleep(120)'
  ].join('\n'), [`${m.dir}/images/master/open.txt`])
  t.ok(await holder.reached('ready'), await holder.log())
  await m.stop()
  t.equal(m.proc.exitCode, 0, m.output())
  holder.kill()
  t.notOk(mountedAt(m.dir), 'unmounted')
  t.notOk(existsSync(spoolDir(m.proc.pid)), 'and no spool folder is left behind')
  for (const [rev, file, content] of [['images@master', 'm.txt', 'm\n'], ['images@dev', 'd.txt', 'd\n'], ['labels@master', 'l.txt', 'l\n'], ['images@master', 'open.txt', 'written, not closed']]) {
    const [c] = await log(m, rev)
    t.equal(c?.message, 'commit on unmount', `${rev} is committed`)
    t.equal(c?.finished !== null, true)
    t.equal((await m.pfs(['cat', `${rev}:${file}`])).stdout, content, `${rev}:${file}`)
  }
  t.same((await log(m, 'images@untouched')).map(c => c.message), ['before'], 'an unchanged branch gets no commit')
  t.match(m.output(), /committed images@master /)
  t.match(m.output(), /committed labels@master /)
})

t.test('--idle-commit 2 commits a quiet session, never one with a file open', async t => {
  const m = await withImages(t, ['--idle-commit', '2'])
  await m.sh('echo one > $M/images/master/a.txt')
  const closed = Date.now()
  t.ok(await until(async () => (await finished(m)).length === 1, 8000) >= 0, 'an idle commit came')
  const after = ((await finished(m))[0]?.finished ?? 0) - closed
  t.ok(after >= 1500 && after <= 4000, `about 2 s after the file was closed, not at once (${after} ms)`)
  t.match((await finished(m))[0]?.message, /idle/)
  t.equal((await m.pfs(['cat', 'images@master:a.txt'])).stdout, 'one\n')

  // A writer holding its file open keeps the session open, however long it waits.
  const holder = await pythonInBackground(t, m, [
    'import os, sys, time',
    'fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
    'os.write(fd, b"part1 ")',
    'open("ready", "w").close()',
    'while not os.path.exists("go"): time.sleep(0.05)',
    'os.write(fd, b"part2")',
    'os.close(fd)',
    'open("closed", "w").close()'
  ].join('\n'), [`${m.dir}/images/master/held.txt`])
  t.ok(await holder.reached('ready'), await holder.log())
  await m.sh('echo two > $M/images/master/b.txt') // a session with a closed change, plus the held file
  await new Promise(resolve => setTimeout(resolve, 5000))
  t.equal((await finished(m)).length, 1, 'no idle commit while a file is open for writing')
  t.ok((await branch(m, 'images', 'master'))?.open, 'the session is still open')
  await holder.signal('go')
  t.ok(await holder.reached('closed'), await holder.log())
  t.ok(await until(async () => (await finished(m)).length === 2, 6000) >= 0, 'committed once the writer closed and 2 s passed')
  t.equal((await m.pfs(['cat', 'images@master:held.txt'])).stdout, 'part1 part2')
  t.equal((await m.pfs(['cat', 'images@master:b.txt'])).stdout, 'two\n')
})

t.test('a branch changed by pfs put while mounted shows up in the mount', async t => {
  const m = await withImages(t)
  await m.sh('echo old > $M/images/master/a.txt')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'old'])).code, 0)
  t.equal((await m.sh('export LC_ALL=C; ls $M/images/master && cat $M/images/master/a.txt')).stdout, 'a.txt\nold\n', 'the mount has seen (and cached) the branch')
  await m.sh('echo new > $L/a.txt && echo cli > $L/b.txt')
  t.equal((await m.pfs(['put', 'images@master:a.txt', `${m.local}/a.txt`])).code, 0)
  t.equal((await m.pfs(['put', 'images@master:b.txt', `${m.local}/b.txt`])).code, 0)
  const took = await until(async () => (await m.sh('export LC_ALL=C; ls $M/images/master && cat $M/images/master/a.txt $M/images/master/b.txt')).stdout === 'a.txt\nb.txt\nnew\ncli\n', 4000)
  t.ok(took >= 0 && took <= 2000, `the mount shows the CLI's commits within 2 s (took ${took} ms)`)
  t.equal(await cat(m, 'images/master~2/a.txt'), 'old\n', 'two puts, two commits')
})

t.test('pfs unmount <dir> stops the mount cleanly and commits', async t => {
  const m = await withImages(t)
  await m.sh('echo bye > $M/images/master/a.txt')
  const exited = new Promise<number | null>(resolve => m.proc.once('exit', code => resolve(code)))
  const r = await m.pfs(['unmount', m.dir])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, `unmounted ${m.dir}\n`)
  t.equal(await exited, 0, 'the mount process ended on its own, cleanly')
  t.notOk(mountedAt(m.dir), 'nothing is mounted there any more')
  const [c] = await log(m)
  t.equal(c?.message, 'commit on unmount')
  t.equal((await m.pfs(['cat', 'images@master:a.txt'])).stdout, 'bye\n')
  t.match((await m.pfs(['unmount', m.dir])).stderr, /nothing is mounted there/, 'a second unmount says so')
})

t.test('a stale mount left by a crash is cleared by the next mount', async t => {
  const m = await withImages(t)
  await m.sh('echo safe > $M/images/master/a.txt')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'safe'])).code, 0)
  await m.kill()
  t.match((await m.sh('ls $M')).stderr, /Transport endpoint is not connected/, 'the crashed mount is stale')
  t.ok(mountedAt(m.dir))
  await m.start()
  t.match(m.output(), /stale mount/, 'the new mount says it cleared the stale one')
  t.equal(await cat(m, 'images/master/a.txt'), 'safe\n', 'and works')
  t.equal(readFileSync('/proc/mounts', 'utf8').split('\n').filter(l => l.split(' ')[1] === m.dir).length, 1, 'mounted once, not stacked')
  // pfs unmount clears a dead mount too.
  await m.kill()
  const r = await m.pfs(['unmount', m.dir])
  t.equal(r.code, 0, r.stderr)
  t.notOk(mountedAt(m.dir), 'pfs unmount cleared the dead mount')
  t.equal((await m.sh('ls $M')).code, 0, 'the folder is a plain folder again')
})

t.test('pfs unmount fails, and says why, when the mount cannot be detached', async t => {
  const m = await withImages(t)
  await m.kill()
  // fusermount and umount that refuse, as they do for a mount still in use.
  const bin = path.join(m.local, 'refusing')
  await fsp.mkdir(bin)
  for (const cmd of ['fusermount', 'umount']) {
    await fsp.writeFile(path.join(bin, cmd), `#!/bin/sh\necho "${cmd}: device is busy" >&2\nexit 1\n`, { mode: 0o755 })
  }
  const r = await m.pfs(['unmount', m.dir], { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } })
  t.not(r.code, 0, 'a failure, not a success')
  t.equal(r.stdout, '', 'never "unmounted"')
  t.match(r.stderr, /^pfs: could not unmount [^\n]*fusermount: device is busy[^\n]*umount: device is busy[^\n]*\n$/, 'one line with what both said')
  t.ok(mountedAt(m.dir), 'and it is indeed still mounted')
  const again = await m.pfs(['unmount', m.dir])
  t.equal(again.code, 0, again.stderr)
  t.notOk(mountedAt(m.dir), 'with working tools it unmounts')
})

t.test('PFS_SERVER set but empty means no server: the mount owns the store and serves it', async t => {
  const m = await mountPfs(t, { env: { PFS_SERVER: '' } })
  t.equal((await m.sh('mkdir $M/images $M/images/master && echo x > $M/images/master/a.txt')).code, 0)
  const list = await m.pfs(['ls', 'images@master'])
  t.equal(list.code, 0, `other commands reach the store through the mount (${list.stderr.trim()})`)
  t.equal(list.stdout, 'a.txt\n')
  await m.stop()
  t.equal((await m.pfs(['cat', 'images@master:a.txt'])).stdout, 'x\n', 'committed on unmount, and the store is free again')
})

t.test('SIGKILL mid-write: fsynced files are in the session, finished commits are intact', async t => {
  const m = await withImages(t)
  await m.sh('head -c 3000000 /dev/urandom > $L/base.bin && cp $L/base.bin $M/images/master/base.bin')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'base'])).code, 0)
  const [base] = await log(m)
  const writer = await pythonInBackground(t, m, [
    'import os, sys, time',
    'fd = os.open(sys.argv[1] + "/synced.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
    'os.write(fd, b"durable " * 1000)',
    'os.fsync(fd)',
    'g = os.open(sys.argv[1] + "/unsynced.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
    'os.write(g, b"maybe lost")',
    'open("ready", "w").close()',
    'while True:',
    '  os.write(g, b"x" * 65536)',
    '  time.sleep(0.01)'
  ].join('\n'), [`${m.dir}/images/master`])
  t.ok(await writer.reached('ready'), await writer.log())
  const crashed = m.proc.pid
  await m.kill()
  writer.kill()
  t.same(spoolFiles(crashed), [], 'the killed mount left no spooled bytes on disk')
  await m.start()
  t.equal((await m.pfs(['cat', 'images@master:synced.txt'])).stdout, 'durable '.repeat(1000), 'the fsynced file survived with its bytes')
  t.ok((await branch(m, 'images', 'master'))?.open, 'in the open session')
  t.equal(await cat(m, 'images/master/synced.txt'), 'durable '.repeat(1000), 'and the mount shows it')
  t.match((await m.pfs(['cat', 'images@master:unsynced.txt'])).stderr, /not found|no such/i, 'the file never closed nor fsynced is not there (not torn)')
  const [head] = await log(m, `images@${base.id}`)
  t.equal(head.id, base.id, 'the finished commit is intact')
  t.ok((await m.sh(`cmp $L/base.bin $M/images/.commits/${base.id}/base.bin`)).code === 0, 'with its bytes')
  const fsck = await m.pfs(['fsck'])
  t.equal(fsck.code, 0, fsck.stdout + fsck.stderr)
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'after the crash'])).code, 0, 'the surviving session can be committed')
})
