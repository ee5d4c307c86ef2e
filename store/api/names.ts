import { invalidName, invalidArgument } from './errors.js'

/**
 * Repo and branch names become folder names in the mount and parts of `repo@rev:path`
 * addresses, so they exclude the address syntax as well as what a file name cannot hold.
 */
export function checkRefName (what: 'repo' | 'branch', name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw invalidName(what, String(name ?? ''), 'it is empty')
  if (Buffer.byteLength(name) > 255) throw invalidName(what, name, 'it is longer than 255 bytes')
  if (name.includes('\0')) throw invalidName(what, name, 'it contains a NUL byte')
  if (name.includes('/')) throw invalidName(what, name, "it contains '/'")
  if (name === '.' || name === '..') throw invalidName(what, name, "'.' and '..' are reserved")
  if (name.startsWith('.')) {
    throw invalidName(what, name, "names starting with '.' are reserved for pfs (like .commits)")
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw invalidName(what, name, 'it contains a control character')
  const bad = /[@:~^{}\s\\*?[]/.exec(name)
  if (bad) {
    throw invalidName(what, name, `'${bad[0]}' is not allowed (it is part of the repo@rev:path syntax or a glob)`)
  }
  if (what === 'branch' && /^[0-9a-f]{32}$/.test(name)) throw invalidName(what, name, 'it looks like a commit id')
}

/**
 * Normalizes a path inside a repo: no leading or trailing slash, no empty or '.' parts.
 * '..' may not climb above the root. Each part is a legal file name.
 */
export function normPath (p: string): string {
  if (typeof p !== 'string') throw invalidArgument('a path is required')
  if (p.includes('\0')) throw invalidArgument(`path '${p.replace(/\0/g, '\\0')}' contains a NUL byte`)
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length === 0) throw invalidArgument(`path '${p}' escapes the repository`, { path: p })
      out.pop()
      continue
    }
    if (Buffer.byteLength(part) > 255) {
      throw invalidArgument(`path '${p}': the name '${part.slice(0, 40)}...' is longer than 255 bytes`, { path: p })
    }
    out.push(part)
  }
  return out.join('/')
}

export function splitPath (p: string): { dir: string, name: string } {
  const i = p.lastIndexOf('/')
  return i < 0 ? { dir: '', name: p } : { dir: p.slice(0, i), name: p.slice(i + 1) }
}

export function joinPath (dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`
}
