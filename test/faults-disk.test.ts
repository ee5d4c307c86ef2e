/**
 * A full disk: a store on a small tmpfs (mounted by the test; needs root, as CI runs).
 * A put that does not fit fails with one line, leaves no temp files and no session, and
 * everything before it stays readable; the next put that fits succeeds.
 */
import t from 'tap'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { promises as fsp, mkdtempSync } from 'node:fs'
import { oneLineMistake, runPfs } from './helpers/cli.js'

const run$ = promisify(execFile)

/** Every file under `dir` whose name starts with `.tmp-`. */
async function temps (dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.name.startsWith('.tmp-')).map(e => path.join(e.parentPath, e.name))
}

async function used (dir: string): Promise<number> {
  const st = await fsp.statfs(dir)
  return (st.blocks - st.bfree) * st.bsize
}

t.test('a put into a full store fails cleanly and leaves nothing behind', {
  skip: process.getuid?.() === 0 ? false : 'mounting a small tmpfs needs root (CI runs as root)'
}, async t => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pfs-full-'))
  const disk = path.join(root, 'disk')
  await fsp.mkdir(disk)
  await run$('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', disk])
  t.teardown(async () => {
    await run$('umount', ['-l', disk]).catch(() => {})
    await fsp.rm(root, { recursive: true, force: true })
  })
  const store = path.join(disk, 'store')
  const run = async (args: string[], input?: string): Promise<Awaited<ReturnType<typeof runPfs>>> =>
    await runPfs(['--store', store, ...args], { cwd: root, input })
  await fsp.writeFile(path.join(root, 'small'), randomBytes(4 << 20))
  await fsp.writeFile(path.join(root, 'huge'), randomBytes(40 << 20))
  await fsp.mkdir(path.join(root, 'folder'))
  for (let i = 0; i < 30; i++) await fsp.writeFile(path.join(root, 'folder', `f${i}`), randomBytes(1 << 20))

  t.equal((await run(['repo', 'create', 'r'])).code, 0)
  t.equal((await run(['put', 'r@master:a', 'small'])).code, 0)
  const before = await used(disk)

  for (const [what, args] of [['a file', ['put', 'r@master:b', 'huge']], ['a folder', ['put', 'r@master:d/', 'folder/']]]) {
    await t.test(`${what} that does not fit`, async t => {
      oneLineMistake(t, await run(args as string[]), /no space left on device/)
      t.same(await temps(store), [], 'no temp files left')
      t.ok(await used(disk) - before < 1 << 20, 'the space it took is given back')
      const branches = JSON.parse((await run(['branch', 'list', 'r', '--json'])).stdout) as Array<{ open: unknown }>
      t.ok(branches.every(b => b.open === null), 'no write session left open')
      t.same((await run(['ls', 'r@master'])).stdout.split('\n').filter(Boolean), ['a'], 'nothing of it was committed')
    })
  }
  const small = await fsp.readFile(path.join(root, 'small'))
  t.ok((await run(['cat', 'r@master:a'])).out.equals(small), 'the earlier commit reads back whole')
  const next = await run(['put', 'r@master:c', 'small'])
  t.equal(next.code, 0, `a put that fits works: ${next.stderr}`)
  const fsck = await run(['fsck'])
  t.equal(fsck.code, 0, `fsck is clean: ${fsck.stdout}${fsck.stderr}`)
})
