// What a user finds under /pfs: repos and branches as folders, every rev git knows as a
// folder to cd into, .commits with every commit, history that refuses writes, and the
// commit behind any folder as an extended attribute.
import t from 'tap'
import { mountPfs, type Mount } from './helpers/mount.js'
import { pfsJson, python } from './helpers/mount-tools.js'
import type { CommitInfo, BranchInfo, RepoInfo } from '../store/api/meta.js'

const C = 'export LC_ALL=C; '
let m: Mount
let c1: CommitInfo, c2: CommitInfo, c3: CommitInfo, c4: CommitInfo
let then: string

/** Runs a script that must succeed (setup, not the thing under test). */
async function must (script: string): Promise<void> {
  const r = await m.sh(script)
  if (r.code !== 0) throw new Error(`${script}: ${r.stderr}`)
}

// images@master gets four commits through the mount: v.txt holds the commit's number,
// and the third adds a file.
t.before(async () => {
  m = await mountPfs(t)
  await must('mkdir $M/images $M/images/master')
  for (let i = 1; i <= 4; i++) {
    await must(`echo ${i} > $M/images/master/v.txt${i === 3 ? ' && echo new > $M/images/master/added-in-3.txt' : ''}`)
    await pfsJson(m, ['commit', 'images@master', '-m', `commit ${i}`])
    await new Promise(resolve => setTimeout(resolve, 300)) // commit times far enough apart for @{time}
  }
  const log = await pfsJson<CommitInfo[]>(m, ['log', 'images@master'])
  if (log.length !== 4) throw new Error(`expected 4 commits, got ${log.length}`)
  ;[c4, c3, c2, c1] = log
  // A moment after commit 2 and before commit 3: master@{then} is commit 2.
  then = new Date(Math.round(((c2.finished as number) + (c3.finished as number)) / 2)).toISOString()
})

t.test('every rev form is a folder you can cd into', async t => {
  const cases: Array<[string, string, string]> = [
    ['master', '4', 'added-in-3.txt\nv.txt\n'],
    ['master~3', '1', 'v.txt\n'],
    ['master^', '3', 'added-in-3.txt\nv.txt\n'],
    ['master^^', '2', 'v.txt\n'],
    [c2.id.slice(0, 8), '2', 'v.txt\n'],
    [`.commits/${c1.id}`, '1', 'v.txt\n'],
    [`master@{${then}}`, '2', 'v.txt\n'],
    [`master@{${then}}~1`, '1', 'v.txt\n']
  ]
  for (const [rev, v, ls] of cases) {
    const r = await m.sh(`${C}cd "$M/images/${rev}" && pwd && cat v.txt && ls`)
    t.equal(r.code, 0, `cd images/${rev}: ${r.stderr}`)
    t.equal(r.stdout, `${m.dir}/images/${rev}\n${v}\n${ls}`, `images/${rev} is commit ${v}`)
  }
  t.equal((await m.sh('cat $M/images/master~1/added-in-3.txt')).stdout, 'new\n', 'a file added in commit 3, read from master~1')
})

t.test('the repo folder shows its branches and .commits, which lists every commit newest first', async t => {
  t.equal((await m.pfs(['branch', 'create', 'images@dev', '--from', 'master'])).code, 0)
  await m.sh('echo dev > $M/images/dev/d.txt')
  t.equal((await m.pfs(['commit', 'images@dev', '-m', 'on dev'])).code, 0)
  const dev = (await pfsJson<CommitInfo[]>(m, ['log', 'images@dev', '-n', '1']))[0]
  t.equal((await m.sh(`${C}ls -a $M/images`)).stdout, '.\n..\n.commits\n.provenance\ndev\nmaster\n',
    'ls -a shows the branches, .commits and .provenance')
  t.equal((await m.sh(`${C}ls $M/images`)).stdout, 'dev\nmaster\n', 'plain ls hides .commits')
  t.equal((await m.sh(`${C}ls $M`)).stdout, 'images\n')
  const newestFirst = [dev.id, c4.id, c3.id, c2.id, c1.id]
  t.same((await m.sh('ls -U $M/images/.commits')).stdout.trim().split('\n'), newestFirst, 'ls -U: readdir order is newest first')
  const listed = await python(m, 'import os, json, sys; print(json.dumps(os.listdir(sys.argv[1])))', [`${m.dir}/images/.commits`])
  t.same(JSON.parse(listed.stdout), newestFirst, 'os.listdir agrees')
  t.equal((await m.sh(`cat $M/images/.commits/${dev.id}/d.txt`)).stdout, 'dev\n')
})

