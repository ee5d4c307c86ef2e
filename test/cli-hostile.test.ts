/**
 * Hostile and careless command lines, and the machine's own faults: each is one clear
 * line and exit 1, never a stack trace, and never a replaced special file or a stuck
 * process.
 */
import t from 'tap'
import net from 'node:net'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { promises as fsp, statSync, writeFileSync } from 'node:fs'
import { pfsCli, oneLineMistake, spawnPfs, runPfs } from './helpers/cli.js'
import { mountPfs } from './helpers/mount.js'

const run$ = promisify(execFile)

t.test('mistakes that were stack traces are one line each, exit 1', async t => {
  const { run, files, local, store } = pfsCli(t)
  files({ 'a.txt': 'a', 'plain-file': 'x' })
  await run(['repo', 'create', 'images'])
  await fsp.mkdir(path.join(local, 'loop'))
  await fsp.symlink('b', path.join(local, 'loop', 'a'))
  await fsp.symlink('a', path.join(local, 'loop', 'b'))
  const cases: Array<[string, string[], RegExp]> = [
    ['put of a symlink loop', ['put', 'images@master:x', 'loop/a'], /loop of symbolic links/],
    ['get -o with an empty path', ['get', 'images@master:a.txt', '-o', ''], /names no local path/],
    ['serve --listen with a cut IPv6 address', ['serve', '--listen', '[::1'], /not host:port/],
    ['serve --listen empty', ['serve', '--listen', ''], /is empty/],
    ['serve --listen bracketing a non-address', ['serve', '--listen', '[nope]:1'], /not an IPv6 address/],
    ['mount on a folder with things in it', ['mount', '/proc/self'], /not empty/],
    ['mount on a file', ['mount', path.join(local, 'plain-file')], /not a folder/],
    ['mount under a file', ['mount', path.join(local, 'plain-file', 'x')], /part of its path is a file/],
    ['mount with no cache', ['mount', '--cache-size', '0', path.join(local, 'm')], /out of range/],
    ['mount with an absurd cache', ['mount', '--cache-size', '99T', path.join(local, 'm')], /out of range/],
  ]
  for (const [what, args, re] of cases) {
    await t.test(what, async t => oneLineMistake(t, await run(args, { timeoutMs: 20_000 }), re))
  }
  for (const [what, at, re] of [
    ['--store naming a file', path.join(local, 'plain-file'), /not a folder/],
    ['--store /dev/null', '/dev/null', /not a folder/],
    ['--store /proc/self', '/proc/self', /cannot use \/proc\/self/]
  ] as const) {
    await t.test(what, async t => oneLineMistake(t, await runPfs(['--store', at, 'repo', 'list'], { cwd: local }), re))
  }
  t.equal(statSync(path.join(local, 'plain-file')).isFile(), true, 'the file mounted on is untouched')
  t.equal((await run(['cat', 'images@master:x'])).code, 1, 'the loop put nothing')

  await t.test('objects being a file, and a lost index', async t => {
    await run(['put', 'images@master', 'a.txt'])
    await fsp.rename(path.join(store, 'index', 'CURRENT'), path.join(store, 'index', 'CURRENT.gone'))
    oneLineMistake(t, await run(['repo', 'list']), /fsck --rebuild-index/)
    await fsp.rename(path.join(store, 'index', 'CURRENT.gone'), path.join(store, 'index', 'CURRENT'))
    await fsp.rename(path.join(store, 'objects'), path.join(store, 'objects.real'))
    writeFileSync(path.join(store, 'objects'), 'not a folder')
    oneLineMistake(t, await run(['cat', 'images@master:a.txt']), /objects/)
    await fsp.rm(path.join(store, 'objects'))
    await fsp.rename(path.join(store, 'objects.real'), path.join(store, 'objects'))
    t.equal((await run(['cat', 'images@master:a.txt'])).stdout, 'a', 'all well once put back')
  })
})

t.test('get -o writes into fifos and character devices, never replaces them', async t => {
  const { run, files, local } = pfsCli(t)
  files({ 'a.txt': 'hello fifo' })
  await run(['repo', 'create', 'r'])
  await run(['put', 'r@master', 'a.txt'])

  const fifo = path.join(local, 'p')
  await run$('mkfifo', [fifo])
  const reader = run$('cat', [fifo], { encoding: 'utf8' })
  const got = await run(['get', 'r@master:a.txt', '-o', fifo])
  t.equal(got.code, 0, got.stderr)
  t.equal((await reader).stdout, 'hello fifo', 'the reader of the fifo got the bytes')
  t.equal(statSync(fifo).isFIFO(), true, 'still a fifo')

  const toNull = await run(['get', 'r@master:a.txt', '-o', '/dev/null'])
  t.equal(toNull.code, 0, toNull.stderr)
  t.equal(statSync('/dev/null').isCharacterDevice(), true, '/dev/null is still a device')

  oneLineMistake(t, await run(['get', 'r@master:a.txt', '-o', '/dev/full']), /\/dev\/full.*no space left/)
  t.equal(statSync('/dev/full').isCharacterDevice(), true, '/dev/full is still a device')

  const sock = path.join(local, 's.sock')
  const server = net.createServer().listen(sock)
  t.teardown(() => server.close())
  await new Promise(resolve => server.once('listening', resolve))
  oneLineMistake(t, await run(['get', 'r@master:a.txt', '-o', sock]), /is a socket/)
  t.equal(statSync(sock).isSocket(), true, 'the socket is left alone')
})

