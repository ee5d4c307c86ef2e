// LevelDB admits one process. A second process that opens a store in use gets a BUSY
// error naming the process that holds it and pointing at `pfs serve`, and changes nothing.
import t from 'tap'
import path from 'node:path'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, promises as fsp } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { openPfs } from '../store/open.js'
import { PfsError } from '../store/api/errors.js'
import { tempDir, bytes, sha, SMALL_CHUNKS_CONFIG } from './helpers/store-checks.js'

const HOLDER = fileURLToPath(new URL('./helpers/store-holder.mjs', import.meta.url))
const BUILT = fileURLToPath(new URL('../dist/store/index.js', import.meta.url))

interface Proc {
  child: ChildProcessWithoutNullStreams
  next: () => Promise<string>
  exited: Promise<[number | null, string | null]>
  stderr: () => string
}

function run (t: Parameters<typeof tempDir>[0], mode: 'hold' | 'open', store: string): Proc {
  const child = spawn(process.execPath, [HOLDER, mode, store])
  let err = ''
  child.stderr.on('data', (b: Buffer) => { err += b.toString() })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const exited = new Promise<[number | null, string | null]>(resolve => child.on('exit', (c, s) => resolve([c, s])))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return {
    child,
    exited,
    stderr: () => err,
    next: async () => {
      const r = await lines.next()
      if (r.done === true) throw new Error(`${mode} process ended without a line: ${err}`)
      return r.value
    }
  }
}

async function storeWithData (t: Parameters<typeof tempDir>[0]): Promise<string> {
  const store = path.join(await tempDir(t, 'pfs-lock-'), 'store')
  await fsp.mkdir(store)
  await fsp.writeFile(path.join(store, 'config.json'), JSON.stringify(SMALL_CHUNKS_CONFIG))
  const pfs = await openPfs({ store, embeddedOnly: true })
  await pfs.createRepo('data')
  await pfs.putFile('data', 'master', 'before.bin', bytes(1_000_000, 5))
  await pfs.close()
  return store
}

t.test('a second process opening a store in use is told who holds it, and nothing breaks', async t => {
  if (!existsSync(BUILT)) {
    t.fail(`${path.relative(process.cwd(), BUILT)} is missing: the other processes run the built code; run \`make build\` (\`make test\` builds first)`)
    return
  }
  const store = await storeWithData(t)
  const holder = run(t, 'hold', store)
  const ready = await holder.next()
  t.match(ready, /^READY \d+$/)
  const pid = Number(ready.split(' ')[1])

  const second = run(t, 'open', store)
  const answer = JSON.parse(await second.next()) as {
    ok: boolean, name?: string, code?: string, message?: string, data?: { store?: string }
  }
  t.same(await second.exited, [0, null], 'the second process exits normally')
  t.match(answer, { ok: false, name: 'PfsError', code: 'BUSY', data: { store } })
  t.match(answer.message, `pfs process ${pid}`, 'the message names the holder\'s pid')
  t.match(answer.message, `pfs serve --store ${store}`, 'and suggests `pfs serve` to share the store')

  // The same from this process, as a PfsError object.
  const err = await openPfs({ store, embeddedOnly: true }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof PfsError, 'a PfsError')
  t.match(err, { code: 'BUSY', message: new RegExp(`in use by pfs process ${pid} `) })

  holder.child.stdin.write('put during.txt\n')
  t.match(await holder.next(), /^PUT [0-9a-f]{32}$/, 'the holder still writes after the knocks')
  holder.child.stdin.write('close\n')
  t.equal(await holder.next(), 'CLOSED')
  t.same(await holder.exited, [0, null])
  t.notOk(existsSync(path.join(store, 'owner.json')), 'the holder removed its owner record')

  const third = run(t, 'open', store)
  t.match(JSON.parse(await third.next()), { ok: true, mode: 'embedded', repos: ['data'] }, 'once it is gone another process opens the store')
  await third.exited

  const pfs = await openPfs({ store, embeddedOnly: true })
  t.teardown(() => pfs.close())
  t.same((await pfs.fsck()).problems, [], 'fsck finds nothing wrong')
  t.equal(sha(await pfs.readAll('data', 'master', 'before.bin')), sha(bytes(1_000_000, 5)))
  t.match((await pfs.readAll('data', 'master', 'during.txt')).toString(), `written by ${pid}`)
  t.equal((await pfs.log('data', 'master')).length, 2, 'two commits, none lost or added')
})

t.test('a holder killed with SIGKILL leaves a store the next process opens', async t => {
  if (!existsSync(BUILT)) {
    t.fail(`${path.relative(process.cwd(), BUILT)} is missing; run \`make build\``)
    return
  }
  const store = await storeWithData(t)
  const holder = run(t, 'hold', store)
  t.match(await holder.next(), /^READY/)
  holder.child.kill('SIGKILL')
  t.same(await holder.exited, [null, 'SIGKILL'])
  t.ok(existsSync(path.join(store, 'owner.json')), 'its owner record is stale')

  const next = run(t, 'open', store)
  t.match(JSON.parse(await next.next()), { ok: true, repos: ['data'] }, 'the lock died with the holder')
  const pfs = await openPfs({ store, embeddedOnly: true })
  t.teardown(() => pfs.close())
  t.same((await pfs.fsck()).problems, [])
})
