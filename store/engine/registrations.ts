/**
 * Registering the objects a client wrote on the data plane (the `objects` of `modify` and
 * `stage`). The engine never reads chunk bytes, so it cannot trust a client's word about
 * them; it checks what it can without reading them, before the index batch:
 * - An id the index knows keeps its location: registering it again is a no-op. So no
 *   call can point a chunk of a finished commit at other bytes.
 * - A new location is one `rebuildIndex` would find again: a standalone chunk is the whole
 *   object `chunks/<id[0:2]>/<id>`; a packed one is an entry `[id, 'chunk', offset,
 *   length]` of the trailer of `packs/<h[0:2]>/<h>`. Keys of any other form (`..`, a
 *   leading `/`, a folder like `chunks/ab`, another kind of object) are refused.
 * - The object is in the store, as an object (not a folder), at least as long as the
 *   location says.
 * A put that did not finish is a CONFLICT ("retry the put"); anything else is
 * INVALID_ARGUMENT. Whether a chunk's bytes hash to its id is left to readers that verify
 * and to fsck: checking it here would make the server read every byte written.
 */
import type * as M from '../api/meta.js'
import { conflict, invalidArgument, isPfsError } from '../api/errors.js'
import { type PackedObject, readPackIndex } from '../format/pack.js'
import type { ObjectStore } from '../objects/object-store.js'
import { type BatchOp, type ObjRec, type PackRec, k, getMany } from './index-db.js'
import { packOps } from './node-store.js'
import type { Core } from './core.js'

const CHUNK_ID_RE = /^[0-9a-f]{64}$/
const CHUNK_KEY_RE = /^chunks\/([0-9a-f]{2})\/([0-9a-f]{64})$/
const PACK_KEY_RE = /^packs\/([0-9a-f]{2})\/([0-9a-f]{64})$/

/** Index records for the new objects among `objs`, once each checks out. */
export async function registerObjects (core: Pick<Core, 'db' | 'objects'>, objs: unknown): Promise<BatchOp[]> {
  if (!Array.isArray(objs)) throw invalidArgument('objects must be a list of {id, loc: {key, offset, length}}')
  const fresh = new Map<string, M.NewObject>()
  for (const o of objs) {
    const obj = checkShape(o)
    if (!fresh.has(obj.id)) fresh.set(obj.id, obj)
  }
  const ids = [...fresh.keys()]
  const known = await getMany<ObjRec>(core.db, ids.map(id => k('o', id)))
  ids.forEach((id, i) => { if (known[i] !== undefined) fresh.delete(id) })
  const byKey = new Map<string, M.NewObject[]>()
  for (const o of fresh.values()) byKey.set(o.loc.key, [...byKey.get(o.loc.key) ?? [], o])
  for (const [key, list] of byKey) await checkObject(core.objects, key, list)
  const ops = packOps([...fresh.values()].map(o => ({ id: o.id, type: 'chunk', loc: o.loc })))
  return await mergePackRecs(core, ops)
}

/** A well-formed registration, with nothing but its id and location. */
function checkShape (o: unknown): M.NewObject {
  const { id, loc } = (o ?? {}) as { id?: unknown, loc?: Partial<Record<keyof M.ObjectLoc, unknown>> }
  const { key, offset, length } = loc ?? {}
  const shown = JSON.stringify(o)?.slice(0, 120) ?? String(o)
  if (typeof id !== 'string' || !CHUNK_ID_RE.test(id) || typeof key !== 'string' ||
    !isCount(offset) || !isCount(length)) {
    throw invalidArgument(`bad object registration ${shown}; expected {id: sha256 hex, loc: {key, offset, length}}`)
  }
  const chunk = CHUNK_KEY_RE.exec(key)
  const pack = PACK_KEY_RE.exec(key)
  const ok = chunk !== null
    ? chunk[2] === id && chunk[1] === id.slice(0, 2) && offset === 0
    : pack !== null && pack[1] === pack[2].slice(0, 2)
  if (!ok) {
    throw invalidArgument(`bad object registration ${shown}: a chunk is registered at chunks/<id[0:2]>/<id> ` +
      '(offset 0) or in a pack, packs/<h[0:2]>/<h>', { id, key: key.slice(0, 200) })
  }
  return { id, loc: { key, offset, length } }
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0

async function checkObject (objects: ObjectStore, key: string, list: M.NewObject[]): Promise<void> {
  const end = Math.max(...list.map(o => o.loc.offset + o.loc.length))
  const st = await objects.stat(key)
  if (st === undefined || st.size < end) {
    throw conflict(`object '${key}' is not in the store or was not written completely; retry the put`, { key })
  }
  if (key.startsWith('chunks/')) {
    // The key names one chunk (checkShape), so `list` holds just that one.
    if (st.size !== end) {
      throw invalidArgument(`chunk object '${key}' holds ${st.size} bytes, not the ${end} registered; ` +
        'a standalone chunk is registered whole', { key })
    }
    return
  }
  const entries = new Map((await trailer(objects, key)).map(e => [e.id, e]))
  for (const o of list) {
    const e = entries.get(o.id)
    if (e?.type !== 'chunk' || e.loc.offset !== o.loc.offset || e.loc.length !== o.loc.length) {
      throw invalidArgument(`pack '${key}' has no chunk ${o.id.slice(0, 12)} at ${o.loc.offset}+${o.loc.length}; ` +
        "register a pack's chunks where its trailer puts them", { key, id: o.id })
    }
  }
}

/** A client's pack that is no pack is the client's mistake, not damage to the store. */
async function trailer (objects: ObjectStore, key: string): Promise<PackedObject[]> {
  try {
    return await readPackIndex(objects, key)
  } catch (e) {
    if (!isPfsError(e, 'CORRUPT')) throw e
    throw invalidArgument(`object '${key}' is not a pack pfs can read (${e.message}); write it again`, { key })
  }
}

/**
 * A pack registered again (a retried put) keeps what its record already counts: with
 * known ids skipped, the new record alone would undercount it.
 */
async function mergePackRecs (core: Pick<Core, 'db'>, ops: BatchOp[]): Promise<BatchOp[]> {
  const pks = ops.filter(op => op.type === 'put' && op.key.startsWith(k('pk', '')))
  const old = await getMany<PackRec>(core.db, pks.map(op => op.key))
  pks.forEach((op, i) => {
    const was = old[i]
    if (was === undefined || op.type !== 'put') return
    const now = op.value as PackRec
    op.value = { bytes: Math.max(was.bytes, now.bytes), count: was.count + now.count }
  })
  return ops
}
