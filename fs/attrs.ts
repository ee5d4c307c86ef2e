/** stat(2) structures for FUSE from pfs entries. */
import type { FileInfo } from '../store/index.js'

const TYPE_BITS: Record<FileInfo['kind'], number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  socket: 0o140000,
  chardev: 0o020000,
  blockdev: 0o060000
}
const S_IFMT = 0o170000
/** The set-group-ID bit: on a folder, new entries take its group. */
export const S_ISGID = 0o2000

export interface Stat {
  mode: number
  size: number
  /** Times in whole ms, with the nanoseconds below the ms apart (see fs/patch-fuse-native.mjs). */
  mtime: number
  atime: number
  ctime: number
  mtimeNs: number
  atimeNs: number
  ctimeNs: number
  nlink: number
  uid: number
  gid: number
  rdev: number
  blocks: number
  blksize: number
}

export type Owner = { uid: number, gid: number }

/** What a stat is made of: a stored entry's fields (absent ones fall back as in docs/design.md). */
export type StatSource = Pick<FileInfo, 'kind' | 'size' | 'mode' | 'mtime'> &
  Partial<Pick<FileInfo, 'mtimeNs' | 'atime' | 'atimeNs' | 'ctime' | 'uid' | 'gid' | 'rdev'>>

export function makeStat (kind: FileInfo['kind'], size: number, mode: number, mtime: number, ids: Owner): Stat {
  return statOf({ kind, size, mode, mtime }, ids)
}

/** A time in ms (older stores hold fractions of a ms) and its extra ns, as whole ms + ns. */
function split (ms: number, ns: number | undefined): [number, number] {
  const whole = Math.floor(ms)
  return [whole, ns ?? Math.min(999_999, Math.round((ms - whole) * 1e6))]
}

export function statOf (info: StatSource, ids: Owner): Stat {
  const [mtime, mtimeNs] = split(info.mtime, info.mtimeNs)
  const [atime, atimeNs] = info.atime === undefined ? [mtime, mtimeNs] : split(info.atime, info.atimeNs)
  const [ctime, ctimeNs] = info.ctime === undefined ? [mtime, mtimeNs] : split(info.ctime, undefined)
  const size = info.kind === 'dir' ? 4096 : info.size
  return {
    mode: TYPE_BITS[info.kind] | (info.mode & 0o7777),
    size,
    mtime,
    atime,
    ctime,
    mtimeNs,
    atimeNs,
    ctimeNs,
    nlink: info.kind === 'dir' ? 2 : 1,
    uid: info.uid ?? ids.uid,
    gid: info.gid ?? ids.gid,
    rdev: info.rdev ?? 0,
    blocks: Math.ceil(size / 512),
    blksize: 1 << 20
  }
}

/**
 * The kind a mknod(2) mode asks for: a special kind, 'file' (no type bits, or a regular
 * file's: an empty file), or undefined for a kind mknod does not make.
 */
export function mknodKind (mode: number): 'file' | 'fifo' | 'socket' | 'chardev' | 'blockdev' | undefined {
  switch (mode & S_IFMT) {
    case 0:
    case TYPE_BITS.file: return 'file'
    case TYPE_BITS.fifo: return 'fifo'
    case TYPE_BITS.socket: return 'socket'
    case TYPE_BITS.chardev: return 'chardev'
    case TYPE_BITS.blockdev: return 'blockdev'
    default: return undefined
  }
}
