// The subset of fuse-native (2.2.x) that pfs uses; the package ships no types.
declare module 'fuse-native' {
  interface FuseOptions {
    force?: boolean
    mkdir?: boolean
    debug?: boolean
    allowOther?: boolean
    autoUnmount?: boolean
    maxRead?: number
    fsname?: string
    subtype?: string
    entryTimeout?: number
    attrTimeout?: number
    kernelCache?: boolean
    autoCache?: boolean
    timeout?: number | false | Record<string, number>
    defaultPermissions?: boolean
  }
  class Fuse {
    constructor (mnt: string, ops: Record<string, (...args: never[]) => void>, opts?: FuseOptions)
    mnt: string
    /** Who made the request being handled (set by the patched binding; fs/patch-fuse-native.mjs). */
    caller?: { uid: number, gid: number, pid: number }
    mount (cb: (err: Error | null) => void): void
    unmount (cb: (err: Error | null) => void): void
    _fuseOptions (): string
    static unmount (mnt: string, cb: (err: Error | null) => void): void
    static isConfigured (cb: (err: Error | null, yes: boolean) => void): void
    static readonly ENOENT: number
    static readonly EEXIST: number
    static readonly EROFS: number
    static readonly EINVAL: number
    static readonly EBUSY: number
    static readonly EIO: number
    static readonly ENOTEMPTY: number
    static readonly ENOTDIR: number
    static readonly EISDIR: number
    static readonly EACCES: number
    static readonly EPERM: number
    static readonly EXDEV: number
    static readonly ENODATA: number
    static readonly EOPNOTSUPP: number
    static readonly EBADF: number
    static readonly ENOSYS: number
    static readonly ENAMETOOLONG: number
    static readonly [code: string]: number | unknown
  }
  export = Fuse
}
