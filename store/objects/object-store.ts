/**
 * Where immutable bytes live: chunks, packs of small objects, and the ref journal.
 *
 * Keys are relative slash-separated paths made of [0-9a-z._/-] (e.g. `chunks/ab/ab12...`).
 * Every implementation (local folder, memory; S3 next) passes the same suite,
 * test/helpers/object-store-suite.ts.
 *
 * Contract:
 * - `put` is atomic and durable when it resolves: a reader sees all of the bytes or the
 *   key is absent, even if the process is killed mid-write. Putting a key that already
 *   exists is allowed and idempotent (content-addressed keys hold the same bytes).
 * - `get`/`getRange` of a missing key throw PfsError NOT_FOUND.
 * - `put(key, data, { defer: true })` may leave the object invisible and not yet durable
 *   until the next `sync()` resolves, which lets a store make many objects durable at
 *   once (one round of fsyncs instead of one per object). A deferred object never
 *   appears partially written. Stores whose puts are always durable need no `sync`.
 * - `delete` of a missing key is a no-op.
 * - `list` yields every key under the prefix, in no particular order.
 */
export interface ObjectStore {
  /** A short description for messages, e.g. `local:/root/.pfs/objects`. */
  readonly description: string
  put (key: string, data: Uint8Array, opts?: { defer?: boolean }): Promise<void>
  /** Makes deferred puts visible and durable: those of `keys`, or all of them. */
  sync? (keys?: string[]): Promise<void>
  /** Gives up deferred puts of `keys` not synced yet (a failed writer cleans up). */
  discard? (keys: string[]): Promise<void>
  get (key: string): Promise<Buffer>
  getRange (key: string, offset: number, length: number): Promise<Buffer>
  has (key: string): Promise<boolean>
  /** Size in bytes and last modification time, or undefined when no object is at the key (a folder is none). */
  stat (key: string): Promise<{ size: number, mtimeMs: number } | undefined>
  delete (key: string): Promise<void>
  list (prefix: string): AsyncIterable<string>
  /**
   * Removes leftovers of interrupted puts: those of writers known to be gone, and any
   * older than the given age (stores that leave any).
   */
  removeStaleTemp? (olderThanMs: number): Promise<number>
  close (): Promise<void>
}

const KEY_RE = /^[0-9a-z][0-9a-z._-]*(\/[0-9a-z][0-9a-z._-]*)*$/

export function checkKey (key: string): void {
  if (!KEY_RE.test(key)) throw new Error(`bad object key: ${JSON.stringify(key)}`)
}
