/**
 * Datums: what one run of the user's code sees. Each pfs input's glob picks entries of its
 * input commit; cross, union, join and group combine them as Pachyderm does:
 * - cross: every combination, one entry from each input;
 * - union: each input's datums one after another;
 * - join: datums of the inputs whose `join_on` keys are equal (every combination of them),
 *   inner unless an input sets `outer_join` (its unmatched entries are datums alone);
 * - group: one datum per `group_by` key, holding every entry of every input with that key.
 *
 * A datum's id names its inputs and matched paths only; its key adds each entry's content
 * hash (the Merkle hash the store keeps) and the pipeline version, so equal keys are equal
 * work. Enumeration lists each glob's depth and no deeper; `**` walks the whole input.
 */
import { createHash } from 'node:crypto'
import type { FileInfo, Pfs } from '../store/index.js'
import { isPfsError, joinPath } from '../store/index.js'
import { type Glob, compileGlob, keyOf, matchGlob } from './glob.js'
import type { Input, PfsInput } from './spec.js'

/** The commit a pfs input reads in one job. */
export interface InputCommit { name: string, repo: string, branch: string, commit: string | null }

/** One input entry of a datum. */
export interface DatumInput {
  /** The input's name: its folder under /pfs. */
  name: string
  repo: string
  branch: string
  commit: string
  /** Path inside the input commit, '' for the root. */
  path: string
  kind: FileInfo['kind']
  /** Content hash of the entry (manifest or tree hash). */
  hash: string
  size: number
  /** The join_on or group_by key, when the input has one. */
  key?: string
}

export interface Datum {
  /** Hex SHA-256 of the input names and paths. */
  id: string
  inputs: DatumInput[]
}

/** Hex SHA-256 of the parts, each length-prefixed so no two lists hash alike. */
function digest (parts: string[]): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(`${Buffer.byteLength(p)}:${p}`)
  return h.digest('hex')
}

function datumId (inputs: DatumInput[]): string {
  return digest(inputs.flatMap(i => [i.name, i.path]))
}

/** The key of a datum for a pipeline version: equal keys mean the same code on the same bytes. */
export function datumKey (d: Datum, version: string): string {
  return digest([version, ...d.inputs.flatMap(i => [i.name, i.path, i.kind, i.hash])])
}

export const make = (inputs: DatumInput[]): Datum => ({ id: datumId(inputs), inputs })

/**
 * Fifos, sockets and device nodes are never datums: a datum reading a fifo would wait
 * for a writer until its timeout, and a device cannot be opened on the (nodev) mount.
 */
export const isSpecial = (kind: FileInfo['kind']): boolean =>
  kind === 'fifo' || kind === 'socket' || kind === 'chardev' || kind === 'blockdev'

/** Every entry of one commit that a glob matches, in path order. */
async function * globEntries (
  pfs: Pfs, repo: string, commit: string, glob: Glob
): AsyncGenerator<{ info: FileInfo, captures: string[] }> {
  if (glob.depth === 0) {
    const root = await pfs.stat(repo, commit, '')
    if ((root.count ?? 0) > 0) yield { info: root, captures: ['/'] }
    return
  }
  if (glob.depth === undefined) {
    // `**`: files at any depth.
    let after: string | undefined
    do {
      const page = await pfs.walk(repo, commit, '', { after, limit: 10_000 })
      for (const info of page.entries) {
        if (info.kind === 'dir' || isSpecial(info.kind)) continue
        const captures = matchGlob(glob, info.path)
        if (captures !== undefined) yield { info, captures }
      }
      after = page.next
    } while (after !== undefined)
    return
  }
  yield * level(pfs, repo, commit, glob, '', 1)
}

async function * level (
  pfs: Pfs, repo: string, commit: string, glob: Glob, dir: string, depth: number
): AsyncGenerator<{ info: FileInfo, captures: string[] }> {
  let after: string | undefined
  do {
    const page = await pfs.list(repo, commit, dir, { after, limit: 10_000 })
    for (const info of page.entries) {
      if (depth === glob.depth) {
        if (isSpecial(info.kind)) continue
        const captures = matchGlob(glob, info.path)
        if (captures !== undefined) yield { info, captures }
      } else if (info.kind === 'dir' && prefixCanMatch(glob, info.path, depth)) {
        yield * level(pfs, repo, commit, glob, joinPath(dir, info.name), depth + 1)
      }
    }
    after = page.next
  } while (after !== undefined)
}

/**
 * Whether a folder `depth` names deep can hold a match: its path against the glob's first
 * `depth` parts. Globs with capture groups or braces spanning parts are not cut this way.
 */
function prefixCanMatch (glob: Glob, path: string, depth: number): boolean {
  const parts = glob.source.split('/').slice(1, depth + 1)
  if (parts.some(p => /[(){}]/.test(p))) return true
  const g = compileGlob('/' + parts.join('/'))
  return matchGlob(g, path) !== undefined
}

/** A datum input for an entry a glob matched, with its join/group key. */
export function entryOf (
  p: PfsInput, at: InputCommit & { commit: string }, info: FileInfo, captures: string[]
): DatumInput {
  const entry: DatumInput = {
    name: p.name, repo: p.repo, branch: at.branch, commit: at.commit,
    path: info.path, kind: info.kind, hash: info.hash, size: info.size
  }
  const template = p.join_on ?? p.group_by
  if (template !== undefined) entry.key = keyOf(template, captures, p.name)
  return entry
}

