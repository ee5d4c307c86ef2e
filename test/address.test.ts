import t, { type Test } from 'tap'
import { parseAddress, needRev, needBranch, needPath, noPath, formatAddress } from '../bin/cli/address.js'

const invalid = (t: Test, fn: () => unknown, message: RegExp): void => {
  t.throws(fn, { name: 'PfsError', code: 'INVALID_ARGUMENT', message })
}

t.test('a bare repo names no rev and no path', async t => {
  t.match(parseAddress('images'), { repo: 'images', rev: undefined, path: undefined, dirOnly: true })
})

t.test('repo@rev and repo@rev:path split at the first @ and the next colon', async t => {
  t.match(parseAddress('images@master'), { repo: 'images', rev: 'master', path: undefined })
  t.match(parseAddress('images@master:a/b.txt'), { repo: 'images', rev: 'master', path: 'a/b.txt', dirOnly: false })
  t.match(parseAddress('images@3f2a9c1e:x'), { rev: '3f2a9c1e', path: 'x' })
})

t.test('a rev keeps ~N, ^ and @{time} (whose colons are not the path separator)', async t => {
  t.match(parseAddress('images@master~2:a'), { rev: 'master~2', path: 'a' })
  t.match(parseAddress('images@master^^:a'), { rev: 'master^^', path: 'a' })
  t.match(parseAddress('images@master@{2026-11-20T10:00}:a/b.txt'),
    { repo: 'images', rev: 'master@{2026-11-20T10:00}', path: 'a/b.txt' })
  t.match(parseAddress('images@master@{2026-11-20T10:00:30}'), { rev: 'master@{2026-11-20T10:00:30}', path: undefined })
  t.match(parseAddress('images@master@{2026-11-20 10:00}~1:x'), { rev: 'master@{2026-11-20 10:00}~1', path: 'x' })
})

t.test('a path may be empty, start with / or end with /: then it names a folder', async t => {
  t.match(parseAddress('images@master:'), { path: '', dirOnly: true })
  t.match(parseAddress('images@master:/'), { path: '', dirOnly: true })
  t.match(parseAddress('images@master:/a/b'), { path: 'a/b', dirOnly: false })
  t.match(parseAddress('images@master:raw/'), { path: 'raw', dirOnly: true })
  t.match(parseAddress('images@master:raw/.'), { path: 'raw', dirOnly: true })
})

t.test('paths are normalized', async t => {
  t.equal(parseAddress('r@b:a//b/./c').path, 'a/b/c')
  t.equal(parseAddress('r@b:a/x/../c').path, 'a/c')
  t.equal(parseAddress('r@b:./a').path, 'a')
})

t.test('a path may hold colons and @ after the separator', async t => {
  t.match(parseAddress('r@b:a:b@c.txt'), { rev: 'b', path: 'a:b@c.txt' })
})

t.test('repo:path has a path but no rev', async t => {
  t.match(parseAddress('images:a.txt'), { repo: 'images', rev: undefined, path: 'a.txt' })
})

t.test('a path that climbs out of the repo is refused', async t => {
  invalid(t, () => parseAddress('r@b:..'), /path '\.\.' escapes the repository/)
  invalid(t, () => parseAddress('r@b:a/../../etc/passwd'), /escapes the repository/)
  invalid(t, () => parseAddress('r@b:/../x'), /escapes the repository/)
})

t.test('malformed addresses are refused with a hint', async t => {
  invalid(t, () => parseAddress(''), /address is required/)
  invalid(t, () => parseAddress('@master'), /names no repo/)
  invalid(t, () => parseAddress(':a'), /names no repo/)
  invalid(t, () => parseAddress('images@'), /empty rev/)
  invalid(t, () => parseAddress('images@:a'), /empty rev/)
  invalid(t, () => parseAddress('images@master@{2026-11-20:a'), /without a closing/)
})

t.test('commands say what part of an address is missing', async t => {
  invalid(t, () => needRev(parseAddress('images')), /names no rev; write images@master/)
  invalid(t, () => needBranch(parseAddress('images:a')), /images@<branch>:a/)
  invalid(t, () => needPath(parseAddress('images@master')), /names no path; write images@master:<path>/)
  invalid(t, () => needPath(parseAddress('images@master:')), /names no path/)
  t.equal(needPath(parseAddress('images@master:'), { root: true }), '')
  invalid(t, () => noPath(parseAddress('images@dev:x')), /should not name a path/)
  t.equal(needBranch(parseAddress('images@dev')), 'dev')
})

t.test('addresses print back in the same form', async t => {
  t.equal(formatAddress('images', 'master', 'a/b'), 'images@master:a/b')
  t.equal(formatAddress('images', 'master'), 'images@master')
  t.equal(formatAddress('images', null, ''), 'images:')
})
