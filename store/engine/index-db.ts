/**
 * The LevelDB index (see docs/design.md, "Index schema"). Keys are strings whose parts
 * are joined by NUL (no name can hold one), values are JSON. The index holds:
 *   repo  <repo>                      {name, description, created}
 *   br    <repo> <branch>             {head, open, created}
 *   c     <id>                        commit record (CommitInfo + obj, the object id once finished)
 *   cid   <repo> <id>                 '' (prefix lookup)
 *   ct    <repo> <started> <id>       '' (newest-first listing)
 *   rl    <repo> <branch> <time> <n>  {head} (reflog, for branch@{date})
 *   o     <object id>                 [key, offset, length, type]
 *   pk    <pack key>                  {bytes, count}
 *   rt    <pack key>                  {since} (retired by a repack; deleted after a grace period)
 *   stg   <stage id>                  {repo, root, created, touched} (a folder put's staged batches)
 * Everything but the open commits and stages can be rebuilt from the object store.
 */
import { Level } from 'level'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { PfsError, busy, printable } from '../api/errors.js'
import { redact } from '../api/redact.js'
import type { CommitInfo } from '../api/meta.js'

const SEP = '\x00'
export const k = (...parts: Array<string | number>): string =>
  parts.map(p => typeof p === 'number' ? pad(p) : p).join(SEP)
export const pad = (n: number): string => String(n).padStart(15, '0')
/** The last part of a key: the name or id it ends with. */
export const lastPart = (key: string): string => key.slice(key.lastIndexOf(SEP) + 1)

export interface RepoRec {
  name: string
  description: string
  created: number
  /** Set on a pipeline's output repo: only that pipeline's running jobs write to it. */
  pipeline?: string
}
export interface BranchRec { head: string | null, open: string | null, created: number }
export interface CommitRec extends CommitInfo { obj?: string }
export type ObjRec = [key: string, offset: number, length: number, type: string]
export interface PackRec { bytes: number, count: number }
/** A folder put's batches, not yet merged into a branch (see store/api/pins.ts for its lifetime). */
export interface StageRec { repo: string, root: string, created: number, touched: number }

export type Db = Level<string, unknown>
export type BatchOp = { type: 'put', key: string, value: unknown } | { type: 'del', key: string }

export async function openDb (dir: string, ownerFile: string): Promise<Db> {
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json' })
  // LevelDB admits one process; another pfs may be finishing, so wait a moment first.
  for (let attempt = 0; ; attempt++) {
    try {
      await db.open()
      return db
    } catch (e) {
      if (!isLocked(e)) throw e
      if (attempt >= 10) throw await lockedError(path.dirname(dir), ownerFile, e)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
}

/** A LevelDB failure that means the index files are damaged, as a CORRUPT error; else undefined. */
export function indexDamage (e: unknown, store: string): PfsError | undefined {
  if (e instanceof PfsError) return undefined
  const err = e as { code?: string, message?: string, cause?: { code?: string, message?: string } } | undefined
  const codes = [err?.code, err?.cause?.code]
  const text = `${err?.message ?? ''} ${err?.cause?.message ?? ''}`
  if (!codes.includes('LEVEL_CORRUPTION') && !codes.includes('LEVEL_IO_ERROR') && !/Corruption:/.test(text)) {
    return undefined
  }
  return new PfsError('CORRUPT', `the index of store ${store} is damaged (${text.trim().split('\n')[0]}); ` +
    'run `pfs fsck --rebuild-index` to rebuild it from the objects', { store }, e)
}

function isLocked (e: unknown): boolean {
  const err = e as { code?: string, cause?: { code?: string, message?: string } }
  return err.code === 'LEVEL_LOCKED' || err.cause?.code === 'LEVEL_LOCKED' || /lock/i.test(err.cause?.message ?? '')
}

async function lockedError (store: string, ownerFile: string, cause: unknown): Promise<PfsError> {
  let who = 'another process'
  try {
    const o = JSON.parse(await readFile(ownerFile, 'utf8')) as { pid: number, command: string }
    // An owner.json from an older pfs may hold a whole command line: never show a token from it.
    who = `pfs process ${o.pid} (${printable(redact(String(o.command)))})`
  } catch {
    // no owner file (or not readable): say "another process"
  }
  const e = busy(`store ${store} is in use by ${who}; ` +
    `run \`pfs serve --store ${store}\` to share it between commands, or wait for it to finish`, { store })
  ;(e as { cause?: unknown }).cause = cause
  return e
}

/**
 * Every index change goes through here: one atomic batch, synced to disk before it
 * resolves, so a machine crash cannot lose a commit the caller was told is finished.
 */
export async function writeBatch (db: Db, ops: BatchOp[]): Promise<void> {
  await db.batch(ops, { sync: true })
}

export async function getMany<T> (db: Db, keys: string[]): Promise<Array<T | undefined>> {
  if (keys.length === 0) return []
  return await db.getMany(keys) as Array<T | undefined>
}

/** Keys (and values) whose key starts with prefix + SEP, in key order. */
export async function * range<T> (
  db: Db, prefix: string, opts: { reverse?: boolean, after?: string, limit?: number } = {}
): AsyncGenerator<[string, T]> {
  const lo = prefix + SEP
  const hi = prefix + '\x01'
  const o: Record<string, unknown> = { reverse: opts.reverse ?? false, limit: opts.limit ?? -1 }
  if (opts.reverse === true) {
    o.gte = lo
    o.lt = opts.after ?? hi
  } else {
    o.gt = opts.after ?? lo
    o.lt = hi
    if (opts.after === undefined) { delete o.gt; o.gte = lo }
  }
  for await (const [key, value] of db.iterator(o)) yield [key, value as T]
}