/** The entries of one pfs input as datum inputs, with their join/group keys. */
export async function pfsEntries (pfs: Pfs, p: PfsInput, at: InputCommit): Promise<DatumInput[]> {
  if (at.commit === null) return []
  const glob = compileGlob(p.glob)
  const out: DatumInput[] = []
  for await (const { info, captures } of globEntries(pfs, p.repo, at.commit, glob)) {
    out.push(entryOf(p, { ...at, commit: at.commit }, info, captures))
  }
  return out
}

/** Finds the input commit of each named pfs input. */
export type CommitsOf = (name: string) => InputCommit

/** Where a combination gets the entries of each pfs input (a cron input is one too). */
export type Leaves = (p: PfsInput) => Promise<DatumInput[]>

/** A cron input read as the pfs input it is: its repo's master, the whole commit one datum. */
export function cronAsPfs (c: { name: string, repo?: string }): PfsInput {
  return { repo: c.repo ?? c.name, branch: 'master', glob: '/', name: c.name, outer_join: false }
}

/** Every datum of an input, in a stable order (the order the input's entries list in). */
export async function enumerate (pfs: Pfs, input: Input, commits: CommitsOf): Promise<Datum[]> {
  return (await combine(input, async p => await pfsEntries(pfs, p, commits(p.name)))).map(make)
}

/** The datums of an input (as lists of entries) from the entries of its pfs inputs. */
export async function combine (input: Input, leaves: Leaves): Promise<DatumInput[][]> {
  if ('pfs' in input) return (await leaves(input.pfs)).map(e => [e])
  if ('cron' in input) return (await leaves(cronAsPfs(input.cron))).map(e => [e])
  const [kind, list] = Object.entries(input)[0] as ['union' | 'cross' | 'join' | 'group', Input[]]
  const parts: DatumInput[][][] = []
  for (const x of list) parts.push(await combine(x, leaves))
  return combineParts(kind, list, parts)
}

/** Combines the datums of each input of a union, cross, join or group. */
export function combineParts (
  kind: 'union' | 'cross' | 'join' | 'group', list: Input[], parts: DatumInput[][][]
): DatumInput[][] {
  if (kind === 'union') return parts.flat()
  if (kind === 'cross') return product(parts)
  const maps = parts.map(byKey)
  return kind === 'join' ? join(maps, list.map(x => 'pfs' in x && x.pfs.outer_join)) : group(maps)
}

/** Every combination of one datum from each list. */
export function product (parts: DatumInput[][][]): DatumInput[][] {
  let acc: DatumInput[][] = [[]]
  for (const next of parts) acc = acc.flatMap(a => next.map(n => [...a, ...n]))
  return acc
}

/** The join_on / group_by key of a datum: that of its first entry that has one. */
export const keyOfDatum = (d: DatumInput[]): string => d.find(e => e.key !== undefined)?.key ?? ''

/** One input's datums by key, keys in first-seen order. */
function byKey (datums: DatumInput[][]): Map<string, DatumInput[][]> {
  const m = new Map<string, DatumInput[][]>()
  for (const d of datums) {
    const key = keyOfDatum(d)
    const l = m.get(key)
    if (l === undefined) m.set(key, [d])
    else l.push(d)
  }
  return m
}

function join (maps: Array<Map<string, DatumInput[][]>>, outer: boolean[]): DatumInput[][] {
  const keys = new Set<string>()
  for (const m of maps) for (const k of m.keys()) keys.add(k)
  const out: DatumInput[][] = []
  for (const k of keys) {
    // Inner: every input has the key. An outer input that has it keeps it even when others
    // lack it: the datum then holds the entries of the inputs that have the key.
    const present = maps.map(m => m.has(k))
    if (!present.every(Boolean) && !present.some((p, i) => p && outer[i])) continue
    out.push(...product(maps.flatMap(m => { const l = m.get(k); return l === undefined ? [] : [l] })))
  }
  return out.filter(d => d.length > 0)
}

function group (maps: Array<Map<string, DatumInput[][]>>): DatumInput[][] {
  const keys = new Set<string>()
  for (const m of maps) for (const k of m.keys()) keys.add(k)
  return [...keys].map(k => maps.flatMap(m => (m.get(k) ?? []).flat()))
}

/** The head commit of every pfs input's branch (null for a branch with no commits yet). */
export async function inputCommits (pfs: Pfs, input: Input): Promise<CommitsOf> {
  const found = new Map<string, InputCommit>()
  // A branch not made yet has no datums (a job waits for its first commit); a repo that
  // does not exist is an error naming it.
  const head = async (repo: string, branch: string): Promise<string | null> => {
    try {
      return (await pfs.inspectBranch(repo, branch)).head
    } catch (e) {
      if (!isPfsError(e, 'NOT_FOUND')) throw e
      await pfs.inspectRepo(repo)
      return null
    }
  }
  const visit = async (x: Input): Promise<void> => {
    if ('pfs' in x) {
      const commit = await head(x.pfs.repo, x.pfs.branch)
      found.set(x.pfs.name, { name: x.pfs.name, repo: x.pfs.repo, branch: x.pfs.branch, commit })
      return
    }
    if ('cron' in x) {
      const repo = x.cron.repo ?? x.cron.name
      found.set(x.cron.name, { name: x.cron.name, repo, branch: 'master', commit: await head(repo, 'master') })
      return
    }
    for (const y of Object.values(x)[0] as Input[]) await visit(y)
  }
  await visit(input)
  return name => {
    const c = found.get(name)
    if (c === undefined) throw new Error(`no input named ${name}`)
    return c
  }
}
