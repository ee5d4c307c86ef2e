/**
 * A batch of changes over an immutable tree. Folders are loaded only along the paths
 * the ops touch; untouched subtrees keep their hashes. `flush` writes back the touched
 * folders bottom-up, so a batch costs what it changes. Semantics follow POSIX:
 * rename over a file replaces it, rmdir needs an empty folder, a file cannot replace
 * a folder, a folder cannot move into itself.
 */
import { type TreeEntry, EMPTY_TREE } from '../format/codec.js'
import { type NodeIO, lookupEntry, editDir, iterDir } from './tree.js'
import { PfsError, notFound, exists, invalidArgument } from '../api/errors.js'
import { splitPath } from '../api/names.js'
import type { AttrChange } from '../api/meta.js'

/** What an entry holds besides its name, kind and content: mode, owner, times. */
export type EntryAttrs = Pick<TreeEntry, 'm' | 't' | 'tn' | 'u' | 'g' | 'a' | 'an' | 'ct'>

const ATTR_KEYS = ['m', 't', 'tn', 'u', 'g', 'a', 'an', 'ct'] as const

function attrsOf (e: EntryAttrs): EntryAttrs {
  const out: EntryAttrs = { m: e.m, t: e.t }
  for (const key of ATTR_KEYS) if (e[key] !== undefined) (out as Record<string, number>)[key] = e[key] as number
  return out
}

/**
 * Marks an entry's status as changed now: its ctime moves to `now`, kept only when it is
 * not the mtime (an absent ctime is the mtime), so untouched entries encode as before.
 */
function stamp<T extends EntryAttrs> (e: T, now: number): T {
  if (e.t === now && e.tn === undefined) delete e.ct
  else e.ct = Math.max(now, e.ct ?? -Infinity)
  return e
}

/** Applies a change of attributes to `e` (in place) and stamps it. */
function changeAttrs<T extends EntryAttrs> (e: T, ch: AttrChange, now: number): T {
  if (ch.mode !== undefined) e.m = ch.mode & 0o7777
  if (ch.mtime !== undefined) {
    if (ch.atime === undefined) pinAtime(e)
    e.t = ch.mtime
    if (ch.mtimeNs !== undefined && ch.mtimeNs !== 0) e.tn = ch.mtimeNs
    else delete e.tn
  }
  if (ch.atime !== undefined) {
    e.a = ch.atime
    if (ch.atimeNs !== undefined && ch.atimeNs !== 0) e.an = ch.atimeNs
    else delete e.an
  }
  if (e.a === e.t && e.an === e.tn) { delete e.a; delete e.an }
  // null: no recorded owner (the mounting user's)
  if (ch.uid === null) delete e.u
  else if (ch.uid !== undefined) e.u = ch.uid
  if (ch.gid === null) delete e.g
  else if (ch.gid !== undefined) e.g = ch.gid
  return stamp(e, now)
}

/** The atime is the mtime until one is set: before the mtime moves, the atime stays put. */
function pinAtime (e: EntryAttrs): void {
  if (e.a !== undefined) return
  e.a = e.t
  if (e.tn !== undefined) e.an = e.tn
}

/** A folder's content changed: its mtime (and so its ctime) is now; its atime stays. */
function modified (e: EntryAttrs, now: number): void {
  pinAtime(e)
  e.t = now
  delete e.tn
  delete e.ct
  if (e.a === e.t && e.an === undefined) delete e.a
}

/** Which owner fields of a replaced file carry over to what replaces it. */
export interface Keep { u: boolean, g: boolean }
const NO_KEEP: Keep = { u: false, g: false }

class MDir {
  readonly edits = new Map<string, TreeEntry | null>()
  readonly children = new Map<string, MDir>()
  constructor (public base: string | null, public attrs: EntryAttrs) {}
}

type Found = { kind: 'entry', e: TreeEntry } | { kind: 'dir', d: MDir }

export class MutableTree {
  private readonly root: MDir

  constructor (private readonly io: NodeIO, root: string, private readonly now: number) {
    this.root = new MDir(root, { m: 0o755, t: now })
  }

  private async find (d: MDir, name: string): Promise<Found | undefined> {
    const child = d.children.get(name)
    if (child !== undefined) return { kind: 'dir', d: child }
    if (d.edits.has(name)) {
      const e = d.edits.get(name)
      return e === null || e === undefined ? undefined : { kind: 'entry', e }
    }
    if (d.base === null) return undefined
    const e = await lookupEntry(this.io, d.base, name)
    return e === undefined ? undefined : { kind: 'entry', e }
  }

