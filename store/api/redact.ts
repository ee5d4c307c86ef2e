/**
 * Secrets out of text a user or a log will see. A TCP server's bearer token must never be
 * shown: not in errors, not in logs, not in anything recorded. pfs takes the token only
 * from the environment or a file and refuses it on a command line or in a URL; `redact`
 * is the second line, for text that quotes what someone else typed or sent (a URL, an
 * old owner.json, a request line).
 *
 * @example
 *   redact('http://ann:s3cret@10.0.0.5:7070/v1?token=abc') // 'http://***@10.0.0.5:7070/v1?token=***'
 */

const MASK = '***'

/** `scheme://user:pass@` up to the last `@` of the word: the userinfo, however it is spelled. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s'"]*@/gi
/** A query or fragment parameter whose name says it holds a secret: `?token=`, `&access_token=`, `#key=`. */
const SECRET_PARAM = /([?&#;][\w.-]*(?:token|secret|passw(?:or)?d|pass|auth|key|sig)[\w.-]*=)[^&#;\s'"]*/gi
/** A `--token VALUE` or `--token=VALUE` quoted back, whatever the value starts with (never `--token-file`). */
const TOKEN_OPTION = /(--token(?:=|\s+))[^\s'"]+/g
/** An Authorization header quoted back. */
const BEARER = /\b(Bearer\s+)[^\s'"]+/gi

/** `text` with URL credentials, secret-looking parameters, `--token` values and bearer tokens masked. */
export function redact (text: string): string {
  return text
    .replace(USERINFO, `$1${MASK}@`)
    .replace(SECRET_PARAM, `$1${MASK}`)
    .replace(TOKEN_OPTION, `$1${MASK}`)
    .replace(BEARER, `$1${MASK}`)
}
