// kill -9 of the mount in the middle of writing, three times over: the store stays whole.
// What was fsynced is there with its bytes, a file that was still being written is
// as of a close: absent, empty or complete (never torn), fsck is clean, and the dead mount left no lock behind.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { mountPfs } from './helpers/mount.js'

const BIG = 50 * 1024 * 1024
/** How much of the big file is written when the mount is killed, per round. */
const KILL_AT = [8 << 20, 30 << 20, BIG]

t.test('SIGKILL of the mount during a 50 MiB write and fsynced small writes, then remount; three times', async t => {
  const m = await mountPfs(t)
  const setup = await m.sh(`set -e; mkdir $M/k $M/k/master; head -c ${BIG} /dev/urandom > big.src`)
  t.equal(setup.code, 0, 'a repo, and 50 MiB of random bytes to write', { stderr: setup.stderr })

  for (const [i, killAt] of KILL_AT.entries()) {
    const round = i + 1
    await t.test(`round ${round}: killed when ${killAt >> 20} MiB of the big file are written`, async t => {
      const big = `big-${round}.bin`
      // Small files: each is logged (outside the mount) only once its fsync returned.
      // The big one: dd, fed at about 25 MiB/s so that the kill lands mid-write.
      const writing = m.sh(`
        python3 -c '
import os, hashlib, sys
log = open("synced-${round}.txt", "a")
for i in range(400):
    name = "small-${round}-%d" % i
    data = os.urandom(1 + (i * 7919) % 120000)
    fd = os.open(os.environ["M"] + "/k/master/" + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    log.write("%s %s\\n" % (name, hashlib.sha256(data).hexdigest())); log.flush(); os.fsync(log.fileno())
    os.close(fd)
' &
        python3 -c '
import sys, time
src = open("big.src", "rb")
while (b := src.read(1 << 20)):
    sys.stdout.buffer.write(b); sys.stdout.flush(); time.sleep(0.04)
' | dd of=$M/k/master/${big} bs=1M iflag=fullblock status=none
        echo "dd exit $?"
        wait`, { timeoutMs: 120_000 })
      let written = 0
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        const s = await m.sh(`stat -c %s $M/k/master/${big} 2>/dev/null; wc -l < synced-${round}.txt 2>/dev/null`)
        const [size, synced] = s.stdout.trim().split('\n').map(Number)
        written = size ?? 0
        if (written >= killAt && (synced ?? 0) >= 3) break
        await sleep(20)
      }
      await m.kill()
      const w = await writing
      t.comment(`killed with ${(written / 2 ** 20).toFixed(1)} MiB of ${big} written; ${w.stdout.trim()}`)

      const list = await m.pfs(['repo', 'list'])
      t.equal(list.code, 0, 'CLI commands work while the mount is dead: the LevelDB lock was released', { stderr: list.stderr })
      t.match(list.stdout, /^k\s/m)

      await m.start()
      t.match(m.output(), /stale mount/, 'the remount cleared the stale mount point')
      const alive = await m.sh(`echo alive-${round} > $M/k/master/alive-${round} && cat $M/k/master/alive-${round} && ls $M/k/master | wc -l`)
      t.equal(alive.stdout.split('\n')[0], `alive-${round}`, 'the new mount reads and writes', { stderr: alive.stderr })

      const synced = (await m.sh(`cat synced-${round}.txt`)).stdout.trim().split('\n').filter(Boolean)
      t.ok(synced.length >= 3, `${synced.length} small files were fsynced before the kill`)
      const check = await m.sh(`cd $M/k/master && sha256sum ${synced.map(l => l.split(' ')[0]).join(' ')} | awk '{print $2" "$1}'`)
      t.equal(check.stdout, synced.map(l => l + '\n').join(''), 'every fsynced file is there with its bytes', { stderr: check.stderr })

      const whole = async (where: string): Promise<string> => {
        const r = await m.sh(`f=${where}; if [ ! -e "$f" ]; then echo absent; elif [ ! -s "$f" ]; then echo empty; elif cmp -s "$f" big.src; then echo complete; else echo "torn: $(stat -c %s "$f") bytes"; fi`)
        return r.stdout.trim()
      }
      // dd opens the file, dup2()s it to stdout and closes the first fd: that close(2)
      // puts the then-empty file into the session. So the file is in the state of its
      // last close or fsync (absent, empty, or whole), never a partial length.
      t.match(await whole(`$M/k/master/${big}`), /^(absent|empty|complete)$/, 'the interrupted big file is as of a close: absent, empty or complete, never torn, in the branch folder')

      const commit = await m.pfs(['commit', 'k@master', '-m', `after crash ${round}`])
      t.equal(commit.code, 0, 'pfs commit after the remount', { stderr: commit.stderr })
      const id = (JSON.parse((await m.pfs(['log', 'k', '-n', '1', '--json'])).stdout) as Array<{ id: string }>)[0].id
      t.match(await whole(`$M/k/.commits/${id}/${big}`), /^(absent|empty|complete)$/, 'and the same in the commit')
      const inCommit = await m.sh(`cd $M/k/.commits/${id} && sha256sum ${synced.map(l => l.split(' ')[0]).join(' ')} | awk '{print $2" "$1}'`)
      t.equal(inCommit.stdout, synced.map(l => l + '\n').join(''), 'the commit holds every fsynced file with its bytes', { stderr: inCommit.stderr })
      const [lastName, lastHash] = synced[synced.length - 1].split(' ')
      const got = await m.pfs(['get', `k@${id}:${lastName}`, '-o', `${m.local}/got-${round}`])
      t.equal(got.code, 0)
      t.equal((await m.sh(`sha256sum < got-${round} | cut -d' ' -f1`)).stdout.trim(), lastHash, 'pfs get returns the last fsynced file whole')
      const fsck = await m.pfs(['fsck'])
      t.equal(fsck.code, 0, 'pfs fsck is clean', { out: fsck.stdout + fsck.stderr })
    })
  }
  await m.stop()
  t.equal(m.proc.exitCode, 0, 'a clean stop at the end', { output: m.output() })
  const fsck = await m.pfs(['fsck'])
  t.equal(fsck.code, 0, 'fsck is clean with the mount stopped', { out: fsck.stdout + fsck.stderr })
})
