// The mount's first promise: repos and branches are folders, history is read-only, and
// a write through the mount becomes a commit.
import t from 'tap'
import { mountPfs } from './helpers/mount.js'

t.test('write through the mount, commit, and read both versions', async t => {
  const m = await mountPfs(t)
  t.equal((await m.sh('mkdir $M/images && mkdir $M/images/master && ls $M $M/images')).stdout, `${m.dir}:\nimages\n\n${m.dir}/images:\nmaster\n`)
  t.equal((await m.sh('echo one > $M/images/master/a.txt && cat $M/images/master/a.txt')).stdout, 'one\n', 'read your writes')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'first'])).code, 0)
  await m.sh('echo two > $M/images/master/a.txt')
  t.equal((await m.pfs(['commit', 'images@master', '-m', 'second'])).code, 0)
  t.equal((await m.sh('cat $M/images/master/a.txt $M/images/master~1/a.txt $M/images/master^/a.txt')).stdout, 'two\none\none\n')
  const ids = (await m.sh('ls $M/images/.commits')).stdout.trim().split('\n')
  t.equal(ids.length, 2)
  const r = await m.sh(`cat $M/images/.commits/${ids[0]}/a.txt $M/images/${ids[1].slice(0, 8)}/a.txt`)
  t.equal(r.code, 0)
  t.same(r.stdout.split('\n').filter(Boolean).sort(), ['one', 'two'])
  const ro = await m.sh('echo x > $M/images/master~1/a.txt')
  t.match(ro.stderr, /Read-only file system/, 'history is read-only (EROFS)')
  t.match((await m.sh('cat $M/images/master/nope')).stderr, /No such file or directory/)
})

t.test('rmdir of a folder whose only file is still being written is ENOTEMPTY', async t => {
  const m = await mountPfs(t)
  await m.sh('mkdir -p $M/r && mkdir $M/r/master && mkdir $M/r/master/d')
  const r = await m.sh('exec 3>$M/r/master/d/open.txt; echo partial >&3; rmdir $M/r/master/d; echo "rmdir=$?"; exec 3>&-; cat $M/r/master/d/open.txt')
  t.match(r.stdout, /rmdir=1/, 'rmdir refused')
  t.match(r.stderr, /Directory not empty/)
  t.match(r.stdout, /partial/, 'the file is saved when closed')
})