  /** The folder at `path`, loaded for editing; created (with parents) when `create`. */
  private async dir (path: string, create: boolean): Promise<MDir> {
    let d = this.root
    if (path === '') return d
    let sofar = ''
    for (const name of path.split('/')) {
      sofar = sofar === '' ? name : `${sofar}/${name}`
      const f = await this.find(d, name)
      if (f?.kind === 'dir') { d = f.d; continue }
      if (f === undefined) {
        if (!create) throw notFound('folder', sofar)
        const nd = new MDir(null, { m: 0o755, t: this.now })
        this.attach(d, name, nd)
        d = nd
        continue
      }
      if (f.e.k !== 'd') throw new PfsError('NOT_A_DIRECTORY', `'${sofar}' is a file, not a folder`, { path: sofar })
      const nd = new MDir(f.e.h, attrsOf(f.e))
      d.children.set(name, nd)
      d.edits.delete(name)
      d = nd
    }
    return d
  }

  /** `inPlace`: a file's content replaced, which leaves its folder as it was (as on a disk). */
  private attach (parent: MDir, name: string, what: TreeEntry | MDir, inPlace = false): void {
    if (what instanceof MDir) {
      parent.children.set(name, what)
      parent.edits.delete(name)
    } else {
      parent.children.delete(name)
      parent.edits.set(name, { ...what, n: name })
    }
    if (!inPlace) modified(parent.attrs, this.now)
  }

  /**
   * What `e` becomes where it replaces `old` (or lands anew): a file put over a file keeps
   * its atime, and the owner fields `keep` names (those the writer did not give), as
   * writing into an existing file on a disk does, and leaves the folder's times alone; a
   * ctime never goes back.
   */
  private settle (old: Found | undefined, e: TreeEntry, keep: Keep): { e: TreeEntry, inPlace: boolean } {
    const prev = old?.kind === 'entry' ? old.e : undefined
    const inPlace = prev !== undefined && prev.k === 'f' && e.k === 'f'
    const out = { ...e }
    if (inPlace) {
      if (keep.u && out.u === undefined && prev.u !== undefined) out.u = prev.u
      if (keep.g && out.g === undefined && prev.g !== undefined) out.g = prev.g
      if (out.a === undefined) { out.a = prev.a ?? prev.t; out.an = prev.a === undefined ? prev.tn : prev.an }
    }
    if (out.an === undefined) delete out.an
    if (out.a === out.t && out.an === out.tn) { delete out.a; delete out.an }
    if (prev !== undefined && (out.ct ?? out.t) < (prev.ct ?? prev.t)) stamp(out, this.now)
    return { e: out, inPlace }
  }

  private detach (parent: MDir, name: string): void {
    parent.children.delete(name)
    parent.edits.set(name, null)
    modified(parent.attrs, this.now)
  }

  async get (path: string): Promise<Found | undefined> {
    if (path === '') return { kind: 'dir', d: this.root }
    const { dir, name } = splitPath(path)
    let d: MDir
    try {
      d = await this.dir(dir, false)
    } catch (e) {
      if (e instanceof PfsError && (e.code === 'NOT_FOUND' || e.code === 'NOT_A_DIRECTORY')) return undefined
      throw e
    }
    return await this.find(d, name)
  }

