/**
 * Files open for writing in branch folders. Each is spooled to a local file (so memory
 * stays flat whatever the size) and uploaded into the branch's write session when it is
 * closed (`flush`, which runs inside close(2), so a `pfs commit` right after `cp` sees
 * the file) or fsynced. While open, reads and stats of the path are served from the
 * spool: a writer reads its own writes. An existing file is copied into the spool only
 * when it is first written (not on open), and not at all when opened with O_TRUNC.
 */
import { promises as fsp, createReadStream } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pLimit, { type LimitFunction } from 'p-limit'
import type { EntryMeta, FileInfo, Pfs } from '../store/index.js'
import { StreamUpload } from './stream-upload.js'
import { statOf, type Owner, type Stat } from './attrs.js'

export interface Spool {
  repo: string
  branch: string
  path: string
  fh: fsp.FileHandle
  size: number
  mode: number
  mtime: number
  /** mtime's nanoseconds, when set by utimens. */
  mtimeNs?: number
  /** Owner to record (absent: the stored file's, or the mounting user's). */
  uid?: number
  gid?: number
  atime?: number
  atimeNs?: number
  /** Last change of attributes (chmod, chown, utimens) while open, when after the mtime. */
  ctime?: number
  /** Changed since the last upload. */
  dirty: boolean
  /** The spool holds the whole file (base content copied, or created/truncated). */
  loaded: boolean
  /** Open handles. */
  refs: number
  /** Unlinked or replaced while open: never uploaded again. */
  detached: boolean
  /** Root tree the base content is read from, until loaded. */
  baseRoot: string
  /** One spool operation at a time. */
  lock: LimitFunction
  /** Appends streamed to the store as they come; null once anything else happened. */
  stream: StreamUpload | null | undefined
  /** Mode, owner and atime the stream was started with (a change while open is applied after it). */
  streamMode?: number
  streamMeta?: string
  /** mtime was set (utimens) after the last write: the stream's put stamps its own time. */
  timesSet?: boolean
  /** Write-behind: spool writes queued in order; their first error is reported at flush. */
  tail: Promise<void>
  inFlight: number
  writeError?: Error
}

/** How a file is opened: the tree its content comes from, and its attributes there. */
export interface OpenAs {
  baseRoot: string
  size: number
  mode: number
  mtime: number
  truncate: boolean
  create: boolean
  /** The stored file's owner and times (or the creator, for a new file). */
  meta?: Pick<FileInfo, 'uid' | 'gid' | 'atime' | 'atimeNs' | 'mtimeNs' | 'ctime'>
}

/** A spool's attributes as stat(2) shows them. */
export function spoolStat (s: Spool, ids: Owner): Stat {
  const ctime = s.ctime !== undefined && s.ctime > s.mtime ? s.ctime : undefined
  return statOf({ ...s, kind: 'file', ctime }, ids)
}

/** The owner and times an upload of the spool records. */
function putMeta (s: Spool): EntryMeta {
  return {
    uid: s.uid,
    gid: s.gid,
    atime: s.atime,
    atimeNs: s.atime === undefined ? undefined : s.atimeNs,
    mtimeNs: s.mtimeNs
  }
}

/** Bytes of writes a spool may have queued before a writer waits for the disk. */
const WRITE_BEHIND = 32 << 20

export class Spools {
  private readonly byPath = new Map<string, Spool>()

  constructor (
    private readonly pfs: Pfs,
    private readonly dir: string,
    private readonly onUpload: (repo: string, branch: string) => void,
    private readonly log: (msg: string) => void = () => {}
  ) {}

  static key (repo: string, branch: string, p: string): string { return `${repo}\0${branch}\0${p}` }

  get (repo: string, branch: string, p: string): Spool | undefined {
    return this.byPath.get(Spools.key(repo, branch, p))
  }

  /** Spools in a folder of a branch (files created here and not yet uploaded show up in ls). */
  inDir (repo: string, branch: string, dir: string): Spool[] {
    const out: Spool[] = []
    for (const s of this.byPath.values()) {
      const here = path.posix.dirname(s.path) === (dir === '' ? '.' : dir)
      if (s.repo === repo && s.branch === branch && !s.detached && here) out.push(s)
    }
    return out
  }

  all (): Spool[] { return [...this.byPath.values()] }

  hasOpen (repo: string, branch: string): boolean {
    for (const s of this.byPath.values()) if (s.repo === repo && s.branch === branch) return true
    return false
  }

