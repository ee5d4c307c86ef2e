/**
 * Globs as Pachyderm writes them, over paths inside an input commit: `/` (the whole input),
 * `*` (within one name), `**` (across folders), `?`, `[abc]`, `[!a-z]`, `{a,b}`, and
 * `( )` capture groups whose matches `join_on` and `group_by` name as `$1`, `$2`...
 *
 * A glob without `**` matches entries (files or folders) at one depth, so datums are found
 * by listing that many levels and no deeper. A glob with `**` matches files at any depth.
 */
import { invalidArgument } from '../store/index.js'

export interface Glob {
  source: string
  /** Matches a path with its leading slash ('/' is the root). */
  re: RegExp
  /** How many names deep every match is; undefined when it varies (`**`, `{a,b/c}`). */
  depth: number | undefined
  /** Number of capture groups. */
  groups: number
}

export function compileGlob (source: string): Glob {
  const bad = (why: string): Error => invalidArgument(`glob ${JSON.stringify(source)}: ${why}`, { glob: source })
  if (source === '' || source === '/') return { source, re: /^\/$/, depth: 0, groups: 0 }
  if (!source.startsWith('/')) throw bad('a glob starts with "/"')
  const pattern = source.length > 1 && source.endsWith('/') ? source.slice(0, -1) : source
  let re = ''
  let groups = 0
  let open = 0
  let braces = 0
  let varies = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        varies = true
        i++
        // '/**/' also matches a single '/': a/**/b matches a/b
        if (pattern[i + 1] === '/') { re += '(?:.*/)?'; i++ } else re += '.*'
      } else {
        re += '[^/]*'
      }
    } else if (c === '?') {
      re += '[^/]'
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) throw bad(`'[' at ${i + 1} is never closed`)
      let body = pattern.slice(i + 1, end)
      if (body.startsWith('!')) body = '^' + body.slice(1)
      if (body.includes('/')) throw bad("a '[...]' class cannot hold '/'")
      re += `[${body.replace(/\\/g, '\\\\')}]`
      i = end
    } else if (c === '{') {
      braces++
      re += '(?:'
    } else if (c === '}') {
      if (braces === 0) throw bad(`'}' at ${i + 1} has no '{'`)
      braces--
      re += ')'
    } else if (c === ',' && braces > 0) {
      re += '|'
    } else if (c === '(') {
      groups++
      open++
      re += '('
    } else if (c === ')') {
      if (open === 0) throw bad(`')' at ${i + 1} has no '('`)
      open--
      re += ')'
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += escape(pattern[++i]!)
    } else {
      if (c === '/' && braces > 0) varies = true
      re += escape(c)
    }
  }
  if (braces > 0) throw bad("a '{' is never closed")
  if (open > 0) throw bad("a '(' is never closed")
  const depth = varies ? undefined : pattern.split('/').length - 1
  try {
    return { source, re: new RegExp(`^${re}$`, 'u'), depth, groups }
  } catch (e) {
    throw bad((e as Error).message)
  }
}

const escape = (c: string): string => /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c

/** The captures of a matching path (index 1 is `$1`), or undefined when it does not match. */
export function matchGlob (g: Glob, path: string): string[] | undefined {
  const m = g.re.exec(path === '' ? '/' : `/${path}`)
  return m === null ? undefined : [...m]
}

/**
 * A `join_on` / `group_by` key from a match's captures: `$1`, `$2`... replaced, the rest
 * kept as written (`$1-$2`). A capture the glob lacks is an error naming the input.
 */
export function keyOf (template: string, captures: string[], input: string): string {
  return template.replace(/\$(\d+)/g, (_, n: string) => {
    const v = captures[Number(n)]
    if (v === undefined) {
      throw invalidArgument(`input ${input}: ${template} names capture group $${n}, which its glob does not have`,
        { input })
    }
    return v
  })
}
