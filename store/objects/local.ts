import { promises as fsp, constants as fsc } from 'node:fs'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import pLimit from 'p-limit'
import { notFound } from '../api/errors.js'
import { type ObjectStore, checkKey } from './object-store.js'

/** fsyncs in flight in one `sync`. */
const SYNCS_AT_ONCE = 16
/**
 * Temp files are named `.tmp-<host>-<pid>-<random>`, so gc can tell those of a process
 * that is gone (on this host) and remove them at once, not only after a day.
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8)
const TEMP_RE = /^\.tmp-([0-9a-f]{8})-(\d+)-/

/**
 * Objects as files in a local folder. Keys already carry their fan-out (`chunks/ab/ab...`),
 * so the layout on disk is the key. Writes go to a temp name in the same folder, are
 * fsynced, renamed into place, and the folder is fsynced, so a crash leaves either the
 * whole object or nothing (plus, at worst, a stray `.tmp-*` file that `list` ignores and
 * gc removes). A put that fails removes its temp file.
 */
export class LocalObjectStore implements ObjectStore {
  readonly description: string
  private readonly madeDirs = new Set<string>()
  /** Deferred puts: written under a temp name, renamed into place by `sync`. */
  private pending: Array<{ tmp: string, dest: string }> = []
  /** Syncs under way, by destination file. */
  private readonly syncing = new Map<string, Promise<void>>()

  constructor (readonly root: string) {
    this.description = `local:${root}`
  }

  private file (key: string): string {
    checkKey(key)
    return path.join(this.root, key)
  }