  /**
   * Puts a file, link or (copied) folder entry at `path`, creating parent folders. A file
   * put over a file keeps its atime and, for each field `keep` names, its owner (see settle).
   */
  async put (path: string, e: TreeEntry, opts: { parents?: boolean, keep?: Keep } = {}): Promise<void> {
    if (path === '') throw invalidArgument('cannot replace the repository root')
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, opts.parents ?? true)
    const old = await this.find(parent, name)
    if (old !== undefined && isDir(old) && e.k !== 'd') throw isAFolder(path)
    const s = this.settle(old, e, opts.keep ?? NO_KEEP)
    this.attach(parent, name, s.e, s.inPlace)
  }

  async mkdir (path: string, attrs: EntryAttrs = { m: 0o755, t: this.now }, parents = false): Promise<void> {
    if (path === '') { if (parents) return; throw exists('folder', '/') }
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, parents)
    const old = await this.find(parent, name)
    if (old !== undefined) {
      if (parents && isDir(old)) return
      throw exists(isDir(old) ? 'folder' : 'file', path)
    }
    this.attach(parent, name, new MDir(null, attrs))
  }

  async delete (path: string, recursive = false): Promise<void> {
    if (path === '') throw invalidArgument('cannot remove the repository root; use `pfs repo delete`')
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, false).catch(e => { throw notFoundAs(e, path) })
    const old = await this.find(parent, name)
    if (old === undefined) throw notFound('path', path)
    if (isDir(old) && !recursive && !(await this.isEmpty(old))) {
      throw new PfsError('NOT_EMPTY', `folder '${path}' is not empty; remove it recursively (-r)`, { path })
    }
    this.detach(parent, name)
  }

  async rename (from: string, to: string): Promise<void> {
    if (from === '' || to === '') throw invalidArgument('cannot rename the repository root')
    if (from === to) return
    if (to.startsWith(from + '/')) throw invalidArgument(`cannot move '${from}' into itself ('${to}')`, { from, to })
    const src = splitPath(from)
    const sp = await this.dir(src.dir, false).catch(e => { throw notFoundAs(e, from) })
    const what = await this.find(sp, src.name)
    if (what === undefined) throw notFound('path', from)
    const dst = splitPath(to)
    const dp = await this.dir(dst.dir, false).catch(e => { throw notFoundAs(e, to) })
    const old = await this.find(dp, dst.name)
    if (old !== undefined) {
      if (isDir(what) && !isDir(old)) {
        throw new PfsError('NOT_A_DIRECTORY', `cannot replace file '${to}' with folder '${from}'`, { from, to })
      }
      if (!isDir(what) && isDir(old)) {
        throw new PfsError('IS_A_DIRECTORY', `cannot replace folder '${to}' with file '${from}'`, { from, to })
      }
      if (isDir(old) && !(await this.isEmpty(old))) {
        throw new PfsError('NOT_EMPTY', `folder '${to}' is not empty`, { path: to })
      }
    }
    this.detach(sp, src.name)
    // A moved entry's status changes (its ctime is now), as on Linux's file systems.
    if (what.kind === 'dir') stamp(what.d.attrs, this.now)
    this.attach(dp, dst.name, what.kind === 'dir' ? what.d : stamp({ ...what.e }, this.now))
  }

  /** chmod, chown, utimens: the entry's attributes change, its ctime is now. */
  async setattr (path: string, ch: AttrChange): Promise<void> {
    const f = await this.get(path)
    if (f === undefined) throw notFound('path', path)
    if (path === '') return
    if (f.kind === 'dir') { changeAttrs(f.d.attrs, ch, this.now); return }
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, false)
    parent.children.delete(name)
    parent.edits.set(name, changeAttrs({ ...f.e }, ch, this.now))
  }

  /**
   * Lays the tree `root` over the folder at `path`: folders on both sides merge (the
   * existing one keeps its mode and time), files and links replace what is at their path,
   * as the ops that built `root` would have done here one by one (`keep`: the owner fields
   * a replaced file keeps, i.e. those the stage's writer did not give).
   */
  async merge (root: string, path = '', keep: Keep = { u: true, g: true }): Promise<void> {
    const d = await this.dir(path, false)
    for await (const e of iterDir(this.io, root)) {
      const p = path === '' ? e.n : `${path}/${e.n}`
      const old = await this.find(d, e.n)
      if (old !== undefined && e.k === 'd') {
        if (!isDir(old)) throw exists('file', p)
        await this.merge(e.h, p, keep)
        continue
      }
      if (old !== undefined && isDir(old)) throw isAFolder(p)
      const s = this.settle(old, e, keep)
      this.attach(d, e.n, s.e, s.inPlace)
    }
  }

  private async isEmpty (f: Found): Promise<boolean> {
    if (f.kind === 'entry') return f.e.k !== 'd' || f.e.x === 0 || f.e.h === EMPTY_TREE
    const d = f.d
    if (d.children.size > 0) return false
    for (const e of d.edits.values()) if (e !== null) return false
    if (d.base === null) return true
    for await (const e of iterDir(this.io, d.base)) if (!d.edits.has(e.n)) return false
    return true
  }

  /** Writes every touched folder; returns the new root. */
  async flush (): Promise<{ hash: string, count: number, bytes: number }> {
    return await flushDir(this.io, this.root)
  }
}

async function flushDir (io: NodeIO, d: MDir): Promise<{ hash: string, count: number, bytes: number }> {
  const edits = new Map(d.edits)
  for (const [name, child] of d.children) {
    const r = await flushDir(io, child)
    edits.set(name, { n: name, k: 'd', s: r.bytes, ...child.attrs, h: r.hash, x: r.count })
  }
  return await editDir(io, d.base, edits)
}

/** A file or link cannot replace a folder. */
function isAFolder (path: string): PfsError {
  return new PfsError('IS_A_DIRECTORY', `'${path}' is a folder; remove it first or choose another path`, { path })
}

function isDir (f: Found): boolean {
  return f.kind === 'dir' || f.e.k === 'd'
}

function notFoundAs (e: unknown, path: string): unknown {
  if (e instanceof PfsError && e.code === 'NOT_FOUND') return notFound('path', path)
  return e
}
