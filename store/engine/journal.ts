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

export async function journal (objects: ObjectStore, ev: JournalEvent): Promise<void> {
  await objects.put(`journal/${pad(ev.time)}-${randomBytes(4).toString('hex')}`, Buffer.from(JSON.stringify(ev)))
}

export async function readJournal (objects: ObjectStore): Promise<JournalEvent[]> {
  const keys: string[] = []
  for await (const key of objects.list('journal/')) keys.push(key)
  keys.sort()
  const out: JournalEvent[] = []
  for (const key of keys) out.push(JSON.parse((await objects.get(key)).toString('utf8')) as JournalEvent)
  return out
}
