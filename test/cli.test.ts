/**
 * The command line as a user meets it: the built binary, a fresh store, real local files.
 * Steps run in order and build on each other, like a shell session.
 */
import t, { type Test } from 'tap'
import { readFileSync, readdirSync, mkdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { pfsCli, PFS_BIN, type RunResult } from './helpers/cli.js'

const ok = (t: Test, r: RunResult): RunResult => {
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.trim() || 'empty'})`)
  return r
}
const lines = (s: string): string[] => s.split('\n').filter(l => l !== '')

t.test('a user versions a folder of data from the command line', async t => {
  const { run, files, local } = pfsCli(t)
  const png1 = randomBytes(5000)
  files({ 'labels.csv': 'cat,1\n', 'cats/1.png': png1, 'cats/2.png': randomBytes(3000), 'cats/sub/d.txt': 'deep\n' })

  await t.test('creating a repo shows it in the list', async t => {
    t.match(ok(t, await run(['repo', 'create', 'images', '-d', 'training images'])).stdout, /created repo images/)
    t.match(ok(t, await run(['repo', 'list'])).stdout, /images.*training images/)
    const repos = JSON.parse(ok(t, await run(['repo', 'list', '--json'])).stdout)
    t.match(repos, [{ name: 'images', description: 'training images' }])
  })

  await t.test('putting a file, a folder and stdin makes a commit each', async t => {
    t.match(ok(t, await run(['put', 'images@master:labels.csv', 'labels.csv', '-m', 'labels'])).stdout, /images@master:labels\.csv.*committed/)
    t.match(ok(t, await run(['put', 'images@master', 'cats'])).stdout, /images@master:cats/)
    t.match(ok(t, await run(['put', 'images@master:notes/readme.txt', '-'], { input: 'hello\n' })).stdout, /stdin -> images@master:notes\/readme\.txt/)
    const log = JSON.parse(ok(t, await run(['log', 'images', '--json'])).stdout)
    t.equal(log.length, 3)
    t.match(log[2], { message: 'labels', parent: null, id: /^[0-9a-f]{32}$/ })
  })

  await t.test('ls lists a folder, recursively and long', async t => {
    t.same(lines(ok(t, await run(['ls', 'images@master'])).stdout), ['cats/', 'labels.csv', 'notes/'])
    t.same(lines(ok(t, await run(['ls', 'images'])).stdout), ['cats/', 'labels.csv', 'notes/'], 'master by default')
    t.same(lines(ok(t, await run(['ls', '-r', 'images@master:cats'])).stdout), ['1.png', '2.png', 'sub/', 'sub/d.txt'])
    const long = ok(t, await run(['ls', '-l', 'images@master:cats'])).stdout
    t.match(long, /^-rw-r--r--\s+4\.88 KiB\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+file\s+1\.png$/m)
    t.match(long, /^drwxr-xr-x\s+.*dir\s+sub\/$/m)
    const entries = JSON.parse(ok(t, await run(['ls', '--json', 'images@master:cats'])).stdout)
    t.match(entries, [{ path: 'cats/1.png', kind: 'file', size: 5000 }, { name: '2.png' }, { name: 'sub', kind: 'dir' }])
  })

  await t.test('cat prints a file, byte for byte', async t => {
    t.equal(ok(t, await run(['cat', 'images@master:labels.csv'])).stdout, 'cat,1\n')
    t.ok(ok(t, await run(['cat', 'images@master:/cats//1.png'])).out.equals(png1))
  })

  await t.test('reading master~1 shows the file as it was', async t => {
    files({ 'labels.csv': 'cat,1\ndog,2\n' })
    ok(t, await run(['put', 'images@master:labels.csv', 'labels.csv', '-m', 'add dog']))
    t.equal(ok(t, await run(['cat', 'images@master:labels.csv'])).stdout, 'cat,1\ndog,2\n')
    t.equal(ok(t, await run(['cat', 'images@master~1:labels.csv'])).stdout, 'cat,1\n')
    t.equal(ok(t, await run(['cat', 'images@master^:labels.csv'])).stdout, 'cat,1\n')
  })

  await t.test('log shows the history newest first; -n limits it', async t => {
    const out = lines(ok(t, await run(['log', 'images@master'])).stdout)
    t.match(out[0], /^COMMIT\s+BRANCH\s+FINISHED/)
    t.equal(out.length, 5)
    t.match(out[1], /^[0-9a-f]{12}\s+master\s+.*add dog$/)
    t.equal(lines(ok(t, await run(['log', 'images', '-n', '1'])).stdout).length, 2)
  })

  await t.test('get copies a folder to the current directory or to -o', async t => {
    const cwd = path.join(local, 'restore')
    mkdirSync(cwd)
    t.match(ok(t, await run(['get', 'images@master:cats'], { cwd })).stdout, /wrote 3 files/)
    t.ok(readFileSync(path.join(cwd, 'cats', '1.png')).equals(png1))
    t.equal(readFileSync(path.join(cwd, 'cats', 'sub', 'd.txt'), 'utf8'), 'deep\n')
    ok(t, await run(['get', 'images@master~1:labels.csv', '-o', path.join(cwd, 'old.csv')]))
    t.equal(readFileSync(path.join(cwd, 'old.csv'), 'utf8'), 'cat,1\n')
    t.equal(ok(t, await run(['get', 'images@master:labels.csv'])).stdout, 'cat,1\ndog,2\n', 'a file without -o goes to stdout')
    t.same(readdirSync(path.join(cwd, 'cats')).sort(), ['1.png', '2.png', 'sub'])
  })

  await t.test('diff names what changed, like git --name-status', async t => {
    t.same(lines(ok(t, await run(['diff', 'images@master'])).stdout), ['M\tlabels.csv'])
    const two = lines(ok(t, await run(['diff', 'images@master~3', 'images@master~1'])).stdout)
    t.ok(two.includes('A\tcats/1.png') && two.includes('A\tnotes/readme.txt'), two.join(' | '))
    t.match(ok(t, await run(['diff', '-l', 'images@master'])).stdout, /^M\t6 B -> 12 B\s+\tlabels\.csv$/m)
    t.match(JSON.parse(ok(t, await run(['diff', '--json', 'images@master'])).stdout), [{ path: 'labels.csv', change: 'changed' }])
  })

  await t.test('rm removes a file, and a folder only with -r', async t => {
    ok(t, await run(['rm', 'images@master:cats/2.png']))
    t.same(lines(ok(t, await run(['ls', 'images@master:cats'])).stdout), ['1.png', 'sub/'])
    const refused = await run(['rm', 'images@master:cats/sub'])
    t.equal(refused.code, 1)
    t.match(refused.stderr, /^pfs: /)
    ok(t, await run(['rm', '-r', 'images@master:cats/sub']))
    t.same(lines(ok(t, await run(['ls', 'images@master:cats'])).stdout), ['1.png'])
  })

  await t.test('cp brings back an old file into a folder', async t => {
    const old = ok(t, await run(['cat', 'images@master~2:cats/2.png'])).out
    t.match(ok(t, await run(['cp', 'images@master~2:cats/2.png', 'images@master:restored/'])).stdout, /restored\/2\.png/)
    t.ok(ok(t, await run(['cat', 'images@master:restored/2.png'])).out.equals(old))
  })

  await t.test('inspect shows a commit with full ids, and a file', async t => {
    const out = ok(t, await run(['inspect', 'images@master'])).stdout
    t.match(out, /^commit:\s+[0-9a-f]{32}$/m)
    t.match(out, /^parent:\s+[0-9a-f]{32}$/m)
    t.match(out, /^finished:\s+\d{4}-/m)
    t.match(out, /^origin:\s+user$/m)
    const id = /^commit:\s+([0-9a-f]{32})$/m.exec(out)?.[1] as string
    t.match(JSON.parse(ok(t, await run(['inspect', `images@${id.slice(0, 8)}`, '--json'])).stdout), { id })
    t.match(ok(t, await run(['inspect', 'images@master:labels.csv'])).stdout, /^kind:\s+file$/m)
  })

  await t.test('start, several changes, commit: one commit', async t => {
    ok(t, await run(['branch', 'create', 'images@dev', '--from', 'master']))
    t.match(ok(t, await run(['branch', 'list', 'images'])).stdout, /^dev\s+[0-9a-f]{12}/m)
    ok(t, await run(['start', 'images@dev', '-m', 'two files']))
    ok(t, await run(['put', 'images@dev:a.txt', '-'], { input: 'a' }))
    ok(t, await run(['put', 'images@dev:b.txt', '-'], { input: 'b' }))
    t.match(ok(t, await run(['log', 'images@dev', '-n', '1'])).stdout, /\sopen\s/)
    ok(t, await run(['commit', 'images@dev']))
    t.same(lines(ok(t, await run(['diff', 'images@dev'])).stdout), ['A\ta.txt', 'A\tb.txt'])
    ok(t, await run(['start', 'images@dev']))
    ok(t, await run(['put', 'images@dev:c.txt', '-'], { input: 'c' }))
    ok(t, await run(['abort', 'images@dev']))
    t.equal((await run(['cat', 'images@dev:c.txt'])).code, 1, 'aborted changes are gone')
  })

  await t.test('du, gc and fsck report on the store', async t => {
    t.match(JSON.parse(ok(t, await run(['du', '--json'])).stdout), { repos: [{ name: 'images' }] })
    t.match(ok(t, await run(['gc', '--dry-run'])).stdout, /would delete/)
    t.match(ok(t, await run(['fsck'])).stdout, /checked \d+ objects/)
  })

  await t.test('deleting a repo with commits needs --force', async t => {
    t.equal((await run(['repo', 'delete', 'images'])).code, 1)
    ok(t, await run(['repo', 'delete', 'images', '--force']))
    t.equal(ok(t, await run(['repo', 'list', '--json'])).stdout.trim(), '[]')
  })
})

t.test('pfs cat stops quietly when the reader goes away', async t => {
  const { run, files, store } = pfsCli(t)
  files({ 'big.bin': randomBytes(4 << 20) })
  ok(t, await run(['repo', 'create', 'r']))
  ok(t, await run(['put', 'r@master:big.bin', 'big.bin']))
  const cmd = `"${process.execPath}" "${PFS_BIN}" --store "${store}" cat r@master:big.bin | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}"`
  const sh = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' })
  t.equal(sh.stdout.trim(), '0', 'pfs exits 0')
  t.equal(sh.stderr, '', 'and says nothing')
})
