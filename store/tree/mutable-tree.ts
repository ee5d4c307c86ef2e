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
    // The atime is the mtime until one is set: pin it, so a new mtime leaves it alone.
    if (e.a === undefined && ch.atime === undefined) { e.a = e.t; if (e.tn !== undefined) e.an = e.tn }
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
  if (ch.uid !== undefined) e.u = ch.uid
  if (ch.gid !== undefined) e.g = ch.gid
  return stamp(e, now)
}

/** A folder's content changed: its mtime (and so its ctime) is now; an unset atime follows. */
function modified (e: EntryAttrs, now: number): void {
  e.t = now
  delete e.tn
  delete e.ct
}

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

  private attach (parent: MDir, name: string, what: TreeEntry | MDir): void {
    if (what instanceof MDir) {
      parent.children.set(name, what)
      parent.edits.delete(name)
    } else {
      parent.children.delete(name)
      parent.edits.set(name, { ...what, n: name })
    }
    modified(parent.attrs, this.now)
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
   * Puts a file, link or (copied) folder entry at `path`, creating parent folders. With
   * `keepOwner`, a file put over a file keeps that file's owner and atime unless `e` has
   * its own, as writing into an existing file on a disk does.
   */
  async put (path: string, e: TreeEntry, opts: { parents?: boolean, keepOwner?: boolean } = {}): Promise<void> {
    if (path === '') throw invalidArgument('cannot replace the repository root')
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, opts.parents ?? true)
    const old = await this.find(parent, name)
    if (old !== undefined && isDir(old) && e.k !== 'd') throw isAFolder(path)
    if (old?.kind === 'entry') {
      if (opts.keepOwner === true && old.e.k === e.k) {
        if (e.u === undefined && old.e.u !== undefined) e = { ...e, u: old.e.u }
        if (e.g === undefined && old.e.g !== undefined) e = { ...e, g: old.e.g }
        if (e.a === undefined && old.e.a !== undefined) e = { ...e, a: old.e.a, an: old.e.an }
      }
      // A ctime never goes back: what replaces an entry with an older time is stamped now.
      if ((e.ct ?? e.t) < (old.e.ct ?? old.e.t)) e = stamp({ ...e }, this.now)
    }
    this.attach(parent, name, e)
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
   * as the ops that built `root` would have done here one by one.
   */
  async merge (root: string, path = ''): Promise<void> {
    const d = await this.dir(path, false)
    for await (const e of iterDir(this.io, root)) {
      const p = path === '' ? e.n : `${path}/${e.n}`
      const old = await this.find(d, e.n)
      if (old !== undefined && e.k === 'd') {
        if (!isDir(old)) throw exists('file', p)
        await this.merge(e.h, p)
        continue
      }
      if (old !== undefined && isDir(old)) throw isAFolder(p)
      this.attach(d, e.n, e)
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
