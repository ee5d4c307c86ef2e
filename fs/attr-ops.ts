/**
 * Attributes and listings: getattr, readdir, access, chmod and utimens (setattr),
 * extended attributes, statfs.
 */
import Fuse from 'fuse-native'
import { statfs as statfsCb } from 'node:fs'
import { promisify } from 'node:util'
import { parseMountPath, COMMITS, PROVENANCE as PROVENANCE_DIR } from './paths.js'
import { ProvenanceOps } from './provenance.js'
import { makeStat, statOf, type Stat } from './attrs.js'
import { spoolStat } from './spools.js'
import type { MountState } from './state.js'
import type { AttrChange } from '../store/index.js'
import { Errno } from './errno.js'

const statfs = promisify(statfsCb)
const XATTRS = ['user.pfs.commit', 'user.pfs.repo', 'user.pfs.branch']
/** On a commit's (or branch's) folder: where the commit came from, as JSON (`pfs inspect` shows it too). */
const PROVENANCE = 'user.pfs.provenance'
const W_OK = 2
/** Folders with at most this many entries (one tree node) have their subfolders counted. */
const COUNTED_FOLDER = 512

export class AttrOps {
  readonly provenance: ProvenanceOps

  constructor (private readonly m: MountState) {
    this.provenance = new ProvenanceOps(m)
  }

  async getattr (p: string): Promise<Stat> {
    const hid = this.m.hidden.get(p)
    if (hid !== undefined) return hid()
    const mp = parseMountPath(p)
    const now = Date.now()
    const ids = this.m.ids
    if (mp.kind === 'root') return makeStat('dir', 0, 0o755, now, ids)
    if (!(await this.m.repos()).has(mp.repo) && !(await this.m.repos(true)).has(mp.repo)) throw new Errno(Fuse.ENOENT)
    if (mp.kind === 'repo') return makeStat('dir', 0, 0o755, now, ids)
    if (mp.kind === 'commits') return makeStat('dir', 0, 0o555, now, ids)
    if (mp.kind === 'provenance') return await this.provenance.getattr(mp)
    const { v, spool: s } = await this.m.current(p)
    if (v.path === '') {
      const time = v.r.commit?.finished ?? v.r.commit?.started ?? now
      const st = makeStat('dir', 0, v.branch === null ? 0o555 : 0o755, time, ids)
      const root = await this.m.views.stat(v.repo, v.r.root, '')
      st.nlink = await this.folderLinks(v.repo, v.r.root, '', root?.count)
      return st
    }
    if (s !== undefined) return spoolStat(s, ids)
    const info = await this.m.views.stat(v.repo, v.r.root, v.path)
    if (info === null) throw new Errno(Fuse.ENOENT)
    const st = statOf(info, ids)
    if (info.kind === 'dir') st.nlink = await this.folderLinks(v.repo, v.r.root, v.path, info.count)
    return st
  }

  /**
   * A folder's link count as a disk gives it: 2 and one per subfolder. A folder too big to
   * list for a stat says 1, which tools read as "not counted" (find then looks into every
   * entry rather than trusting the count).
   */
  private async folderLinks (repo: string, root: string, path: string, count: number | undefined): Promise<number> {
    if (count === 0) return 2
    if (count !== undefined && count > COUNTED_FOLDER) return 1
    const names = await this.m.views.list(repo, root, path)
    if (names.length > COUNTED_FOLDER) return 1
    let dirs = 0
    for (const n of names) {
      if ((await this.m.views.stat(repo, root, path === '' ? n : `${path}/${n}`))?.kind === 'dir') dirs++
    }
    return 2 + dirs
  }

  /**
   * access(2) when the kernel does not check permission bits itself (it does whenever the
   * mount has default_permissions): the path must exist, and history is never writable.
   */
  async access (p: string, mode: number): Promise<void> {
    await this.getattr(p)
    if ((mode & W_OK) === 0) return
    const mp = parseMountPath(p)
    if (mp.kind === 'provenance' || (mp.kind === 'view' && (await this.m.viewOf(p)).branch === null)) {
      throw new Errno(Fuse.EROFS)
    }
  }

