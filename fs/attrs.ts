/** stat(2) structures for FUSE from pfs entries. */
import type { FileInfo } from '../store/index.js'

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000

export interface Stat {
  mode: number
  size: number
  mtime: number
  atime: number
  ctime: number
  nlink: number
  uid: number
  gid: number
  blocks: number
  blksize: number
}

export type Owner = { uid: number, gid: number }

export function makeStat (kind: FileInfo['kind'], size: number, mode: number, mtime: number, ids: Owner): Stat {
  const type = kind === 'dir' ? S_IFDIR : kind === 'symlink' ? S_IFLNK : S_IFREG
  return {
    mode: type | (mode & 0o7777),
    size: kind === 'dir' ? 4096 : size,
    mtime,
    atime: mtime,
    ctime: mtime,
    nlink: kind === 'dir' ? 2 : 1,
    uid: ids.uid,
    gid: ids.gid,
    blocks: Math.ceil(size / 512),
    blksize: 1 << 20
  }
}

export function statOf (info: FileInfo, ids: Owner): Stat {
  return makeStat(info.kind, info.size, info.mode, info.mtime, ids)
}
