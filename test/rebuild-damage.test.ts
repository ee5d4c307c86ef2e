/**
 * Recovery survives damage: `pfs fsck --rebuild-index` on a store whose index is garbage,
 * with a garbage journal file, a commit object with a flipped byte and a pack whose
 * trailer was cut, skips and names each, recovers everything else, and exits 1 until the
 * damage is dealt with. Damaged store settings are one line, never a stack trace.
 */
import t from 'tap'
import path from 'node:path'
import { promises as fsp } from 'node:fs'
import { pfsCli, oneLineMistake, type PfsCli } from './helpers/cli.js'
import { commitLocation } from './helpers/store-checks.js'

async function head (run: PfsCli['run'], rev: string): Promise<string> {
  const r = await run(['log', rev, '--json', '-n', '1'])
  if (r.code !== 0) throw new Error(`log ${rev}: ${r.stderr}`)
  return (JSON.parse(r.stdout) as Array<{ id: string }>)[0].id
}

t.test('a rebuild skips and reports damaged files and recovers the rest', async t => {
  const { run, files, store } = pfsCli(t)
  files({ 'a.txt': 'alpha', 'b.txt': 'bravo', 'c.txt': 'charlie', 'd1.log': 'day one', 'd2.log': 'day two' })
  for (const args of [
    ['repo', 'create', 'images'],
    ['put', 'images@master:a.txt', 'a.txt'],
    ['put', 'images@master:b.txt', 'b.txt'],
    ['branch', 'create', 'images@dev', '--from', 'master'],
    ['put', 'images@master:c.txt', 'c.txt'],
    ['branch', 'create', 'images@keep', '--from', 'master'],
    ['repo', 'create', 'logs'],
    ['put', 'logs@master:d1.log', 'd1.log'],
    ['put', 'logs@master:d2.log', 'd2.log']
  ]) t.equal((await run(args)).code, 0, args.join(' '))
  const second = await head(run, 'images@master^')
  const third = await head(run, 'images@master')
  const logsFirst = await head(run, 'logs@master^')
  const logsSecond = await head(run, 'logs@master')

  // The damage: a flipped byte in the newest commit object of images...
  const c3 = await commitLocation(store, third)
  const c3pack = path.join(store, 'objects', c3.key)
  const bytes = await fsp.readFile(c3pack)
  bytes[c3.offset + Math.floor(c3.length / 2)] ^= 0x20
  await fsp.writeFile(c3pack, bytes)
  // ...the trailer of the pack holding the newest commit of logs cut short...
  const l2 = await commitLocation(store, logsSecond)
  t.not(l2.key, c3.key, 'the two commits are in different packs')
  const l2pack = path.join(store, 'objects', l2.key)
  await fsp.truncate(l2pack, (await fsp.stat(l2pack)).size - 20)
  // ...two journal files that are not events (a cut write and a stray null)...
  const journal = path.join(store, 'objects', 'journal')
  await fsp.writeFile(path.join(journal, '001796000000000-garbage0'), '{"op":"branch-se')
  await fsp.writeFile(path.join(journal, '001796000000001-nullnull'), 'null')
  // ...and an index of garbage.
  for (const f of await fsp.readdir(path.join(store, 'index'))) {
    await fsp.writeFile(path.join(store, 'index', f), Buffer.alloc(300, 0xa5))
  }

  oneLineMistake(t, await run(['repo', 'list']), /index .* (cannot be read|is missing).*pfs fsck --rebuild-index/)

  const r = await run(['fsck', '--rebuild-index'])
  t.equal(r.code, 1, 'exit 1: there is damage to deal with')
  t.match(r.stdout, /^rebuilt the index: 2 repos, 3 commits, /m, 'images (2 of 3 commits) and logs (1 of 2)')
  t.match(r.stdout, /^skipped 5 damaged:$/m)
  t.match(r.stdout, /journal\/001796000000000-garbage0: journal file is not valid JSON/)
  t.match(r.stdout, /journal\/001796000000001-nullnull: journal file is not a journal event \(not an object\)/)
  t.match(r.stdout, new RegExp(`${c3.key}: commit object ${c3.obj} left out: .* does not match its SHA-256`))
  t.match(r.stdout, new RegExp(`${l2.key}: pack left out, its objects cannot be located: .*damaged`))
  t.match(r.stdout, new RegExp(`images@keep: branch head ${third} was lost; the branch now points at nothing`),
    'a branch made at the lost commit is empty: the commit does not say its parent any more')
  t.match(r.stderr, /^pfs: 5 problems found$/m, 'each damaged file counted once')
  t.equal(r.stdout.split('garbage0').length, 2, 'and named once')
  t.notMatch(r.stderr, /^\s+at /m, 'no stack trace')

  // Everything else is back.
  t.equal((await run(['repo', 'list'])).code, 0)
  t.equal(await head(run, 'images@master'), second, 'images@master is at its last readable commit')
  t.equal((await run(['ls', 'images@keep'])).stdout, '', 'images@keep is empty')
  t.equal(await head(run, 'images@dev'), second, 'dev, made before the damage, is whole')
  t.equal(await head(run, 'logs@master'), logsFirst)
  t.equal((await run(['cat', 'images@master:a.txt'])).stdout, 'alpha')
  t.equal((await run(['cat', 'images@master:b.txt'])).stdout, 'bravo')
  t.equal((await run(['cat', 'logs@master:d1.log'])).stdout, 'day one')
  const log = JSON.parse((await run(['log', 'images@master', '--json'])).stdout) as Array<{ id: string }>
  t.equal(log.length, 2, 'the history up to the lost commit')
  t.equal((await run(['put', 'images@master:c.txt', 'c.txt'])).code, 0, 'the store takes new commits')
  t.equal((await run(['cat', 'images@master:c.txt'])).stdout, 'charlie')

  // fsck alone still names the journal files (a later rebuild would skip them again)...
  const f = await run(['fsck', '--json'])
  t.equal(f.code, 1)
  const report = JSON.parse(f.stdout) as { problems: Array<{ key: string, problem: string }> }
  t.same(report.problems.map(p => p.key).sort(),
    ['journal/001796000000000-garbage0', 'journal/001796000000001-nullnull'])
  // ...and once they are gone, the store is clean; the rebuild's report is the same in JSON.
  await fsp.rm(path.join(journal, '001796000000000-garbage0'))
  await fsp.rm(path.join(journal, '001796000000001-nullnull'))
  t.equal((await run(['fsck'])).code, 0, 'fsck clean')
  const j = await run(['fsck', '--rebuild-index', '--json'])
  const again = JSON.parse(j.stdout) as { rebuilt: { skipped: Array<{ key: string }> }, problems: unknown[] }
  t.same(again.rebuilt.skipped.map(s => s.key).sort(), [c3.key, l2.key, 'images@keep'].sort(),
    'the damaged commit and pack are still skipped')
  t.equal((await run(['cat', 'images@master:c.txt'])).stdout, 'charlie', 'the new commit survives a rebuild')
})

