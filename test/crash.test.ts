// "A crash at any moment leaves every finished commit intact": a writer process is
// killed with SIGKILL at random moments, over and over on the same store; after each
// kill the store opens (the LevelDB lock died with the writer), fsck finds nothing, and
// every commit any writer reported finished is there with the right bytes.
import t from 'tap'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { existsSync, promises as fsp } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openPfs } from '../store/open.js'
import type { Pfs } from '../store/api/pfs.js'
import { tempDir, sha, SMALL_CHUNKS_CONFIG } from './helpers/store-checks.js'

const WRITER = fileURLToPath(new URL('./helpers/crash-writer.mjs', import.meta.url))
const BUILT = fileURLToPath(new URL('../dist/store/index.js', import.meta.url))
const ROUNDS = 24

interface Reported { id: string, repo: string, branch: string, files: Record<string, string> }
interface Round {
  commits: Reported[]
  killedAfterMs: number
  stderr: string
  signal: string | null
  code: number | null
}

/** Runs the writer until it has been up for `delayMs` (after READY, or after spawn), then SIGKILLs it. */
async function runWriter (args: object, delayMs: number, fromSpawn: boolean): Promise<Round> {
  const child = spawn(process.execPath, [WRITER, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const commits: Reported[] = []
  let out = ''
  let stderr = ''
  let timer: NodeJS.Timeout | undefined
  const started = Date.now()
  let readyAt = started
  const kill = (): void => { timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs) }
  if (fromSpawn) kill()
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString()
    let nl
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl)
      out = out.slice(nl + 1)
      if (line.startsWith('READY ')) { readyAt = Date.now(); kill() } else if (line.startsWith('COMMIT ')) commits.push(JSON.parse(line.slice(7)) as Reported)
    }
  })
  const [code, signal] = await new Promise<[number | null, string | null]>(resolve => child.on('exit', (c, s) => resolve([c, s])))
  clearTimeout(timer)
  // A line cut by the kill has no newline and is not a report.
  return { commits, killedAfterMs: Date.now() - (fromSpawn ? started : readyAt), stderr, signal, code }
}

/** Files of a commit that do not read back as reported; reads each distinct content once. */
async function checkCommit (pfs: Pfs, c: Reported, verified: Map<string, string>): Promise<string[]> {
  const bad: string[] = []
  const info = await pfs.inspectCommit(c.repo, c.id).catch((e: Error) => e)
  if (info instanceof Error) return [`${c.repo}@${c.id}: ${info.message}`]
  if (info.finished === null) return [`${c.repo}@${c.id} is not finished`]
  const seen = new Set<string>()
  let after: string | undefined
  do {
    const page = await pfs.walk(c.repo, c.id, '', { after, limit: 1000 })
    for (const f of page.entries) {
      if (f.kind !== 'file') continue
      seen.add(f.path)
      const want = c.files[f.path]
      if (want === undefined) { bad.push(`${c.repo}@${c.id}: unexpected file ${f.path}`); continue }
      const key = `${f.hash}:${f.size}`
      let got = verified.get(key)
      if (got === undefined) {
        const data = await pfs.readAll(c.repo, c.id, f.path)
        got = `${data.length}:${sha(data)}`
        verified.set(key, got)
      }
      if (got !== want) bad.push(`${c.repo}@${c.id}: ${f.path} reads ${got}, expected ${want}`)
    }
    after = page.next
  } while (after !== undefined)
  for (const p of Object.keys(c.files)) if (!seen.has(p)) bad.push(`${c.repo}@${c.id}: ${p} is missing`)
  return bad
}

t.test('a writer killed at random moments never loses or damages a finished commit', async t => {
  if (!existsSync(BUILT)) {
    t.fail(`${path.relative(process.cwd(), BUILT)} is missing: the crash writer runs the built code; run \`make build\` (\`make test\` builds first)`)
    return
  }
  const seed = Number(process.env.PFS_CRASH_SEED ?? Date.now() % 1e9)
  t.comment(`seed ${seed} (PFS_CRASH_SEED=${seed} replays the same writers)`)
  let r = seed
  const rand = (): number => { r = (Math.imul(r, 1103515245) + 12345) >>> 0; return r / 4294967296 }

  const dir = await tempDir(t, 'pfs-crash-')
  const store = path.join(dir, 'store')
  const tmp = path.join(dir, 'tmp')
  await fsp.mkdir(store)
  await fsp.mkdir(tmp)
  await fsp.writeFile(path.join(store, 'config.json'), JSON.stringify(SMALL_CHUNKS_CONFIG))
  {
    const pfs = await openPfs({ store, embeddedOnly: true })
    await pfs.createRepo('alpha')
    await pfs.createRepo('beta')
    await pfs.close()
  }

  const known: Reported[] = []
  const knownFile = path.join(dir, 'known.json')
  let killedMidWrite = 0
  for (let round = 0; round < ROUNDS; round++) {
    await fsp.writeFile(knownFile, JSON.stringify(known))
    // Every sixth writer is killed counting from its spawn (it is READY ~400-600 ms after),
    // so some die while Node loads or while the store and its LevelDB open.
    const fromSpawn = round % 6 === 5
    const delay = fromSpawn ? 250 + Math.floor(rand() * 450) : 50 + Math.floor(rand() * 750)
    const res = await runWriter({ store, tmp, seed: seed + round, round, known: knownFile }, delay, fromSpawn)
    if (res.signal !== 'SIGKILL') {
      t.fail(`round ${round}: the writer stopped by itself (code ${res.code})`, { stderr: res.stderr })
      return
    }
    known.push(...res.commits)
    if (res.commits.length > 0) killedMidWrite++

    const opened = Date.now()
    const pfs = await openPfs({ store, embeddedOnly: true })
    const openMs = Date.now() - opened
    try {
      const report = await pfs.fsck()
      const verified = new Map<string, string>()
      const bad: string[] = []
      for (const c of known) bad.push(...await checkCommit(pfs, c, verified))
      t.same({ problems: report.problems, bad }, { problems: [], bad: [] },
        `round ${round}: killed ${res.killedAfterMs} ms after ${fromSpawn ? 'spawn' : 'READY'}, ${res.commits.length} new commits; ` +
        `fsck checked ${report.commitsChecked} commits and ${report.objectsChecked} objects; ${known.length} reported commits read back (store opened in ${openMs} ms)`)
    } finally {
      await pfs.close()
    }
  }
  t.ok(known.length >= ROUNDS, `${known.length} commits reported finished over ${ROUNDS} kills`)
  t.ok(killedMidWrite >= ROUNDS / 2, `${killedMidWrite} writers had committed before they were killed`)

  // Whatever the kills left behind, gc keeps every finished commit.
  const pfs = await openPfs({ store, embeddedOnly: true })
  try {
    await pfs.gc()
    t.same((await pfs.fsck()).problems, [], 'fsck is clean after gc')
    const bad: string[] = []
    for (const c of known) bad.push(...await checkCommit(pfs, c, new Map()))
    t.same(bad, [], 'every reported commit reads back after gc')
  } finally {
    await pfs.close()
  }
})
