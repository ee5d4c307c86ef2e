// A writer for test/crash.test.ts, run as a child process that the test kills with
// SIGKILL at a random moment. It opens the store embedded through the BUILT code
// (dist/), then writes forever from two concurrent workers: single-file commits,
// write sessions (startCommit or a keepOpen put, then puts, deletes, renames,
// finishCommit), folder puts, copies from earlier commits, aborted sessions, new
// branches, and now and then a gc. After each finished commit it prints
//   COMMIT {"id","repo","branch","files":{path: "size:sha256"}}
// with the full expected content of the commit, only once finishCommit (or the
// committing put) has returned.
//
// Usage: node crash-writer.mjs '{"store","tmp","seed","round","known":"<file>"}'
// `known` holds the commits earlier writers reported: [{id, repo, files}].
import { createHash } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { openPfs } from '../../dist/store/index.js'

const args = JSON.parse(process.argv[2])
const REPOS = ['alpha', 'beta']
const known = JSON.parse(await fsp.readFile(args.known, 'utf8'))

// mulberry32: a seeded PRNG, so a failing run can be replayed with its seed.
let s = args.seed >>> 0
function rand () {
  s = (s + 0x6d2b79f5) >>> 0
  let x = s
  x = Math.imul(x ^ (x >>> 15), x | 1)
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))
const pick = (xs) => xs[Math.floor(rand() * xs.length)]

/** Deterministic bytes for a content seed: equal seeds give equal content (dedup). */
function bytes (size, seed) {
  const buf = Buffer.allocUnsafe(size)
  let x = (Math.imul(seed + 1, 2654435761) >>> 0) || 1
  let i = 0
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    buf.writeInt32LE(x | 0, i)
  }
  for (; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; buf[i] = x & 0xff }
  return buf
}
const digest = (b) => `${b.length}:${createHash('sha256').update(b).digest('hex')}`

/** Mostly small files (packs), some medium, a few of several MiB (standalone chunks, manifests). */
const pool = []
function content () {
  if (pool.length > 0 && rand() < 0.2) return bytes(...pick(pool)) // the same bytes again
  const r = rand()
  const size = r < 0.05 ? 0 : r < 0.55 ? int(1, 24_000) : r < 0.85 ? int(24_000, 400_000) : r < 0.97 ? int(400_000, 2_000_000) : int(4_300_000, 6_000_000)
  const c = [size, int(1, 1e9)]
  pool.push(c)
  return bytes(...c)
}

const DIRS = ['', 'a/', 'a/b/', 'c/']
const filePath = () => `${pick(DIRS)}f${int(0, 30)}`

/** Lets gc run alone: puts of chunks gc is sweeping are a separate (known) race. */
let busy = 0
let gcTurn = null
const idle = []
async function shared (fn) {
  while (gcTurn !== null) await gcTurn
  busy++
  try { return await fn() } finally { busy--; if (busy === 0) idle.splice(0).forEach(r => r()) }
}
async function alone (fn) {
  while (gcTurn !== null) await gcTurn
  let release
  gcTurn = new Promise(resolve => { release = resolve })
  while (busy > 0) await new Promise(resolve => idle.push(resolve))
  try { return await fn() } finally { gcTurn = null; release() }
}

const pfs = await openPfs({ store: args.store, embeddedOnly: true })
process.stdout.write(`READY ${process.pid}\n`)

function report (repo, branch, id, files) {
  const c = { id, repo, branch, files: { ...files } }
  known.push(c)
  process.stdout.write(`COMMIT ${JSON.stringify(c)}\n`)
}

