/**
 * The object store a configuration names: what a server sends its clients, so chunk
 * bytes go straight between a client and the store, never through the server.
 */
import type { ObjectStoreConfig } from '../api/meta.js'
import { invalidArgument } from '../api/errors.js'
import type { ObjectStore } from './object-store.js'
import { LocalObjectStore } from './local.js'

export function openObjectStore (cfg: ObjectStoreConfig): ObjectStore {
  switch (cfg.kind) {
    case 'local': return new LocalObjectStore(cfg.path)
    case 's3': throw invalidArgument('S3 stores are not supported yet', { objects: cfg })
    case 'memory':
      throw invalidArgument('this store keeps its objects in memory, in the process that opened it; ' +
        'other processes cannot reach them', { objects: cfg })
  }
}
