// The index is rebuilt from the object store alone (`pfs fsck --rebuild-index`), and the
// rebuilt index is the index the store had: same repos, branches, commits, reflog and
// object locations, key for key.
import t, { type Test } from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import type { Engine } from '../store/engine/engine.js'
import type { CommitInfo } from '../store/api/meta.js'
import { testStore, bytes, dumpIndex, snapshot, tempDir, type TestStore } from './helpers/store-checks.js'

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/**
 * A history with most kinds of change: several repos, branches made from revs and
 * deleted, a repo deleted and made again under the same name, copies across repos,
 * renames, folders, big and small files, an aborted session, an empty branch.
 */
async function buildHistory (s: TestStore, t: Test): Promise<void> {
  const pfs = s.pfs()
  const local = await tempDir(t)
  await fsp.mkdir(path.join(local, 'set/sub'), { recursive: true })
  for (let i = 0; i < 12; i++) await fsp.writeFile(path.join(local, 'set', i % 2 === 0 ? 'sub' : '', `f${i}.bin`), bytes(500 + i * 3000, 100 + i))
  await fsp.writeFile(path.join(local, 'set/big.bin'), bytes(1_500_000, 7))
  await fsp.symlink('f1.bin', path.join(local, 'set/link'))

  await pfs.createRepo('images', { description: 'cats and dogs' })
  await pfs.putFile('images', 'master', 'a/cat.png', bytes(70_000, 1), { message: 'first' })
  await pfs.putFile('images', 'master', 'a/dog.png', bytes(2_000_000, 2), { message: 'a big one' })
  await pfs.putLocal('images', 'master', 'sets/one', path.join(local, 'set'), { message: 'a folder' })
  await pfs.createBranch('images', 'dev', { from: 'master~1' })
  await pfs.startCommit('images', 'dev', { message: 'session' })
  await pfs.putFile('images', 'dev', 'b/bird.png', bytes(40_000, 3))
  await pfs.apply('images', 'dev', [{ op: 'rename', from: 'a/cat.png', path: 'b/cat.png' }, { op: 'mkdir', path: 'empty/dir', parents: true }])
  await pfs.finishCommit('images', 'dev', { message: 'moved the cat' })
  await pfs.apply('images', 'dev', [{ op: 'copy', from: { repo: 'images', rev: 'master', path: 'sets' }, path: 'copied-sets' }], { message: 'copy a folder' })
  await pfs.createBranch('images', 'scratch', { from: 'dev' })
  await pfs.putFile('images', 'scratch', 'tmp.txt', Buffer.from('soon gone'))
  await pfs.deleteBranch('images', 'scratch')
  await pfs.createBranch('images', 'scratch', { from: 'master' }) // the same name again
  await pfs.startCommit('images', 'master')
  await pfs.putFile('images', 'master', 'aborted.bin', bytes(600_000, 4))
  await pfs.abortCommit('images', 'master')
  await pfs.apply('images', 'master', [{ op: 'delete', path: 'a/dog.png' }, { op: 'setattr', path: 'a/cat.png', mode: 0o600 }], { message: 'rm dog' })

  await pfs.createRepo('logs')
  await pfs.putFile('logs', 'master', 'day1.log', bytes(10_000, 10))
  await pfs.putFile('logs', 'master', 'day2.log', bytes(3_000_000, 11))
  await pfs.createBranch('logs', 'old', { from: 'master^' })
  await pfs.deleteRepo('logs', { force: true })
  await pfs.createRepo('logs', { description: 'second life' })
  await pfs.putFile('logs', 'master', 'day1.log', bytes(10_000, 10)) // same bytes as the deleted repo had
  await pfs.apply('logs', 'master', [{ op: 'copy', from: { repo: 'images', rev: 'dev', path: 'b' }, path: 'from-images' }])
  await pfs.putFile('logs', 'feature', 'x/y/z.txt', Buffer.from('a branch made by its first put'))
  await pfs.putLocal('logs', 'feature', 'set', path.join(local, 'set')) // the same folder as in images
  await pfs.createBranch('logs', 'empty')

  await pfs.createRepo('gone')
  await pfs.createBranch('gone', 'master')
  await pfs.deleteRepo('gone')
  await pfs.createRepo('quiet')
}

