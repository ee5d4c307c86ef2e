/**
 * Where a TCP client's (or server's) bearer token comes from, and which server URLs are
 * accepted. A command line is visible to every user of the machine (`ps`,
 * /proc/<pid>/cmdline), so a token never travels on one: it comes from $PFS_TOKEN or from
 * a file that only its owner can read (`--token-file`, $PFS_TOKEN_FILE), and a server URL
 * carrying credentials (`http://user:pass@host`, `?token=`) is refused. Messages quote
 * what was given only through `redact`, and never quote a token.
 *
 * @example
 *   const token = await readTokenFile('/root/.pfs/token')   // refuses a 0644 file
 *   const found = await envToken()                           // $PFS_TOKEN, else $PFS_TOKEN_FILE
 */
import path from 'node:path'
import { constants, promises as fsp } from 'node:fs'
import { invalidArgument, printable } from '../api/errors.js'
import { redact } from '../api/redact.js'

/** A token found in the environment, and the file it was read from, if any. */
export interface FoundToken { token: string, file?: string }

/** Longer than any sensible token; a bigger file is the wrong file. */
const MAX_TOKEN_FILE = 4096

/**
 * The token in `file`: its first line, trimmed. Refused (INVALID_ARGUMENT) when the file
 * is missing, not a regular file, readable or writable by group or others (as ssh refuses
 * such a key), too large, or not one word of visible ASCII.
 */
export async function readTokenFile (file: string): Promise<string> {
  const shown = `token file '${printable(file)}'`
  // O_NONBLOCK: a FIFO put there must not hang the command; it is refused below.
  const fh = await fsp.open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      throw invalidArgument(`${shown} does not exist; give the file \`pfs serve --listen\` saved (<store>/token)`,
        { file })
    }
    throw e
  })
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw invalidArgument(`${shown} is not a regular file`, { file })
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0')
      throw invalidArgument(`${shown} can be read or changed by other users (mode ${mode}); ` +
        `run \`chmod 600 ${printable(file)}\``, { file, mode })
    }
    if (st.size > MAX_TOKEN_FILE) {
      throw invalidArgument(`${shown} is ${st.size} bytes, more than a token (${MAX_TOKEN_FILE} at most)`, { file })
    }
    const text = (await fh.readFile('utf8')).replace(/\r?\n$/, '')
    return checkToken(text, shown)
  } finally {
    await fh.close()
  }
}

/** $PFS_TOKEN, else the file named by $PFS_TOKEN_FILE; undefined when neither is set. */
export async function envToken (env: NodeJS.ProcessEnv = process.env): Promise<FoundToken | undefined> {
  if (env.PFS_TOKEN !== undefined && env.PFS_TOKEN !== '') return { token: checkToken(env.PFS_TOKEN, 'PFS_TOKEN') }
  if (env.PFS_TOKEN_FILE === undefined || env.PFS_TOKEN_FILE === '') return undefined
  const file = path.resolve(env.PFS_TOKEN_FILE)
  return { token: await readTokenFile(file), file }
}

/**
 * A server URL as given, checked: http:// only, and no credentials in it, which would show
 * in `ps` and in every message naming the server. `what` names it in messages.
 */
export function checkServerUrl (s: string, what = 'server URL'): string {
  const masked = maskUrl(s)
  const shown = `${what} '${printable(masked)}'`
  const data = { server: masked }
  const url = URL.canParse(s) ? new URL(s) : undefined
  if (url?.protocol === 'https:') {
    throw invalidArgument(`${shown}: https is not supported; serve over http:// on a trusted network ` +
      'or through a tunnel', data)
  }
  if (url?.protocol !== 'http:' || url.hostname === '') {
    throw invalidArgument(`${shown} is not a server URL; write it like http://10.0.0.5:7070`, data)
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw invalidArgument(`${shown} carries credentials or a query, which other users can see; ` +
      'write http://HOST:PORT and give the token in PFS_TOKEN or a file (--token-file, PFS_TOKEN_FILE)', data)
  }
  return s
}

/**
 * A server URL for a message: `redact`, and whatever precedes an `@` masked even when the
 * text is no URL at all (`user:secret@host`).
 */
function maskUrl (s: string): string {
  return redact(s).replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1***@')
}

/** One word of visible ASCII, as an Authorization header can carry it; never quoted back. */
function checkToken (token: string, shown: string): string {
  const t = token.trim()
  if (t === '') throw invalidArgument(`${shown} is empty; a server's token is one line`)
  if (!/^[\x21-\x7e]+$/.test(t)) {
    throw invalidArgument(`${shown} is not one word of visible ASCII characters (spaces, control ` +
      'characters or other lines inside); a token is one line')
  }
  return t
}
