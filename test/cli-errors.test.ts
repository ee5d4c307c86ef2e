/**
 * A user's mistake is one line on stderr starting with `pfs: `, exit code 1, never a
 * stack trace; a bug shows its stack with exit code 2 (bin/cli/errors.ts).
 */
import t from 'tap'
import { PassThrough } from 'node:stream'
import { pfsCli, oneLineMistake } from './helpers/cli.js'
import { PfsError, notFound } from '../store/api/errors.js'
import { UsageError, describe, exitCodeFor, report } from '../bin/cli/errors.js'
import { openEngine } from '../store/engine/engine.js'

t.test('errors map to exit codes and one-line messages', async t => {
  t.equal(exitCodeFor(notFound('repo', 'x')), 1)
  t.equal(describe(notFound('repo', 'x')), "pfs: repo 'x' not found")
  t.equal(exitCodeFor(new PfsError('UNAVAILABLE', 'no server')), 3)
  t.equal(exitCodeFor(new PfsError('BUSY', 'in use')), 3)
  t.equal(describe(new PfsError('CONFLICT', 'a\nb')), 'pfs: a; b', 'always one line')
  t.equal(describe(new UsageError('unknown argument: x', 'repo create')), "pfs: unknown argument: x (see 'pfs repo create --help')")
  const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', syscall: 'open', path: '/x' })
  t.equal(exitCodeFor(denied), 1)
  t.equal(describe(denied), "pfs: cannot open '/x': permission denied")
  const bug = new TypeError('x is not a function')
  t.equal(exitCodeFor(bug), 2)
  const err = new PassThrough()
  let text = ''
  err.on('data', b => { text += String(b) })
  t.equal(report(bug, err), 2)
  t.match(text, /^pfs: internal error.*\nTypeError: x is not a function\n\s+at /)
})

t.test("a user's mistakes are one line each, exit 1", async t => {
  const { run, files } = pfsCli(t)
  files({ 'a.txt': 'a' })
  await run(['repo', 'create', 'images'])
  await run(['put', 'images@master', 'a.txt'])
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown repo', ['ls', 'nope@master'], /repo 'nope' not found/],
    ['an unknown repo (inspect)', ['repo', 'inspect', 'nope'], /repo 'nope' not found/],
    ['an unknown branch', ['log', 'images@nope'], /not found/],
    ['an unknown path', ['cat', 'images@master:nope.txt'], /not found/],
    ['a name with a slash', ['repo', 'create', 'a/b'], /invalid repo name 'a\/b'/],
    ['a name of ..', ['repo', 'create', '..'], /invalid repo name/],
    ['a hidden name', ['repo', 'create', '.hidden'], /invalid repo name '\.hidden'/],
    ['a 300-byte name', ['repo', 'create', 'x'.repeat(300)], /longer than 255 bytes/],
    ['a bad branch name', ['branch', 'create', 'images@a b'], /invalid branch name/],
    ['a missing local file', ['put', 'images@master', 'missing.txt'], /local file 'missing\.txt' not found/],
    ['a path escaping the repo', ['cat', 'images@master:../etc/passwd'], /escapes the repository/],
    ['an address without a rev', ['cat', 'images:a.txt'], /names no rev/],
    ['stdin without a path', ['put', 'images@master', '-'], /needs the file's path/],
    ['writing to history', ['put', 'images@master~1:x', 'a.txt'], /master~1/],
    ['cat of a folder', ['cat', 'images@master:'], /names no path/],
    ['an existing repo', ['repo', 'create', 'images'], /already exists/],
    ['an unknown command', ['frobnicate'], /frobnicate.*pfs --help/],
    ['a missing argument', ['repo', 'create'], /see 'pfs repo create --help'/],
    ['an unknown option', ['ls', '--frob', 'images@master'], /see 'pfs ls --help'/],
    ['a bad server URL', ['--server', 'nonsense', 'repo', 'list'], /not a server URL/],
    ['a bad date', ['log', 'images@master@{someday}'], /not a date/]
  ]
  for (const [what, args, re] of cases) {
    await t.test(what, async t => oneLineMistake(t, await run(args), re))
  }
  t.equal(JSON.parse((await run(['log', 'images', '--json'])).stdout).length, 1, 'no mistake made a commit')
})

t.test('a server that does not answer is exit 3, one line', async t => {
  const { run } = pfsCli(t)
  const r = await run(['--server', 'http://127.0.0.1:9', 'repo', 'list'])
  t.equal(r.code, 3)
  t.match(r.stderr, /^pfs: [^\n]*\n$/)
})

t.test('an ambiguous commit prefix is one line, exit 1', async t => {
  const { run, store } = pfsCli(t)
  // Ids are random; make two that share a prefix by giving the engine our own ids.
  let n = 0
  const engine = await openEngine(store, { newCommitId: () => `abcd${String(n++).padStart(28, '0')}` })
  await engine.createRepo('r')
  await engine.modify('r', 'master', [{ op: 'mkdir', path: 'a' }])
  await engine.modify('r', 'master', [{ op: 'mkdir', path: 'b' }])
  await engine.close()
  oneLineMistake(t, await run(['inspect', 'r@abcd']), /ambiguous/)
  t.equal((await run(['inspect', 'r@abcd0000'])).code, 1)
  t.equal((await run(['inspect', 'r@abcd' + '0'.repeat(27) + '1'])).code, 0, 'a longer prefix picks one')
})