t.test('mkdir makes repos and branches; rmdir of either is not permitted', async t => {
  t.equal((await m.sh('mkdir $M/labels')).code, 0)
  t.ok((await pfsJson<RepoInfo[]>(m, ['repo', 'list'])).some(r => r.name === 'labels'), 'pfs repo list shows the new repo')
  t.equal((await m.sh('mkdir $M/labels/staging && ls $M/labels')).stdout, 'staging\n')
  t.same((await pfsJson<BranchInfo[]>(m, ['branch', 'list', 'labels'])).map(b => b.name), ['staging'], 'pfs branch list shows the new branch')
  for (const dir of ['labels/staging', 'labels', 'images/master', 'images/.commits']) {
    const r = await m.sh(`rmdir $M/${dir}`)
    t.not(r.code, 0)
    t.match(r.stderr, /Operation not permitted/, `rmdir ${dir}: EPERM`)
  }
  t.match((await m.sh('mv $M/labels/staging $M/labels/prod')).stderr, /Operation not permitted/, 'a branch folder cannot be renamed either')
  t.same((await pfsJson<BranchInfo[]>(m, ['branch', 'list', 'labels'])).map(b => b.name), ['staging'], 'the branch is still there')
  t.equal((await m.sh('cat $M/images/master/v.txt')).stdout, '4\n', 'and master keeps its files')
})

t.test('names that are not there are ENOENT', async t => {
  for (const p of ['nope', 'images/nope', 'images/master~9', 'images/master@{2000-01-01}', 'images/.commits/' + '0'.repeat(32), 'images/.commits/master', 'images/master/nope.txt', 'images/abcd0123']) {
    const r = await m.sh(`ls "$M/${p}"`)
    t.not(r.code, 0)
    t.match(r.stderr, /No such file or directory/, `${p}: ENOENT`)
  }
  t.match((await m.sh('cd $M/images/master~9')).stderr, /No such file or directory/, 'cd past the first commit')
})

t.test('history refuses every kind of write with EROFS', async t => {
  for (const dir of ['images/master~1', `images/.commits/${c2.id}`]) {
    const writes = [
      'echo x > $D/new.txt',
      'echo x >> $D/v.txt',
      'echo x > $D/v.txt',
      'truncate -s 0 $D/v.txt',
      'mkdir $D/sub',
      'rm $D/v.txt',
      'mv $D/v.txt $D/w.txt',
      'mv $D/v.txt $M/images/master/moved.txt',
      'chmod 600 $D/v.txt',
      'touch $D/v.txt',
      'touch $D/new.txt',
      'ln -s v.txt $D/link'
    ]
    for (const w of writes) {
      const r = await m.sh(`D="$M/${dir}"; ${w}`)
      t.not(r.code, 0, `${dir}: ${w} fails`)
      t.match(r.stderr, /Read-only file system/, `${dir}: ${w} is EROFS`)
    }
    const after = await m.sh(`${C}cd "$M/${dir}" && stat -c %a v.txt && cat v.txt && ls`)
    t.equal(after.stdout, dir.includes('~1') ? '644\n3\nadded-in-3.txt\nv.txt\n' : '644\n2\nv.txt\n', `${dir} is unchanged`)
  }
  t.equal((await m.sh(`${C}ls $M/images/master`)).stdout, 'added-in-3.txt\nv.txt\n', 'nothing leaked into the branch')
})

t.test('a hard link is refused (EPERM)', async t => {
  const r = await m.sh('ln $M/images/master/v.txt $M/images/master/hard.txt')
  t.not(r.code, 0)
  t.match(r.stderr, /Operation not permitted/)
  t.match((await m.sh('ls $M/images/master/hard.txt')).stderr, /No such file or directory/)
})