  async put (key: string, data: Uint8Array, opts: { defer?: boolean } = {}): Promise<void> {
    const dest = this.file(key)
    const dir = path.dirname(dest)
    if (!this.madeDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true })
      this.madeDirs.add(dir)
    }
    const tmp = path.join(dir, `.tmp-${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}`)
    try {
      const fh = await fsp.open(tmp, 'w', 0o600)
      try {
        await fh.writeFile(data)
        if (opts.defer !== true) await fh.datasync()
      } finally {
        await fh.close()
      }
      if (opts.defer === true) {
        this.pending.push({ tmp, dest })
        return
      }
      await fsp.rename(tmp, dest)
    } catch (e) {
      await fsp.rm(tmp, { force: true })
      throw e
    }
    await fsyncDir(dir)
  }

  /**
   * Gives up deferred puts of `keys` not synced yet: their temp files go. One pending put
   * per key: another writer's put of the same key (the same bytes) stays for its own sync.
   */
  async discard (keys: string[]): Promise<void> {
    const gone: string[] = []
    for (const key of keys) {
      const dest = this.file(key)
      const i = this.pending.findIndex(p => p.dest === dest)
      if (i >= 0) gone.push(this.pending.splice(i, 1)[0].tmp)
    }
    await Promise.all(gone.map(async tmp => await fsp.rm(tmp, { force: true })))
  }

  /**
   * Deferred objects: fsync them all (many at once: the disk merges them), rename each
   * into place, then fsync their folders. Only then is an object visible at its key.
   * Two writers may put the same key (the same bytes): whichever syncs first makes it
   * durable, and the other's sync waits for that before it returns.
   */
  async sync (keys?: string[]): Promise<void> {
    const want = keys === undefined ? undefined : new Set(keys.map(k => this.file(k)))
    const batch = want === undefined ? this.pending : this.pending.filter(p => want.has(p.dest))
    this.pending = want === undefined ? [] : this.pending.filter(p => !want.has(p.dest))
    const others = new Set(
      want === undefined ? this.syncing.values() : [...want].map(d => this.syncing.get(d)).filter(p => p !== undefined)
    )
    if (batch.length > 0) {
      const mine = this.syncBatch(batch)
      for (const b of batch) this.syncing.set(b.dest, mine)
      try {
        await mine
      } finally {
        for (const b of batch) if (this.syncing.get(b.dest) === mine) this.syncing.delete(b.dest)
      }
    }
    await Promise.all(others)
  }

  private async syncBatch (batch: Array<{ tmp: string, dest: string }>): Promise<void> {
    try {
      // Newest first: the kernel is already writing back the oldest (measured faster).
      await pLimit(SYNCS_AT_ONCE).map([...batch].reverse(), async item => {
        const fh = await fsp.open(item.tmp, 'r+')
        try { await fh.datasync() } finally { await fh.close() }
      })
      for (const { tmp, dest } of batch) await fsp.rename(tmp, dest)
      for (const dir of new Set(batch.map(b => path.dirname(b.dest)))) await fsyncDir(dir)
    } catch (e) {
      await Promise.all(batch.map(async b => await fsp.rm(b.tmp, { force: true })))
      throw e
    }
  }

  async get (key: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.file(key))
    } catch (e) {
      throw missing(e, key)
    }
  }

  async getRange (key: string, offset: number, length: number): Promise<Buffer> {
    let fh
    try {
      fh = await fsp.open(this.file(key), fsc.O_RDONLY)
    } catch (e) {
      throw missing(e, key)
    }
    try {
      const buf = Buffer.allocUnsafe(length)
      let got = 0
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      return got === length ? buf : buf.subarray(0, got)
    } finally {
      await fh.close()
    }
  }

  async has (key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined
  }

  /**
   * Only a regular file is an object: a folder (`chunks/ab`) or a link at a key is none,
   * so a key a client names cannot pass a folder's size off as an object's, nor lead out
   * of the store through a link.
   */
  async stat (key: string): Promise<{ size: number, mtimeMs: number } | undefined> {
    try {
      const st = await fsp.lstat(this.file(key))
      return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
      throw e
    }
  }

  async delete (key: string): Promise<void> {
    await fsp.rm(this.file(key), { force: true })
  }

  async * list (prefix: string): AsyncIterable<string> {
    // The prefix is a folder path or a folder path plus the start of a name.
    const base = prefix.endsWith('/') || prefix === ''
      ? prefix
      : path.posix.dirname(prefix) === '.' ? '' : path.posix.dirname(prefix) + '/'
    yield * walk(this.root, base, prefix)
  }

  /**
   * `.tmp-*` files left by a process killed in the middle of `put`: those of a process of
   * this host that is gone, and any older than `olderThanMs`.
   */
  async removeStaleTemp (olderThanMs: number): Promise<number> {
    let n = 0
    const visit = async (dir: string): Promise<void> => {
      let ents
      try { ents = await fsp.readdir(dir, { withFileTypes: true }) } catch { return }
      for (const ent of ents) {
        const full = path.join(dir, ent.name)
        if (ent.isDirectory()) await visit(full)
        else if (ent.name.startsWith('.tmp-')) {
          const st = await fsp.stat(full).catch(() => undefined)
          if (st !== undefined && (ownerGone(ent.name) || Date.now() - st.mtimeMs >= olderThanMs)) {
            await fsp.rm(full, { force: true })
            n++
          }
        }
      }
    }
    await visit(this.root)
    return n
  }

  async close (): Promise<void> {}
}

async function * walk (root: string, rel: string, prefix: string): AsyncIterable<string> {
  let ents
  try {
    ents = await fsp.readdir(path.join(root, rel), { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return
    throw e
  }
  for (const ent of ents) {
    if (ent.name.startsWith('.tmp-')) continue
    const key = rel + ent.name
    if (ent.isDirectory()) {
      if (key.startsWith(prefix) || prefix.startsWith(key + '/')) yield * walk(root, key + '/', prefix)
    } else if (key.startsWith(prefix)) {
      yield key
    }
  }
}

/** True for a temp file named by a process of this host that no longer runs. */
function ownerGone (name: string): boolean {
  const m = TEMP_RE.exec(name)
  if (m === null || m[1] !== HOST_TAG) return false
  try {
    process.kill(Number(m[2]), 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

async function fsyncDir (dir: string): Promise<void> {
  const fh = await fsp.open(dir, fsc.O_RDONLY)
  try {
    await fh.sync()
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await fh.close()
  }
}

function missing (e: unknown, key: string): unknown {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
    return notFound('object', key, 'the store may be damaged; run `pfs fsck`')
  }
  return e
}
