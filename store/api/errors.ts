/**
 * One error class for every failure a user can cause or meet.
 *
 * `code` is a closed union: the CLI maps it to an exit code and a one-line message,
 * the FUSE layer maps it to an errno, and the HTTP server sends it across the wire.
 * Anything that is not a PfsError is a bug and is shown with its stack.
 */
export type PfsErrorCode =
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'INVALID_NAME'
  | 'INVALID_ARGUMENT'
  | 'AMBIGUOUS'
  | 'CONFLICT'
  | 'BUSY'
  | 'CORRUPT'
  | 'NOT_EMPTY'
  | 'NOT_A_DIRECTORY'
  | 'IS_A_DIRECTORY'
  | 'UNAUTHORIZED'
  | 'UNAVAILABLE'
  | 'READ_ONLY'

export class PfsError extends Error {
  readonly code: PfsErrorCode
  readonly data: Record<string, unknown>

  constructor (code: PfsErrorCode, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'PfsError'
    this.code = code
    this.data = data
  }

  toJSON (): { code: PfsErrorCode, message: string, data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: this.data }
  }

  static fromJSON (j: { code: PfsErrorCode, message: string, data?: Record<string, unknown> }): PfsError {
    return new PfsError(j.code, j.message, j.data ?? {})
  }
}

export function isPfsError (e: unknown, code?: PfsErrorCode): e is PfsError {
  return e instanceof PfsError && (code === undefined || e.code === code)
}

// Small factories, so messages stay consistent and always say what to do.

export const notFound = (what: string, name: string, hint = ''): PfsError =>
  new PfsError('NOT_FOUND', `${what} '${name}' not found${hint ? `; ${hint}` : ''}`, { what, name })

export const readOnly = (message: string, data: Record<string, unknown> = {}): PfsError =>
  new PfsError('READ_ONLY', message, data)

export const exists = (what: string, name: string, hint = ''): PfsError =>
  new PfsError('EXISTS', `${what} '${name}' already exists${hint ? `; ${hint}` : ''}`, { what, name })

export const invalidName = (what: string, name: string, why: string): PfsError =>
  new PfsError('INVALID_NAME', `invalid ${what} name '${printable(name)}': ${why}`, { what, name })

export const invalidArgument = (message: string, data: Record<string, unknown> = {}): PfsError =>
  new PfsError('INVALID_ARGUMENT', message, data)

export const conflict = (message: string, data: Record<string, unknown> = {}): PfsError =>
  new PfsError('CONFLICT', message, data)

export const busy = (message: string, data: Record<string, unknown> = {}): PfsError =>
  new PfsError('BUSY', message, data)

export const corrupt = (message: string, data: Record<string, unknown> = {}): PfsError =>
  new PfsError('CORRUPT', message, data)

/** Names can hold any byte; keep error lines on one line and readable. */
export function printable (s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\x00-\x1f\x7f]/g, c => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return t.length > 80 ? `${t.slice(0, 77)}...` : t
}
