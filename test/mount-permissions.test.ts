// Who may do what through the mount. Mounted for its owner alone, nobody else can even
// look; with --allow-other, everyone else meets the files' permission bits, checked by the
// kernel (default_permissions), as on any disk.
import t from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { mountPfs } from './helpers/mount.js'

const asNobody = (cmd: string): string => `runuser -u nobody -- sh -c '${cmd}'`

t.test('with --allow-other, another user can read a 0644 file but not append to it, chmod it or delete it', async t => {
  if (process.getuid?.() !== 0) { t.pass('needs root to run a command as another user'); return }
  const m = await mountPfs(t, { args: ['--allow-other'] })
  // Let the other user reach the mount point through the test's temp folder.
  await fsp.chmod(path.dirname(m.dir), 0o755)
  const setup = await m.sh('set -e; mkdir $M/r $M/r/master; echo secret > $M/r/master/f; chmod 644 $M/r/master/f')
  t.equal(setup.code, 0, setup.stderr)
  t.equal((await m.pfs(['commit', 'r@master', '-m', 'root\'s file'])).code, 0)

  const read = await m.sh(asNobody('cat $M/r/master/f'))
  t.equal(read.stdout, 'secret\n', 'readable by others, as its mode says')
  const append = await m.sh(asNobody('echo more >> $M/r/master/f'))
  t.not(append.code, 0, 'append refused')
  t.match(append.stderr, /Permission denied/)
  const chmod = await m.sh(asNobody('chmod 666 $M/r/master/f'))
  t.not(chmod.code, 0, 'chmod refused')
  t.match(chmod.stderr, /Operation not permitted/)
  const rm = await m.sh(asNobody('rm -f $M/r/master/f'))
  t.not(rm.code, 0, 'delete refused')
  t.match(rm.stderr, /Permission denied/)
  const create = await m.sh(asNobody('echo x > $M/r/master/new'))
  t.not(create.code, 0, 'and no new file in root\'s 0755 folder')

  const after = await m.sh('cat $M/r/master/f; stat -c %a $M/r/master/f; ls $M/r/master')
  t.equal(after.stdout, 'secret\n644\nf\n', 'the file is as root left it')
  t.equal((await m.sh('echo mine >> $M/r/master/f && cat $M/r/master/f')).stdout, 'secret\nmine\n', 'its owner still writes')
  const st = await m.pfs(['branch', 'list', 'r', '--json'])
  t.equal(JSON.parse(st.stdout)[0].open !== null, true, 'only the owner\'s append opened a session')
})

t.test('without --allow-other, another user cannot see into the mount at all', async t => {
  if (process.getuid?.() !== 0) { t.pass('needs root to run a command as another user'); return }
  const m = await mountPfs(t)
  await fsp.chmod(path.dirname(m.dir), 0o755)
  t.equal((await m.sh('mkdir $M/r $M/r/master && echo hi > $M/r/master/f')).code, 0)
  const look = await m.sh(asNobody('ls $M/r/master'))
  t.not(look.code, 0)
  t.match(look.stderr, /Permission denied/)
})