t.test('extended attributes name the commit, repo and branch behind a folder', async t => {
  const xattrs = async (p: string): Promise<Record<string, string>> => {
    const r = await python(m, [
      'import os, json, sys',
      'p = sys.argv[1]',
      'print(json.dumps({n: os.getxattr(p, n).decode() for n in os.listxattr(p)}))'
    ].join('\n'), [p])
    t.equal(r.code, 0, r.stderr)
    const all = JSON.parse(r.stdout) as Record<string, string>
    // A commit's (or branch's) folder also says where the commit came from; checked once below.
    const { 'user.pfs.provenance': provenance, ...rest } = all
    if (provenance !== undefined) {
      t.match(JSON.parse(provenance), { commit: rest['user.pfs.commit'], origin: 'user', inputs: [], failed: false })
    }
    return rest
  }
  const head = await pfsJson<CommitInfo>(m, ['inspect', 'images@master'])
  t.equal(head.id, c4.id)
  const want = { 'user.pfs.commit': head.id, 'user.pfs.repo': 'images', 'user.pfs.branch': 'master' }
  t.same(await xattrs(`${m.dir}/images/master`), want, 'the branch folder: the commit pfs inspect names')
  const listed = await python(m, 'import os, sys\nprint(" ".join(sorted(os.listxattr(sys.argv[1]))))', [`${m.dir}/images/master`])
  t.match(listed.stdout, /user\.pfs\.provenance/, 'a commit\'s folder lists its provenance')
  const inFile = await python(m, 'import os, sys\nprint(" ".join(sorted(os.listxattr(sys.argv[1]))))', [`${m.dir}/images/master/v.txt`])
  t.notMatch(inFile.stdout, /provenance/, 'a file in it does not')
  t.same(await xattrs(`${m.dir}/images/master/v.txt`), want, 'a file in it: the same')
  t.same(await xattrs(`${m.dir}/images/master~1/v.txt`), { ...want, 'user.pfs.commit': c3.id }, 'master~1: commit 3')
  t.same(await xattrs(`${m.dir}/images/.commits/${c1.id}`), { ...want, 'user.pfs.commit': c1.id }, '.commits/<id>: that commit')
  t.same(await xattrs(`${m.dir}/images/${c2.id.slice(0, 8)}/v.txt`), { ...want, 'user.pfs.commit': c2.id }, 'an id prefix: that commit')
  t.same(await xattrs(`${m.dir}/images/dev`), { ...want, 'user.pfs.commit': (await pfsJson<CommitInfo>(m, ['inspect', 'images@dev'])).id, 'user.pfs.branch': 'dev' })
  // While a write session is open, the branch folder shows it, and so does pfs inspect.
  await m.sh('echo 5 > $M/images/master/v.txt')
  const open = await pfsJson<CommitInfo>(m, ['inspect', 'images@master'])
  t.equal(open.finished, null, 'a session is open')
  t.equal((await xattrs(`${m.dir}/images/master`))['user.pfs.commit'], open.id, 'the branch folder names the open commit')
  t.equal((await m.pfs(['abort', 'images@master'])).code, 0)
  const errnoOf = async (p: string, name: string): Promise<string> =>
    (await python(m, 'import os, sys, errno\ntry:\n  os.getxattr(sys.argv[1], sys.argv[2])\nexcept OSError as e:\n  print(errno.errorcode[e.errno])', [p, name])).stdout
  t.equal(await errnoOf(`${m.dir}/images/master/nope.txt`, 'user.pfs.commit'), 'ENOENT\n', 'no attributes for a file that is not there')
  t.equal(await errnoOf(`${m.dir}/images/master/v.txt`, 'user.other'), 'ENODATA\n', 'an attribute pfs does not keep')
  t.equal(await errnoOf(`${m.dir}/images`, 'user.pfs.repo'), 'ENODATA\n', 'the repo folder names no commit')
})

t.test('df works on the mount', async t => {
  const r = await m.sh('df -P $M')
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout.split('\n')[1], new RegExp(`^pfs\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+%\\s+${m.dir}$`))
  const v = await python(m, 'import os, sys; s = os.statvfs(sys.argv[1]); print(s.f_blocks > 0, s.f_bavail <= s.f_blocks, s.f_namemax)', [m.dir])
  t.equal(v.stdout, 'True True 255\n')
})