async function allCommits (e: Engine, repo: string): Promise<CommitInfo[]> {
  const out: CommitInfo[] = []
  let after: string | undefined
  do {
    const page = await e.listCommits(repo, { after })
    out.push(...page.entries)
    after = page.next
  } while (after !== undefined)
  return out
}

/** `branch@{date}` answers at, just before and just after every reflog entry. */
async function historyAnswers (e: Engine): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const r of await e.listRepos()) {
    for (const b of await e.listBranches(r.name)) {
      // The reflog moves when the branch is made and at each of its commits.
      const commits = await allCommits(e, r.name)
      const moves = [
        b.created,
        ...commits.filter(c => c.branch === b.name && c.finished !== null).map(c => c.finished as number)
      ]
      const times = new Set<number>()
      for (const time of moves) for (const d of [-1, 0, 1]) times.add(time + d)
      times.add(Date.parse('2999-01-01T00:00:00Z'))
      for (const at of [...times].sort()) {
        const rev = `${b.name}@{${new Date(at).toISOString()}}`
        out[`${r.name}@${rev}`] = await e.resolve(r.name, rev).then(x => x.commit?.id ?? 'empty', err => `error ${String(err.code)}`)
      }
    }
  }
  return out
}

t.test('a rebuilt index is the index the store had, key for key', async t => {
  const s = await testStore(t)
  await buildHistory(s, t)
  const files = await snapshot(s.pfs())
  const answers = await historyAnswers(s.engine)
  t.ok(Object.values(answers).some(a => a === 'empty'), 'some dates fall before a branch had commits')
  t.ok(Object.values(answers).some(a => a.startsWith('error')), 'some dates fall before a branch existed')
  await s.close()
  const before = await dumpIndex(s.dir)
  t.ok(before.length > 50, `the index has ${before.length} keys`)

  const e = await s.reopen()
  const res = await e.rebuildIndex()
  t.equal(res.repos, 3, 'images, logs (made again) and quiet; not the deleted one')
  await s.close()
  const after = await dumpIndex(s.dir)
  t.same(after, before, 'the same keys and values after rebuildIndex()')

  await s.reopen()
  t.same(await historyAnswers(s.engine), answers, 'branch@{date} answers the same')
  t.same(await snapshot(s.pfs()), files, 'every commit reads the same bytes')
  t.same((await s.engine.fsck()).problems, [])
})

t.test('with the index folder gone, a rebuild brings it back the same', async t => {
  const s = await testStore(t)
  await buildHistory(s, t)
  const answers = await historyAnswers(s.engine)
  const files = await snapshot(s.pfs())
  await s.close()
  const before = await dumpIndex(s.dir)
  await fsp.rm(path.join(s.dir, 'index'), { recursive: true })
  await sleep(5) // a later clock than anything in the history

  await t.rejects(s.reopen(), { code: 'CORRUPT', message: /index of store .* is missing.*pfs fsck --rebuild-index/ },
    'a store whose data has no index is refused, with the way out')
  const e = await s.reopen({ repairIndex: true })
  t.same(await e.listRepos(), [], 'an empty index knows no repo')
  const res = await e.rebuildIndex()
  t.match(res, { repos: 3 })
  t.ok(res.commits > 5 && res.objects > 20, `rebuilt ${res.commits} commits, ${res.objects} objects`)
  await s.close()
  t.same(await dumpIndex(s.dir), before, 'the same keys and values as before the loss')

  await s.reopen()
  t.same(await historyAnswers(s.engine), answers, 'branch@{date} answers the same')
  t.same(await snapshot(s.pfs()), files, 'every commit reads the same bytes')
  t.same((await s.engine.fsck()).problems, [])
})
