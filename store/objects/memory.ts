/**
 * Objects in a Map: for tests and embedding. Keeps the contract to the letter (deferred
 * puts stay invisible until `sync`, reads return copies), so a suite run on it and on the
 * local folder catches assumptions only a disk happens to satisfy. Lives and dies with
 * its process: a remote client cannot reach it.
 */
import { type ObjectStore, checkKey } from './object-store.js'
import { notFound } from '../api/errors.js'

interface Stored { data: Buffer, mtimeMs: number }

export class MemoryObjectStore implements ObjectStore {
  readonly description = 'memory'
  private readonly objects = new Map<string, Stored>()
  private readonly deferred = new Map<string, Stored>()

  constructor (private readonly now: () => number = Date.now) {}

  async put (key: string, data: Uint8Array, opts: { defer?: boolean } = {}): Promise<void> {
    checkKey(key)
    const obj = { data: Buffer.from(data), mtimeMs: this.now() }
    if (opts.defer === true) this.deferred.set(key, obj)
    else this.objects.set(key, obj)
  }

  async sync (keys?: string[]): Promise<void> {
    for (const key of keys ?? [...this.deferred.keys()]) {
      const obj = this.deferred.get(key)
      if (obj === undefined) continue
      this.deferred.delete(key)
      this.objects.set(key, obj)
    }
  }

  async get (key: string): Promise<Buffer> {
    return Buffer.from(this.find(key).data)
  }

  async getRange (key: string, offset: number, length: number): Promise<Buffer> {
    return Buffer.from(this.find(key).data.subarray(offset, offset + length))
  }

  async has (key: string): Promise<boolean> {
    checkKey(key)
    return this.objects.has(key)
  }

  async stat (key: string): Promise<{ size: number, mtimeMs: number } | undefined> {
    checkKey(key)
    const obj = this.objects.get(key)
    return obj === undefined ? undefined : { size: obj.data.length, mtimeMs: obj.mtimeMs }
  }

  async delete (key: string): Promise<void> {
    checkKey(key)
    this.objects.delete(key)
  }

  async * list (prefix: string): AsyncIterable<string> {
    for (const key of [...this.objects.keys()]) if (key.startsWith(prefix)) yield key
  }

  async close (): Promise<void> {}

  private find (key: string): Stored {
    checkKey(key)
    const obj = this.objects.get(key)
    if (obj === undefined) throw notFound('object', key, 'the store may be damaged; run `pfs fsck`')
    return obj
  }
}
