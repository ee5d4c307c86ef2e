/**
 * The command line as a shell user meets it: rsync's trailing slash on folder puts, tab
 * completion in a real bash, and progress on a real terminal (through `script`).
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { pfsCli, PFS_BIN, type RunResult } from './helpers/cli.js'
import { render } from '../bin/cli/progress.js'

const ok = (t: Test, r: RunResult): RunResult => {
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.trim() || 'empty'})`)
  return r
}
const lines = (s: string): string[] => s.split('\n').filter(l => l !== '')

/** Runs a bash script with PFS_STORE set and `pfs` on hand; its stdout. */
interface Ran { code: number | null, out: string, err: string }

async function bash (script: string, env: Record<string, string>): Promise<Ran> {
  const child = spawn('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr.on('data', (b: Buffer) => { err += b.toString() })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, out, err }
}

t.test('a folder ending in / puts its contents; without the slash, the folder itself', async t => {
  const { run, files } = pfsCli(t)
  files({ 'dataset/a.csv': 'a\n', 'dataset/sub/b.csv': 'b\n' })
  ok(t, await run(['repo', 'create', 'd']))

  ok(t, await run(['put', 'd@master', 'dataset']))
  t.same(lines(ok(t, await run(['ls', 'd@master', '-r'])).stdout), ['dataset/', 'dataset/a.csv', 'dataset/sub/', 'dataset/sub/b.csv'])

  const res = ok(t, await run(['put', 'd@root', 'dataset/']))
  t.match(res.stdout, /dataset\/ -> d@root:\/ \(committed/, 'says where the contents went')
  t.same(lines(ok(t, await run(['ls', 'd@root', '-r'])).stdout), ['a.csv', 'sub/', 'sub/b.csv'], 'the contents land at the root')

  ok(t, await run(['put', 'd@into:train/', 'dataset/']))
  t.same(lines(ok(t, await run(['ls', 'd@into', '-r'])).stdout), ['train/', 'train/a.csv', 'train/sub/', 'train/sub/b.csv'])
  ok(t, await run(['put', 'd@into:train/', 'dataset']))
  t.same(lines(ok(t, await run(['ls', 'd@into:train', '-r'])).stdout),
    ['a.csv', 'dataset/', 'dataset/a.csv', 'dataset/sub/', 'dataset/sub/b.csv', 'sub/', 'sub/b.csv'], 'and into a folder')

  ok(t, await run(['put', 'd@dot', 'dataset/.']))
  t.same(lines(ok(t, await run(['ls', 'd@dot'])).stdout), ['a.csv', 'sub/'], '`dataset/.` means the contents too')
  t.match(ok(t, await run(['put', '--help'])).stdout, /ending in \/ puts its contents/, '--help says so')
})

t.test('tab completion in bash offers commands, repos and repo@branch addresses', async t => {
  const { run, store } = pfsCli(t)
  ok(t, await run(['repo', 'create', 'images']))
  ok(t, await run(['repo', 'create', 'labels']))
  ok(t, await run(['put', 'images@master:a.txt', '-'], { input: 'a' }))
  ok(t, await run(['branch', 'create', 'images@dev', '--from', 'master']))
  const script = await run(['completion'])
  t.match(script.stdout, /complete -o bashdefault -o default -F _pfs_yargs_completions pfs/, 'a bash script')
  const zsh = await run(['completion'], { env: { SHELL: '/bin/zsh' } })
  t.match(zsh.stdout, /^#compdef pfs/, 'a zsh script when the shell is zsh')

  const complete = (words: string): string =>
    `COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _pfs_yargs_completions; echo "${words} => \${COMPREPLY[*]}"`
  const session = [
    `pfs () { "${process.execPath}" "${PFS_BIN}" "$@"; }`,
    'source <(pfs completion)',
    complete('pfs br'),
    complete('pfs ls im'),
    complete('pfs cat images@'),
    complete('pfs log images@m'),
    complete('pfs repo inspect l'),
    complete("pfs put images@master ''")
  ].join('\n')
  const r = await bash(session, { PFS_STORE: store })
  t.equal(r.code, 0, r.err)
  t.same(lines(r.out), [
    'pfs br => branch',
    'pfs ls im => images images@dev images@master',
    'pfs cat images@ => images@dev images@master',
    'pfs log images@m => images@master',
    'pfs repo inspect l => labels',
    "pfs put images@master '' => "
  ], 'a put\'s source is left to the shell\'s file completion')
  const none = await bash([`pfs () { "${process.execPath}" "${PFS_BIN}" "$@"; }`, 'source <(pfs completion)', complete('pfs ls im')].join('\n'),
    { PFS_STORE: `${store}-nothing-here` })
  t.same(lines(none.out), ['pfs ls im => '], 'no store: nothing to complete')
  t.equal(none.err, '', 'and nothing is said')
  t.notOk(existsSync(`${store}-nothing-here`), 'and no store is made')
})

t.test('progress on a terminal shows a bar, percent and the total; not with --json or off a terminal', async t => {
  const { run, files, local, store } = pfsCli(t)
  const data: Record<string, Buffer> = {}
  for (let i = 0; i < 24; i++) data[`big/f${i}.bin`] = randomBytes(2 << 20)
  files(data)
  ok(t, await run(['repo', 'create', 'p']))
  const onTty = (args: string): string => `script -qec '"${process.execPath}" "${PFS_BIN}" --store "${store}" ${args} > out.txt' /dev/null`
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm' }
  const cd = `cd "${local}" && `
  const shown = await bash(cd + onTty('put p@master big'), env)
  t.equal(shown.code, 0, shown.err)
  t.match(shown.out, /put \[[█░]+\] \d+% \| \d+\/24 \| [\d.]+ MiB of 48\.0 MiB/, 'bar, percent, files and bytes of the total')
  const quiet = await bash(cd + onTty('put p@other big --json'), env)
  t.notMatch(quiet.out, /%/, '--json: no progress')
  const piped = await run(['put', 'p@piped', 'big'])
  t.equal(piped.stderr, '', 'stderr not a terminal: no progress')
})

t.test('the progress line counts, and shows time left once it can tell', async t => {
  const p = { phase: 'put', done: 1203, total: 3001, bytes: 1288490189, totalBytes: 3113851290 }
  t.equal(render(p, 12, 19, '████░░░░'), 'put [████░░░░] 41% | 1203/3001 | 1.20 GiB of 2.90 GiB | 102.4 MiB/s | 0:19 left')
  t.equal(render(p, 12, 3725, '█'), 'put [█] 41% | 1203/3001 | 1.20 GiB of 2.90 GiB | 102.4 MiB/s | 1:02:05 left')
  t.equal(render(p, 0.2, 19, '█'), 'put [█] 41% | 1203/3001 | 1.20 GiB of 2.90 GiB', 'no rate or time left in the first moment')
  t.equal(render({ phase: 'put', done: 0, total: 1, bytes: 5 << 20 }, 2), 'put | 0 | 5.00 MiB | 2.50 MiB/s', 'stdin: no total, no bar')
  t.equal(render({ phase: 'check', done: 40, total: 400 }, 2, 18, '██'), 'check [██] 10% | 40/400 | 0:18 left')
})

t.test('an https server URL is refused at once, saying why', async t => {
  const { run } = pfsCli(t)
  const r = await run(['--server', 'https://127.0.0.1:7070', 'repo', 'list'])
  t.equal(r.code, 1)
  t.match(r.stderr, /^pfs: --server 'https:\/\/127\.0\.0\.1:7070': https is not supported[^\n]*\n$/)
})