t.test('a pack trailer damaged under a sound index is an fsck problem', async t => {
  const { run, files, store } = pfsCli(t)
  files({ 'a.txt': 'alpha' })
  await run(['repo', 'create', 'images'])
  await run(['put', 'images@master:a.txt', 'a.txt'])
  const loc = await commitLocation(store, await head(run, 'images@master'))
  const pack = path.join(store, 'objects', loc.key)
  const size = (await fsp.stat(pack)).size
  await fsp.truncate(pack, size - 3)
  t.equal((await run(['cat', 'images@master:a.txt'])).stdout, 'alpha', 'reads go through the index')
  const r = await run(['fsck'])
  t.equal(r.code, 1)
  t.match(r.stdout, new RegExp(`${loc.key}.*damaged .*could not locate them; keep the index`))
})

t.test('store settings that are not settings are one line each', async t => {
  const { run, store } = pfsCli(t)
  t.equal((await run(['repo', 'create', 'images'])).code, 0)
  const cfg = path.join(store, 'config.json')
  const good = await fsp.readFile(cfg, 'utf8')
  const cases: Array<[string, string, RegExp]> = [
    ['null', 'null', /are not a JSON object/],
    ['a list', '[1, 2]', /are not a JSON object/],
    ['garbage', '\x00\x01 not json', /are not valid JSON/],
    ['empty', '', /are not valid JSON/],
    ['no version', '{}', /have version none; this pfs reads version 1/],
    ['a later version', '{"version": 2}', /have version 2/],
    ['no chunking', '{"version": 1, "packThreshold": 1}', /bad chunking sizes \(none\)/],
    ['chunking out of order', '{"version": 1, "chunking": {"min": 4096, "avg": 1024, "max": 65536}, "packThreshold": 1}',
      /bad chunking sizes .*min < avg < max/],
    ['a bad pack threshold', '{"version": 1, "chunking": {"min": 1024, "avg": 4096, "max": 65536}, "packThreshold": -1}',
      /bad packThreshold -1/]
  ]
  for (const [what, text, re] of cases) {
    await t.test(what, async t => {
      await fsp.writeFile(cfg, text)
      oneLineMistake(t, await run(['repo', 'list']), new RegExp(`store settings .*config\\.json .*${re.source}`))
    })
  }
  await t.test('a folder', async t => {
    await fsp.rm(cfg)
    await fsp.mkdir(cfg)
    oneLineMistake(t, await run(['repo', 'list']), /store settings .*config\.json are a folder, not a file/)
    await fsp.rmdir(cfg)
  })
  await fsp.writeFile(cfg, good)
  t.equal((await run(['repo', 'list'])).code, 0, 'all well once the file is put back')
})
