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

class MDir {
  readonly edits = new Map<string, TreeEntry | null>()
  readonly children = new Map<string, MDir>()
  constructor (public base: string | null, public mode: number, public mtime: number) {}
}

type Found = { kind: 'entry', e: TreeEntry } | { kind: 'dir', d: MDir }

export class MutableTree {
  private readonly root: MDir

  constructor (private readonly io: NodeIO, root: string, private readonly now: number) {
    this.root = new MDir(root, 0o755, now)
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
        const nd = new MDir(null, 0o755, this.now)
        this.attach(d, name, nd)
        d = nd
        continue
      }
      if (f.e.k !== 'd') throw new PfsError('NOT_A_DIRECTORY', `'${sofar}' is a file, not a folder`, { path: sofar })
      const nd = new MDir(f.e.h, f.e.m, f.e.t)
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
    parent.mtime = this.now
  }

  private detach (parent: MDir, name: string): void {
    parent.children.delete(name)
    parent.edits.set(name, null)
    parent.mtime = this.now
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

  /** Puts a file, link or (copied) folder entry at `path`, creating parent folders. */
  async put (path: string, e: TreeEntry, opts: { parents?: boolean } = {}): Promise<void> {
    if (path === '') throw invalidArgument('cannot replace the repository root')
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, opts.parents ?? true)
    const old = await this.find(parent, name)
    if (old !== undefined && isDir(old) && e.k !== 'd') throw isAFolder(path)
    this.attach(parent, name, e)
  }

  async mkdir (path: string, mode = 0o755, mtime = this.now, parents = false): Promise<void> {
    if (path === '') { if (parents) return; throw exists('folder', '/') }
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, parents)
    const old = await this.find(parent, name)
    if (old !== undefined) {
      if (parents && isDir(old)) return
      throw exists(isDir(old) ? 'folder' : 'file', path)
    }
    this.attach(parent, name, new MDir(null, mode, mtime))
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
    this.attach(dp, dst.name, what.kind === 'dir' ? what.d : what.e)
  }

  async setattr (path: string, mode?: number, mtime?: number): Promise<void> {
    const f = await this.get(path)
    if (f === undefined) throw notFound('path', path)
    if (path === '') return
    if (f.kind === 'dir') {
      if (mode !== undefined) f.d.mode = mode & 0o7777
      if (mtime !== undefined) f.d.mtime = mtime
      return
    }
    const { dir, name } = splitPath(path)
    const parent = await this.dir(dir, false)
    parent.children.delete(name)
    parent.edits.set(name, { ...f.e, m: mode === undefined ? f.e.m : mode & 0o7777, t: mtime ?? f.e.t })
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
    edits.set(name, { n: name, k: 'd', s: r.bytes, m: child.mode, t: child.mtime, h: r.hash, x: r.count })
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
