/**
 * Rev syntax, git-like:
 *   master            a branch (its open commit if a write session is open, else its head)
 *   3f2a9c1e          a commit id or a unique prefix of one (at least 4 hex characters)
 *   master~2 master^  ancestors (`^` is `~1`; they chain: master^^~3)
 *   master@{2026-11-20}  the branch head at that time (ISO date or date-time, local time
 *                        unless a zone is given)
 */
import { invalidArgument } from './errors.js'

export interface ParsedRev {
  base: string
  /** ms since epoch, for `branch@{date}` */
  at?: number
  /** generations back */
  back: number
}

export function parseRev (rev: string): ParsedRev {
  if (typeof rev !== 'string' || rev === '') throw invalidArgument('a rev (branch, commit id, branch~N...) is required')
  let s = rev
  let back = 0
  // Peel suffixes from the right: ~N, ~, ^
  for (;;) {
    const m = /(~(\d*)|\^)$/.exec(s)
    if (m === null || m.index === 0) break
    back += m[1] === '^' ? 1 : m[2] === '' ? 1 : Number(m[2])
    s = s.slice(0, m.index)
  }
  if (!Number.isSafeInteger(back)) throw invalidArgument(`rev '${rev}': the ancestor count is too large`)
  const at = /^(.*)@\{([^}]*)\}$/.exec(s)
  if (at !== null) {
    const when = parseWhen(at[2], rev)
    return { base: at[1], at: when, back }
  }
  if (/[~^@{}]/.test(s)) throw invalidArgument(`rev '${rev}' is not valid; use a branch, a commit id, branch~N, branch^ or branch@{2026-11-20}`)
  return { base: s, back }
}

function parseWhen (text: string, rev: string): number {
  let t = text.trim()
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00'
  else if (/^\d{4}-\d{2}-\d{2} \d/.test(t)) t = t.replace(' ', 'T')
  const ms = /^\d+$/.test(t) ? NaN : Date.parse(t)
  if (Number.isNaN(ms)) {
    throw invalidArgument(`rev '${rev}': '${text}' is not a date; use ISO form like 2026-11-20 or 2026-11-20T14:30`)
  }
  return ms
}

const COMMIT_ID_RE = /^[0-9a-f]{32}$/
/**
 * `tree:<root hash>`: a tree read directly, for clients that resolved a rev once and
 * cache by root (the mount). Not a user-facing form; it names no commit.
 */
export const TREE_REV_RE = /^tree:([0-9a-f]{64})$/
export const COMMIT_PREFIX_RE = /^[0-9a-f]{4,32}$/

/** A full commit id: 32 lowercase hex characters. */
export const isCommitId = (s: string): boolean => COMMIT_ID_RE.test(s)
/** What could be a commit id or a prefix of one (at least 4 hex characters). */
export const isCommitPrefix = (s: string): boolean => COMMIT_PREFIX_RE.test(s)
