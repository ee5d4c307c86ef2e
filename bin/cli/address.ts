/**
 * `repo@rev:path` addresses, Pachyderm's form: `images`, `images@master`,
 * `images@master~2:a/b.txt`, `images@master@{2026-11-20T10:00}:a/`.
 *
 * The repo ends at the first `@` or `:`. The rev runs to the first `:` that is not inside
 * an `@{...}` (times contain colons). What the rev means is the store's business
 * (store/revs.ts); here it is only cut out. The path is normalized (`a//b/./c` → `a/b/c`,
 * leading `/` dropped) and may not climb out of the repo with `..`.
 */
import { invalidArgument, normPath } from '../../store/index.js'

export interface Address {
  repo: string
  /** Absent for `repo` and `repo:path`. */
  rev?: string
  /** Normalized; absent when the address has no `:`. '' is the root. */
  path?: string
  /**
   * True when the path was absent, empty, or ended with `/` (or `.`/`..`): it names a
   * folder to put things into rather than the name of the thing itself.
   */
  dirOnly: boolean
  /** The address as the user typed it, for messages. */
  text: string
}

export function parseAddress (text: string): Address {
  if (text === '') throw invalidArgument('an address is required: repo, repo@rev or repo@rev:path')
  const repoEnd = firstOf(text, '@:', 0)
  const repo = text.slice(0, repoEnd)
  if (repo === '') throw invalidArgument(`address '${text}' names no repo; write repo@rev:path`, { address: text })
  const addr: Address = { repo, dirOnly: true, text }
  let i = repoEnd
  if (text[i] === '@') {
    const end = revEnd(text, i + 1)
    addr.rev = text.slice(i + 1, end)
    if (addr.rev === '') {
      throw invalidArgument(`address '${text}' has an empty rev after '@'; write ${repo}@master`, { address: text })
    }
    i = end
  }
  if (text[i] === ':') {
    const raw = text.slice(i + 1)
    addr.path = normPath(raw)
    addr.dirOnly = raw === '' || /(^|\/)(\.\.?)?$/.test(raw)
  }
  return addr
}

/** The rev of an address that must name one, e.g. for `log` or `inspect`. */
export function needRev (a: Address, example = `${a.repo}@master`): string {
  if (a.rev === undefined) throw invalidArgument(`'${a.text}' names no rev; write ${example}`, { address: a.text })
  return a.rev
}

/** The branch of an address that is written to (put, rm, commit...). */
export function needBranch (a: Address): string {
  return needRev(a, `${a.repo}@<branch>${a.path !== undefined ? ':' + a.path : ''}`)
}

/** The path of an address that must name a file or folder; '' (the root) only if allowed. */
export function needPath (a: Address, opts: { root?: boolean } = {}): string {
  if (a.path === undefined || (a.path === '' && opts.root !== true)) {
    throw invalidArgument(`'${a.text}' names no path; write ${a.repo}@${a.rev ?? '<rev>'}:<path>`, { address: a.text })
  }
  return a.path
}

/** Refuses a path part: the address must stop at the rev. */
export function noPath (a: Address): void {
  if (a.path !== undefined) {
    const write = `${a.repo}@${a.rev ?? '<rev>'}`
    throw invalidArgument(`'${a.text}' should not name a path; write ${write}`, { address: a.text })
  }
}

/** `repo@branch`, as the session and branch commands take it: a branch and no path. */
export function parseBranch (text: string): { repo: string, branch: string } {
  const a = parseAddress(text)
  noPath(a)
  return { repo: a.repo, branch: needBranch(a) }
}

export function formatAddress (repo: string, rev?: string | null, path?: string): string {
  return `${repo}${rev ? '@' + rev : ''}${path !== undefined ? ':' + path : ''}`
}

function firstOf (s: string, chars: string, from: number): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i] as string)) return i
  return s.length
}

function revEnd (text: string, from: number): number {
  let i = from
  while (i < text.length) {
    if (text.startsWith('@{', i)) {
      const close = text.indexOf('}', i)
      if (close < 0) throw invalidArgument(`address '${text}': '@{' without a closing '}'`, { address: text })
      i = close + 1
    } else if (text[i] === ':') {
      return i
    } else {
      i++
    }
  }
  return i
}
