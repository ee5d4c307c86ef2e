/**
 * The one place where store errors become errnos at the FUSE edge. A PfsError code maps
 * to the errno a POSIX program expects; anything else is a bug: EIO, and logged.
 */
import Fuse from 'fuse-native'
import { PfsError, type PfsErrorCode } from '../store/index.js'

const BY_CODE: Record<PfsErrorCode, number> = {
  NOT_FOUND: Fuse.ENOENT,
  EXISTS: Fuse.EEXIST,
  INVALID_NAME: Fuse.EINVAL,
  INVALID_ARGUMENT: Fuse.EINVAL,
  AMBIGUOUS: Fuse.ENOENT,
  CONFLICT: Fuse.EBUSY,
  BUSY: Fuse.EBUSY,
  CORRUPT: Fuse.EIO,
  NOT_EMPTY: Fuse.ENOTEMPTY,
  NOT_A_DIRECTORY: Fuse.ENOTDIR,
  IS_A_DIRECTORY: Fuse.EISDIR,
  UNAUTHORIZED: Fuse.EACCES,
  UNAVAILABLE: Fuse.EIO,
  READ_ONLY: Fuse.EROFS
}

/** An errno that ends a FUSE call early (e.g. EROFS for a write to history). */
export class Errno extends Error {
  constructor (readonly errno: number, message = '') {
    super(message)
  }
}

export function toErrno (e: unknown, log: (msg: string) => void): number {
  if (e instanceof Errno) return e.errno
  if (e instanceof PfsError) return BY_CODE[e.code] ?? Fuse.EIO
  const code = (e as NodeJS.ErrnoException)?.code
  if (typeof code === 'string' && typeof (Fuse as unknown as Record<string, unknown>)[code] === 'number') {
    return (Fuse as unknown as Record<string, number>)[code]
  }
  log(`pfs mount: internal error: ${(e as Error)?.stack ?? String(e)}`)
  return Fuse.EIO
}