  async readdir (p: string): Promise<string[]> {
    const mp = parseMountPath(p)
    if (mp.kind === 'root') return [...await this.m.repos(true)]
    if (mp.kind === 'repo') {
      return [COMMITS, PROVENANCE_DIR, ...(await this.m.pfs.listBranches(mp.repo)).map(b => b.name)]
    }
    if (mp.kind === 'commits') return await this.commitIds(mp.repo)
    if (mp.kind === 'provenance') return await this.provenance.readdir(mp, repo => this.commitIds(repo))
    const v = await this.m.view(mp)
    const info = v.path === '' ? null : await this.m.views.stat(v.repo, v.r.root, v.path)
    if (v.path !== '' && info === null) throw new Errno(Fuse.ENOENT)
    if (info !== null && info.kind !== 'dir') throw new Errno(Fuse.ENOTDIR)
    const names = await this.m.views.list(v.repo, v.r.root, v.path)
    if (v.branch === null) return names
    const extra = this.m.spools.inDir(v.repo, v.branch, v.path).map(s => s.path.slice(s.path.lastIndexOf('/') + 1))
    if (extra.length === 0) return names
    const set = new Set(names)
    return [...names, ...extra.filter(n => !set.has(n))]
  }

  private async commitIds (repo: string): Promise<string[]> {
    const ids: string[] = []
    let after: string | undefined
    do {
      const page = await this.m.pfs.listCommits(repo, { after, limit: 10_000 })
      ids.push(...page.entries.map(c => c.id))
      after = page.next
    } while (after !== undefined)
    return ids
  }

  /**
   * chmod, chown, utimens. Who may is the kernel's to check (the mount has
   * default_permissions): by the time a change gets here it is allowed.
   */
  async setattr (p: string, change: AttrChange): Promise<void> {
    const v = await this.m.writable(p)
    // Given to the mounting user: no recorded owner, as for what that user makes.
    const ch = { ...change }
    if (ch.uid === this.m.ids.uid) ch.uid = null
    if (ch.gid === this.m.ids.gid) ch.gid = null
    const mode = ch.mode === undefined ? undefined : ch.mode & 0o7777
    const s = this.m.spools.get(v.repo, v.branch, v.path)
    if (s !== undefined) {
      if (mode !== undefined) s.mode = mode
      if (ch.mtime !== undefined) { s.mtime = ch.mtime; s.mtimeNs = ch.mtimeNs; s.timesSet = true }
      if (ch.atime !== undefined) { s.atime = ch.atime; s.atimeNs = ch.atimeNs }
      if (ch.uid !== undefined) s.uid = ch.uid ?? undefined
      if (ch.gid !== undefined) s.gid = ch.gid ?? undefined
      s.ctime = Date.now()
      // Not in the branch yet: its upload records the change. Otherwise the change goes in
      // now, and a file opened but not written (`touch` opens it) is not uploaded again.
      if (await this.m.views.stat(v.repo, v.r.root, v.path) === null) { s.dirty = true; return }
    }
    await this.m.apply(v, [{ op: 'setattr', path: v.path, ...ch, mode }])
  }

  async getxattr (p: string, name: string): Promise<Buffer | null> {
    const mp = parseMountPath(p)
    if (mp.kind !== 'view' || !(XATTRS.includes(name) || (name === PROVENANCE && mp.path === ''))) return null
    const v = await this.m.view(mp)
    if (name === PROVENANCE) {
      const c = v.r.commit
      if (c === null) return null
      return Buffer.from(JSON.stringify({ commit: c.id, origin: c.origin, ...c.provenance, failed: c.failed === true }))
    }
    const exists = v.path === '' || await this.m.views.stat(v.repo, v.r.root, v.path) !== null ||
      (v.branch !== null && this.m.spools.get(v.repo, v.branch, v.path) !== undefined)
    if (!exists) throw new Errno(Fuse.ENOENT)
    const value = name === 'user.pfs.commit'
      ? v.r.commit?.id
      : name === 'user.pfs.repo' ? v.repo : (v.branch ?? v.r.commit?.branch)
    return value === undefined || value === null ? null : Buffer.from(value)
  }

  listxattr (p: string): string[] {
    const mp = parseMountPath(p)
    if (mp.kind !== 'view') return []
    return mp.path === '' ? [...XATTRS, PROVENANCE] : XATTRS
  }

  async statfs (): Promise<Record<string, number>> {
    const s = await statfs(this.m.opts.statfsPath)
    return {
      bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail,
      files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0x7066, flag: 0, namemax: 255
    }
  }
}
