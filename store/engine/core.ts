/**
 * What the engine's parts share, and all they get: reads, writes and maintenance are each
 * handed a `Core` (or the part of it they need), never the Engine. Every field is fixed
 * for the life of the store; mutable state sits behind methods (the index, `Pins`).
 */
import type { LimitFunction } from 'p-limit'
import type { ObjectStore } from '../objects/object-store.js'
import type { Pins } from '../api/pins.js'
import type { Db } from './index-db.js'
import type { NodeStore } from './node-store.js'

export interface Core {
  /** The LevelDB index: read freely, written only in synced batches (`writeBatch`). */
  readonly db: Db
  readonly objects: ObjectStore
  /** Metadata objects (trees, manifests, commits): cached reads, packed writes. */
  readonly nodes: NodeStore
  readonly pins: Pins
  /** Strictly increasing ms: commit times, journal order, and the time limits of `Pins`. */
  readonly clock: () => number
  /** State changes run one at a time under it. */
  readonly lock: LimitFunction
  readonly newCommitId: () => string
}
