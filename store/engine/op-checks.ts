/**
 * The shape of a client's write ops and options, checked before any op runs. What an op
 * carries ends up in tree nodes that every reader decodes, so it must be what pfs can
 * store and show:
 * - mode: permission bits (at most 0o7777), optionally with the type bits of what the op
 *   sets, as a stat's `st_mode` has them (a regular file for `put`, a folder for `mkdir`,
 *   a file, folder or link for `setattr`); only the permission bits are kept.
 * - mtime, atime: ms since the epoch, a finite number within what a JavaScript Date holds
 *   (±8.64e15, some 270,000 years either way); JSON would turn NaN or Infinity into null;
 *   mtimeNs, atimeNs: whole nanoseconds below the millisecond (0 to 999999).
 * - uid, gid: whole numbers from 0 below 2^32-1 (which chown(2) reserves for "unchanged"),
 *   or null for "no owner".
 * - mknod: a kind pfs knows (fifo, socket, chardev, blockdev), with the device number
 *   (rdev, a whole number) of a device.
 * - symlink targets are non-empty strings without NUL; `from` of copy and rename is there.
 * Chunk references of a put are checked with the chunks themselves (writes.ts).
 */
import { invalidArgument, printable } from '../api/errors.js'

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const S_IFLNK = 0o120000
const S_IFIFO = 0o010000
const S_IFSOCK = 0o140000
const S_IFCHR = 0o020000
const S_IFBLK = 0o060000
const SPECIAL_TYPES: Readonly<Record<string, number>> = {
  fifo: S_IFIFO, socket: S_IFSOCK, chardev: S_IFCHR, blockdev: S_IFBLK
}
const MAX_ID = 0xfffffffe
const PERMISSIONS = 0o7777
/** Type bits a mode may carry, per op. */
const MODE_TYPES: Readonly<Record<string, readonly number[]>> = {
  put: [S_IFREG], mkdir: [S_IFDIR], setattr: [S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK]
}
/** The range of a JavaScript Date, in ms either side of the epoch. */
const MAX_TIME = 8.64e15

type Loose = Record<string, unknown>

export function checkOps (ops: unknown[]): void {
  for (const op of ops) checkOp(op)
}

function checkOp (op: unknown): void {
  const o = op as Loose | null
  if (o === null || typeof o !== 'object' || typeof o.op !== 'string') {
    throw invalidArgument(`an operation must be an object like {op: 'put', path, ...}, not ${show(op)}`)
  }
  const what = typeof o.path === 'string' ? `${o.op} '${printable(o.path)}'` : o.op
  if (o.op === 'mknod') checkSpecial(what, o)
  const types = o.op === 'mknod' ? [SPECIAL_TYPES[o.kind as string]] : MODE_TYPES[o.op] ?? []
  if (o.mode !== undefined) checkMode(what, o.mode, types)
  if (o.mtime !== undefined) checkTime(what, o.mtime, 'mtime')
  if (o.atime !== undefined) checkTime(what, o.atime, 'atime')
  for (const key of ['mtimeNs', 'atimeNs']) {
    const ns = o[key]
    if (ns !== undefined && !(Number.isSafeInteger(ns) && (ns as number) >= 0 && (ns as number) < 1e6)) {
      throw invalidArgument(`${what}: ${key} ${show(ns)} is not nanoseconds below a millisecond (0 to 999999)`)
    }
  }
  for (const key of ['uid', 'gid']) {
    const id = o[key]
    const ok = id === undefined || id === null ||
      (Number.isSafeInteger(id) && (id as number) >= 0 && (id as number) <= MAX_ID)
    if (!ok) {
      throw invalidArgument(`${what}: ${key} ${show(id)} is not a user or group id (0 to ${MAX_ID}, or null for none)`)
    }
  }
  if (o.op === 'merge' && o.owners !== undefined && o.owners !== 'given') {
    throw invalidArgument(`merge: owners is 'given' or absent, not ${show(o.owners)}`)
  }
  if (o.op === 'symlink' && (typeof o.target !== 'string' || o.target === '' || o.target.includes('\0'))) {
    throw invalidArgument(`${what}: the link target must be a non-empty string without NUL, not ${show(o.target)}`)
  }
  if (o.op === 'rename' && typeof o.from !== 'string') {
    throw invalidArgument(`${what}: rename needs the path to move 'from'`)
  }
  const from = o.from as Loose | null | undefined
  if (o.op === 'copy' && (from === null || typeof from !== 'object' ||
    typeof from.repo !== 'string' || typeof from.rev !== 'string' || typeof from.path !== 'string')) {
    throw invalidArgument(`${what}: copy needs 'from' as {repo, rev, path}, not ${show(from)}`)
  }
}

function checkMode (what: string, mode: unknown, types: readonly number[]): void {
  const type = Number.isSafeInteger(mode) && (mode as number) >= 0 && (mode as number) <= 0o177777
    ? (mode as number) & ~PERMISSIONS
    : -1
  if (type !== 0 && !types.includes(type)) {
    const octal = Number.isSafeInteger(mode) ? ` (0o${(mode as number).toString(8)})` : ''
    throw invalidArgument(`${what}: mode ${show(mode)}${octal} is not a mode pfs can store; ` +
      'give permission bits, such as 0o644', { mode: show(mode) })
  }
}

function checkTime (what: string, t: unknown, name: string): void {
  if (typeof t !== 'number' || !Number.isFinite(t) || Math.abs(t) > MAX_TIME) {
    throw invalidArgument(`${what}: ${name} ${show(t)} is not a time; give ms since the epoch`, { [name]: show(t) })
  }
}

function checkSpecial (what: string, o: Loose): void {
  if (typeof o.kind !== 'string' || !(o.kind in SPECIAL_TYPES)) {
    throw invalidArgument(`${what}: kind ${show(o.kind)} is not a special file pfs can store; ` +
      `give one of ${Object.keys(SPECIAL_TYPES).join(', ')}`)
  }
  const device = o.kind === 'chardev' || o.kind === 'blockdev'
  if (device ? !(Number.isSafeInteger(o.rdev) && (o.rdev as number) >= 0) : o.rdev !== undefined) {
    const why = device
      ? 'a device needs its device number (rdev) as a whole number'
      : `a ${o.kind} has no device number`
    throw invalidArgument(`${what}: ${why}, not ${show(o.rdev)}`)
  }
}

/** Options of `modify` and `stage`: an object, with a string message if any. */
export function checkOptions (opts: unknown): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw invalidArgument(`options must be an object, not ${show(opts)}`)
  }
  const message = (opts as Loose).message
  if (message !== undefined && typeof message !== 'string') {
    throw invalidArgument(`the commit message must be a string, not ${show(message)}`)
  }
  const job = (opts as Loose).job
  if (job !== undefined && typeof job !== 'string') throw invalidArgument(`a job id is a string, not ${show(job)}`)
}

const show = (v: unknown): string =>
  typeof v === 'number' ? String(v) : printable(JSON.stringify(v) ?? String(v)).slice(0, 60)
