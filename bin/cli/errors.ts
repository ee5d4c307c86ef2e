/**
 * The one place that turns an error into an exit code and what the user sees.
 *
 * | exit | when                                                                     |
 * |------|--------------------------------------------------------------------------|
 * | 0    | success (also: stdout closed early by a reader, e.g. `pfs cat ... \| head`) |
 * | 1    | the user's mistake or the data's state: any PfsError not listed below, a   |
 * |      | usage error, `pfs fsck` finding problems, a full disk or denied permission |
 * | 2    | a bug: anything else; printed with its stack                               |
 * | 3    | try again later: UNAVAILABLE (server not answering), BUSY (store in use)   |
 *
 * A user's mistake is always one line on stderr starting with `pfs: ` and never shows a
 * stack trace (set PFS_DEBUG=1 to see one anyway).
 */
import { PfsError, printable } from '../../store/index.js'

const EXIT = { OK: 0, USER: 1, BUG: 2, RETRY: 3 } as const

/** A command line yargs (or a handler) could not make sense of. */
export class UsageError extends Error {
  /** The command words, e.g. `repo create`, for the `--help` hint. */
  readonly command: string
  constructor (message: string, command: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

/** Failures of the machine rather than of pfs or the user: one line, exit 1. */
const ENVIRONMENT_ERRNOS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files (raise `ulimit -n`)',
  EADDRINUSE: 'address already in use (another server there? pick another port)',
  EADDRNOTAVAIL: 'address not available on this machine',
  ENOTFOUND: 'no such host'
}

/** System calls named as a user would say them. */
const SYSCALL_WORDS: Record<string, string> = { getaddrinfo: 'resolve', listen: 'listen on', connect: 'connect to' }

export function exitCodeFor (e: unknown): number {
  if (e instanceof PfsError) return e.code === 'UNAVAILABLE' || e.code === 'BUSY' ? EXIT.RETRY : EXIT.USER
  if (e instanceof UsageError) return EXIT.USER
  if (isErrno(e) && e.code !== undefined && e.code in ENVIRONMENT_ERRNOS) return EXIT.USER
  return EXIT.BUG
}

/**
 * The text printed for an error: one line unless it is a bug, or a list of problems (a
 * pipeline spec's), which gets one line each under the first.
 */
export function describe (e: unknown): string {
  if (e instanceof PfsError) {
    const list = e.data.problems
    if (Array.isArray(list) && list.length > 0 && list.every(p => typeof p === 'string')) {
      return [`pfs: ${oneLine(e.message.split('\n')[0]!)}`, ...list.map(p => `  ${oneLine(p)}`)].join('\n')
    }
    return `pfs: ${oneLine(e.message)}`
  }
  if (e instanceof UsageError) {
    const cmd = e.command === '' ? 'pfs' : `pfs ${e.command}`
    return `pfs: ${oneLine(e.message)} (see '${cmd} --help')`
  }
  if (isErrno(e) && e.code !== undefined && e.code in ENVIRONMENT_ERRNOS) {
    const where = errnoSubject(e)
    const verb = SYSCALL_WORDS[e.syscall ?? ''] ?? e.syscall ?? 'access'
    return `pfs: cannot ${verb}${where}: ${ENVIRONMENT_ERRNOS[e.code]}`
  }
  const stack = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)
  return `pfs: internal error (a bug; please report it with the lines below)\n${stack}`
}

/** Prints the error to stderr and returns the exit code to use. */
export function report (e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const code = exitCodeFor(e)
  stderr.write(describe(e) + '\n')
  if (code !== EXIT.BUG && process.env.PFS_DEBUG && e instanceof Error && e.stack) stderr.write(e.stack + '\n')
  return code
}

/** What a system error was about: its path, or the host and port it tried. */
function errnoSubject (e: NodeJS.ErrnoException & { hostname?: string, address?: string, port?: number }): string {
  if (e.path !== undefined) return ` '${printable(e.path)}'`
  const host = e.hostname ?? e.address
  if (host === undefined) return ''
  return ` ${printable(host)}${e.port !== undefined ? ` port ${e.port}` : ''}`
}

function oneLine (s: string): string {
  return s.replace(/\s*\n\s*/g, '; ').trim()
}

function isErrno (e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string'
}
