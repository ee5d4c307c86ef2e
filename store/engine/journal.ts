/**
 * The ref journal: branch and repo changes that are not a finished commit, written to the
 * object store so `pfs fsck --rebuild-index` can replay them. (A finished commit object
 * already records its repo, branch and time, so commits need no journal entry.)
 * Key: journal/<time, 15 digits>-<random>; value: one JSON event.
 */
import { randomBytes } from 'node:crypto'
import type { ObjectStore } from '../objects/object-store.js'
import { pad } from './index-db.js'

export type JournalEvent =
  | { op: 'repo-create', time: number, repo: string, description: string }
  | { op: 'repo-delete', time: number, repo: string }
  | { op: 'branch-set', time: number, repo: string, branch: string, head: string | null, created?: number }
  | { op: 'branch-delete', time: number, repo: string, branch: string }
  /** gc copied the live objects of this pack elsewhere; it is deleted after a grace period. */
  | { op: 'pack-retired', time: number, key: string }

/** A journal file that could not be replayed, and why. */
export interface SkippedFile { key: string, problem: string }

export async function journal (objects: ObjectStore, ev: JournalEvent): Promise<void> {
  await objects.put(`journal/${pad(ev.time)}-${randomBytes(4).toString('hex')}`, Buffer.from(JSON.stringify(ev)))
}

/**
 * Every journal event in time order. A file that is not a journal event (bit rot, a cut
 * write, a stray file) is left out and listed in `skipped`, so one bad file never stops a
 * rebuild from recovering the rest.
 */
export async function readJournal (objects: ObjectStore): Promise<{ events: JournalEvent[], skipped: SkippedFile[] }> {
  const keys: string[] = []
  for await (const key of objects.list('journal/')) keys.push(key)
  keys.sort()
  const events: JournalEvent[] = []
  const skipped: SkippedFile[] = []
  for (const key of keys) {
    let text: string
    try {
      text = (await objects.get(key)).toString('utf8')
    } catch (e) {
      skipped.push({ key, problem: `journal file cannot be read (${(e as Error).message})` })
      continue
    }
    let ev: unknown
    try {
      ev = JSON.parse(text)
    } catch {
      skipped.push({ key, problem: 'journal file is not valid JSON' })
      continue
    }
    const why = eventProblem(ev)
    if (why === undefined) events.push(ev as JournalEvent)
    else skipped.push({ key, problem: `journal file is not a journal event (${why})` })
  }
  return { events, skipped }
}

const str = (v: unknown): boolean => typeof v === 'string' && v !== ''
const FIELDS: Record<JournalEvent['op'], (e: Record<string, unknown>) => boolean> = {
  'repo-create': e => str(e.repo) && typeof e.description === 'string',
  'repo-delete': e => str(e.repo),
  'branch-set': e => str(e.repo) && str(e.branch) && (e.head === null || str(e.head)) &&
    (e.created === undefined || Number.isSafeInteger(e.created)),
  'branch-delete': e => str(e.repo) && str(e.branch),
  'pack-retired': e => str(e.key)
}

function eventProblem (ev: unknown): string | undefined {
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) return 'not an object'
  const e = ev as Record<string, unknown>
  if (typeof e.op !== 'string' || !Object.hasOwn(FIELDS, e.op)) return `unknown op ${JSON.stringify(e.op)}`
  if (!Number.isSafeInteger(e.time) || (e.time as number) < 0) return 'no time'
  return FIELDS[e.op as JournalEvent['op']](e) ? undefined : `missing or bad fields for ${e.op}`
}