t.test('a mount detached from outside still stops on Ctrl-C, and pfs unmount clears one', async t => {
  for (const how of ['SIGINT', 'pfs unmount'] as const) {
    await t.test(how, async t => {
      const m = await mountPfs(t)
      await m.pfs(['repo', 'create', 'r'])
      await run$('fusermount', ['-uz', m.dir])
      const exited = new Promise<number | null>(resolve => m.proc.once('exit', code => resolve(code)))
      if (how === 'SIGINT') m.proc.kill('SIGINT')
      else {
        const r = await m.pfs(['unmount', m.dir], { timeoutMs: 20_000 })
        t.equal(r.code, 0, r.stderr)
      }
      let timer: NodeJS.Timeout | undefined
      const code = await Promise.race([exited, new Promise(resolve => { timer = setTimeout(() => resolve('hung'), 15_000) })])
      clearTimeout(timer)
      t.equal(code, 0, 'the mount process ended by itself')
      t.match(m.output(), /unmounted /)
    })
  }
})

t.test('the mount registry is owner-only and a planted record is not acted on', async t => {
  const { run, local } = pfsCli(t)
  const runtime = path.join(local, 'run')
  await fsp.mkdir(runtime, { mode: 0o755 })
  const m = await mountPfs(t, { env: { XDG_RUNTIME_DIR: runtime } })
  const env = { XDG_RUNTIME_DIR: runtime }
  const reg = path.join(runtime, 'pfs')
  t.equal(statSync(reg).mode & 0o777, 0o700, 'the registry folder is 0700')
  const records = await fsp.readdir(path.join(reg, 'mounts'))
  t.equal(records.length, 1, 'one record')
  const recFile = path.join(reg, 'mounts', records[0] as string)
  t.equal(statSync(recFile).mode & 0o777, 0o600, 'the record is 0600')

  // A record naming another live process (one not mounted there) is not trusted.
  const victim = execFile('sleep', ['60'])
  t.teardown(() => victim.kill())
  const real = await fsp.readFile(recFile, 'utf8')
  writeFileSync(recFile, JSON.stringify({ ...JSON.parse(real), pid: victim.pid, started: '1' }))
  const r = await run(['unmount', m.dir], { env })
  t.equal(r.code, 0, `the mount is cleared by detaching: ${r.stderr}`)
  t.equal(victim.exitCode === null && victim.signalCode === null, true, 'the planted pid was not signalled')
  await m.stop()

  // A registry folder belonging to someone else is refused, not used.
  const other = path.join(local, 'other')
  await fsp.mkdir(path.join(other, 'pfs'), { recursive: true })
  await fsp.chown(path.join(other, 'pfs'), 65534, 65534)
  oneLineMistake(t, await run(['mount', path.join(local, 'm2')], { env: { XDG_RUNTIME_DIR: other } }), /belongs to uid 65534/)
})

/** A folder of `n` small distinct files. */
async function bigFolder (dir: string, n: number): Promise<void> {
  await fsp.mkdir(dir, { recursive: true })
  for (let i = 0; i < n; i++) await fsp.writeFile(path.join(dir, `f${i}.txt`), `file ${i} `.repeat(50))
}

t.test('a folder put killed (SIGKILL or Ctrl-C) leaves nothing, or the whole folder', async t => {
  const { run, local, store } = pfsCli(t)
  await run(['repo', 'create', 'r'])
  await run(['put', 'r@master:before.txt', '-'], { input: 'before' })
  await bigFolder(path.join(local, 'big'), 6001)
  // How long a whole put takes here, so that the kills land during it.
  const started = Date.now()
  t.equal((await run(['put', 'r@timing:data/', 'big/'])).code, 0)
  const full = Date.now() - started
  let interrupted = 0
  for (const [signal, frac] of [['SIGKILL', 0.5], ['SIGINT', 0.5], ['SIGKILL', 0.8], ['SIGINT', 0.3]] as const) {
    await t.test(`${signal} at ${Math.round(frac * 100)}% of a put`, async t => {
      const child = spawnPfs(['--store', store, 'put', 'r@master:data/', 'big/'], { cwd: local })
      child.stdin.end()
      const timer = setTimeout(() => child.kill(signal), Math.round(full * frac))
      const [code, sig] = await new Promise<[number | null, string | null]>(resolve =>
        child.on('exit', (c, s) => resolve([c, s])))
      clearTimeout(timer)
      if (code !== 0) interrupted++
      t.ok(code === 0 || sig !== null || code === 130, `ended by the signal or finished (${String(code)}/${String(sig)})`)
      const branches = JSON.parse((await run(['branch', 'list', 'r', '--json'])).stdout) as Array<{ open: unknown }>
      t.ok(branches.every(b => b.open === null), 'no write session left open')
      const ls = await run(['ls', 'r@master:data', '--json'])
      if (ls.code === 0) t.equal((JSON.parse(ls.stdout) as unknown[]).length, 6001, 'the whole folder')
      else t.match(ls.stderr, /not found/, 'or nothing of it')
      const next = await run(['put', 'r@master:after.txt', '-'], { input: 'after' })
      t.match(next.stdout, /committed/, 'the next put commits on its own')
      await run(['rm', 'r@master:data'])
      t.equal((await run(['cat', 'r@master:before.txt'])).stdout, 'before', 'earlier commits are intact')
    })
  }
  t.ok(interrupted > 0, `at least one put was cut short (${interrupted} of 4)`)
  const fsck = await run(['fsck'])
  t.equal(fsck.code, 0, `fsck is clean: ${fsck.stdout}${fsck.stderr}`)
})