  async open (repo: string, branch: string, p: string, o: OpenAs): Promise<Spool> {
    const existing = this.get(repo, branch, p)
    if (existing !== undefined) {
      existing.refs++
      if (o.truncate) await this.truncate(existing, 0)
      return existing
    }
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 })
    const file = path.join(this.dir, randomBytes(8).toString('hex'))
    const fh = await fsp.open(file, 'w+', 0o600)
    // Unlinked at once: the bytes live as long as the handle, so even a SIGKILLed mount
    // leaves nothing behind on disk.
    await fsp.unlink(file)
    const fresh = o.truncate || o.create
    const s: Spool = {
      repo, branch, path: p, fh, size: fresh ? 0 : o.size, mode: o.mode, mtime: fresh ? Date.now() : o.mtime,
      dirty: fresh, loaded: fresh, refs: 1, detached: false, baseRoot: o.baseRoot, lock: pLimit(1),
      stream: fresh ? undefined : null, tail: Promise.resolve(), inFlight: 0,
      uid: o.meta?.uid,
      gid: o.meta?.gid,
      // An existing file's atime stays what it was while its mtime moves (it is the mtime until set).
      atime: o.meta?.atime ?? (o.create ? undefined : o.mtime),
      atimeNs: o.meta?.atime !== undefined ? o.meta.atimeNs : o.create ? undefined : o.meta?.mtimeNs,
      mtimeNs: fresh ? undefined : o.meta?.mtimeNs,
      ctime: fresh ? undefined : o.meta?.ctime
    }
    this.byPath.set(Spools.key(repo, branch, p), s)
    return s
  }

  /** Copies the committed content into the spool before the first partial change. */
  private async load (s: Spool): Promise<void> {
    if (s.loaded) return
    if (s.size > 0) {
      const src = await this.pfs.readStream(s.repo, `tree:${s.baseRoot}`, s.path)
      let pos = 0
      for await (const b of src) {
        await s.fh.write(b as Buffer, 0, (b as Buffer).length, pos)
        pos += (b as Buffer).length
      }
    }
    s.loaded = true
  }

  /**
   * Answers as soon as the bytes are copied: the kernel sends one write at a time, so
   * waiting for the disk on each would cap throughput at one round trip per 128 KiB.
   * Spool writes stay in order; a failure is reported by the next flush or fsync.
   */
  async write (s: Spool, buf: Buffer, len: number, pos: number): Promise<number> {
    return await s.lock(async () => {
      await this.load(s)
      if (s.writeError !== undefined) throw s.writeError
      const copy = Buffer.from(buf.subarray(0, len))
      await this.streamWrite(s, copy, pos)
      s.inFlight += len
      s.tail = s.tail.then(async () => { await s.fh.write(copy, 0, len, pos) })
        .catch(e => { s.writeError ??= e as Error })
        .finally(() => { s.inFlight -= len })
      if (s.inFlight > WRITE_BEHIND) await s.tail
      s.size = Math.max(s.size, pos + len)
      s.dirty = true
      s.mtime = Date.now()
      s.mtimeNs = undefined
      s.timesSet = false
      return len
    })
  }

  /** Waits for queued spool writes; throws the first one that failed. */
  private async settle (s: Spool): Promise<void> {
    await s.tail
    if (s.writeError !== undefined) throw s.writeError
  }

  async read (s: Spool, buf: Buffer, len: number, pos: number): Promise<number> {
    return await s.lock(async () => {
      if (!s.loaded) {
        const f = await this.pfs.openFile(s.repo, `tree:${s.baseRoot}`, s.path)
        const data = await f.read(pos, len)
        data.copy(buf)
        return data.length
      }
      await this.settle(s)
      const { bytesRead } = await s.fh.read(buf, 0, Math.max(0, Math.min(len, s.size - pos)), pos)
      return bytesRead
    })
  }

  /** Feeds an append to the stream upload; anything but an append ends streaming. */
  private async streamWrite (s: Spool, buf: Buffer, pos: number): Promise<void> {
    if (s.stream === null) return
    if (pos !== s.size || s.detached) { this.stopStream(s); return }
    if (s.stream === undefined) {
      const meta = putMeta(s)
      s.stream = new StreamUpload(this.pfs, s.repo, s.branch, s.path, { mode: s.mode, ...meta })
      s.streamMode = s.mode
      s.streamMeta = JSON.stringify(meta)
    }
    await s.stream.push(buf)
  }

  private stopStream (s: Spool): void {
    s.stream?.cancel()
    s.stream = null
  }

  async truncate (s: Spool, size: number): Promise<void> {
    await s.lock(async () => {
      if (size !== s.size || s.stream !== undefined) this.stopStream(s)
      if (size > 0) await this.load(s)
      await this.settle(s)
      await s.fh.truncate(size)
      s.loaded = true
      s.size = size
      s.dirty = true
      s.mtime = Date.now()
      s.mtimeNs = undefined
    })
  }

  /** Sends the spool's content to the branch's write session (opening one if needed). */
  async upload (s: Spool): Promise<void> {
    await s.lock(async () => {
      if (!s.dirty || s.detached) return
      await this.settle(s)
      if (s.stream !== undefined && s.stream !== null) {
        const stream = s.stream
        s.stream = null
        // If the streamed upload fails, the spool still has every byte: upload that.
        if (await stream.end().then(() => true, () => false)) {
          const changed = s.mode !== s.streamMode || s.streamMeta !== JSON.stringify(putMeta(s))
          if (changed || s.timesSet === true) {
            const mtime = s.timesSet === true ? s.mtime : undefined
            const op = { op: 'setattr' as const, path: s.path, mode: s.mode, mtime, ...putMeta(s) }
            await this.pfs.apply(s.repo, s.branch, [op], { keepOpen: true })
          }
          s.dirty = false
          this.onUpload(s.repo, s.branch)
          return
        }
      }
      s.stream = null
      await this.load(s)
      await s.fh.datasync()
      const end = Math.max(0, s.size - 1)
      const stream = createReadStream('', { fd: s.fh.fd, start: 0, end, autoClose: false, highWaterMark: 1 << 20 })
      const data = s.size === 0 ? new Uint8Array(0) : stream
      const opts = { keepOpen: true, mode: s.mode, mtime: s.mtime, ...putMeta(s) }
      await this.pfs.putFile(s.repo, s.branch, s.path, data, opts)
      // A status change after the last write (utimens, chmod while open) is a ctime the
      // put itself does not carry (a new entry's ctime is its mtime): stamp it.
      if (s.ctime !== undefined && s.ctime > s.mtime) {
        await this.pfs.apply(s.repo, s.branch, [{ op: 'setattr', path: s.path }], { keepOpen: true })
      }
      s.dirty = false
      this.onUpload(s.repo, s.branch)
    })
  }

  /** Drops one handle; the last one uploads what is left and removes the spool. */
  async release (s: Spool): Promise<void> {
    s.refs--
    if (s.refs > 0) return
    try {
      // The kernel ignores release errors, so a failed upload is retried once, then logged.
      await this.upload(s).catch(async () => await this.upload(s))
    } catch (e) {
      this.log(`pfs mount: could not save ${s.repo}@${s.branch}:${s.path} when it was closed: ${(e as Error).message}`)
      throw e
    } finally {
      // Reopened while this release was uploading: the new opener owns the spool now.
      if (s.refs === 0) {
        const key = Spools.key(s.repo, s.branch, s.path)
        if (this.byPath.get(key) === s) this.byPath.delete(key)
        await s.tail
        await s.fh.close().catch(() => {})
      }
    }
  }

  /** A rename moves the spools of an open file (or of open files below a folder) with it. */
  move (repo: string, branch: string, from: string, to: string): void {
    for (const sp of [...this.byPath.values()]) {
      if (sp.repo !== repo || sp.branch !== branch || !sp.path.startsWith(from + '/')) continue
      this.byPath.delete(Spools.key(repo, branch, sp.path))
      sp.path = to + sp.path.slice(from.length)
      this.byPath.set(Spools.key(repo, branch, sp.path), sp)
    }
    const s = this.byPath.get(Spools.key(repo, branch, from))
    const old = this.byPath.get(Spools.key(repo, branch, to))
    if (old !== undefined) {
      this.stopStream(old)
      old.detached = true
      this.byPath.delete(Spools.key(repo, branch, to))
    }
    if (s === undefined) return
    this.byPath.delete(Spools.key(repo, branch, from))
    s.path = to
    this.byPath.set(Spools.key(repo, branch, to), s)
  }

  detach (repo: string, branch: string, p: string): void {
    const s = this.byPath.get(Spools.key(repo, branch, p))
    if (s === undefined) return
    this.stopStream(s)
    s.detached = true
    this.byPath.delete(Spools.key(repo, branch, p))
  }
}