async function worker (w) {
  let n = 0
  let repo, branch, files
  const newBranch = async () => {
    repo = pick(REPOS)
    branch = `r${args.round}w${w}n${n++}`
    const bases = known.filter(c => c.repo === repo)
    if (bases.length > 0 && rand() < 0.7) {
      const base = pick(bases)
      await pfs.createBranch(repo, branch, { from: base.id })
      files = { ...base.files }
    } else {
      files = {} // made by its first write
    }
  }
  await shared(newBranch)
  for (let step = 0; ; step++) {
    const r = rand()
    if (r < 0.05 && w === 0) {
      await alone(async () => { await pfs.gc() })
      continue
    }
    await shared(async () => {
      if (r < 0.3) {
        const p = filePath(); const data = content()
        const res = await pfs.putFile(repo, branch, p, data, { message: `put ${p}` })
        if (!res.finished) throw new Error('a put with no open session must commit')
        files[p] = digest(data)
        report(repo, branch, res.commit.id, files)
      } else if (r < 0.55) {
        await session()
      } else if (r < 0.68) {
        await folder(w, step)
      } else if (r < 0.8) {
        await abort()
      } else if (r < 0.9) {
        await copy()
      } else {
        await newBranch()
      }
    })
  }

  async function session () {
    const next = { ...files }
    if (rand() < 0.5) {
      await pfs.startCommit(repo, branch, { message: 'session' })
    } else {
      const p = filePath(); const data = content()
      const res = await pfs.putFile(repo, branch, p, data, { keepOpen: true })
      if (res.finished) throw new Error('keepOpen must leave the session open')
      next[p] = digest(data)
    }
    for (let i = int(1, 5); i > 0; i--) {
      const have = Object.keys(next)
      const op = rand()
      if (op < 0.6 || have.length === 0) {
        const p = filePath(); const data = content()
        await pfs.putFile(repo, branch, p, data)
        next[p] = digest(data)
      } else if (op < 0.8) {
        const p = pick(have)
        await pfs.apply(repo, branch, [{ op: 'delete', path: p }])
        delete next[p]
      } else {
        const from = pick(have)
        const to = `${from.slice(0, from.lastIndexOf('/') + 1)}f${int(0, 30)}`
        if (to === from) continue
        await pfs.apply(repo, branch, [{ op: 'rename', from, path: to }])
        next[to] = next[from]
        delete next[from]
      }
    }
    const c = await pfs.finishCommit(repo, branch, { message: 'finished session' })
    files = next
    report(repo, branch, c.id, files)
  }

  async function folder (w, step) {
    const dir = path.join(args.tmp, `r${args.round}-w${w}-${step}`)
    const dest = `p${int(0, 5)}`
    const written = {}
    await fsp.rm(dir, { recursive: true, force: true })
    await fsp.mkdir(path.join(dir, 'sub'), { recursive: true })
    for (let i = int(1, 25); i > 0; i--) {
      const rel = `${rand() < 0.3 ? 'sub/' : ''}g${i}`
      const data = content()
      await fsp.writeFile(path.join(dir, rel), data)
      written[`${dest}/${rel}`] = digest(data)
    }
    const res = await pfs.putLocal(repo, branch, dest, dir, { message: 'folder' })
    if (!res.finished) throw new Error('a folder put with no open session must commit')
    Object.assign(files, written)
    report(repo, branch, res.commit.id, files)
    await fsp.rm(dir, { recursive: true, force: true })
  }

  async function abort () {
    await pfs.startCommit(repo, branch, { message: 'to be aborted' })
    for (let i = int(1, 3); i > 0; i--) await pfs.putFile(repo, branch, filePath(), content())
    await pfs.abortCommit(repo, branch)
  }

  async function copy () {
    const src = known.filter(c => Object.keys(c.files).length > 0)
    if (src.length === 0) return
    const c = pick(src)
    const from = pick(Object.keys(c.files))
    const to = `c/f${int(0, 30)}`
    const res = await pfs.apply(repo, branch, [{ op: 'copy', from: { repo: c.repo, rev: c.id, path: from }, path: to }], { message: 'copy' })
    files[to] = c.files[from]
    report(repo, branch, res.commit.id, files)
  }
}

Promise.all([worker(0), worker(1)]).catch(err => {
  process.stderr.write(`FAIL ${err.stack ?? err}\n${JSON.stringify(err.data ?? {})}\n`)
  process.exit(3)
})
