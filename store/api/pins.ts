/**
 * The upload protocol between writers and gc, and its time limits, in one place.
 *
 * 1. A writer asks `missing(ids)`. Ids the store already has are pinned: gc keeps them for
 *    PIN_MS even if nothing refers to them, and the writer trusts "the store has it" for
 *    TRUST_MS, well inside that, so it may refer to them without writing them again.
 * 2. It writes the objects the store lacks straight to the object store. They are not in
 *    the index yet, so gc cannot know them: it deletes an object the index does not list
 *    only once it is older than ORPHAN_MS (and so are temp files of interrupted puts).
 * 3. It registers what it wrote and refers to with `modify`, which checks that every chunk
 *    it refers to is indexed (CONFLICT otherwise: retry the put) and drops their pins.
 *
 * 4. A folder put too big for one `modify` sends its batches to a stage (`stage`), which no
 *    branch shows, and merges it into the branch with one `modify` at the end. A stage
 *    keeps what it refers to like a commit does, until it is merged or dropped, or for
 *    STAGE_MS after its last batch: then the put that made it is taken to be dead, and gc
 *    drops the stage and what only it reached.
 *
 * gc marks what commits and stages reach, then closes the gate: new `missing` calls wait,
 * the ones under way finish and pin first, so a chunk is never promised to a writer while
 * it is being deleted. Then it sweeps what is neither reachable nor pinned, and opens the
 * gate.
 */

const PIN_MS = 60 * 60 * 1000
export const TRUST_MS = 30 * 60 * 1000
export const ORPHAN_MS = 24 * 60 * 60 * 1000
export const STAGE_MS = 6 * 60 * 60 * 1000

/** The engine's side: pins, and the gate `missing` waits at while gc sweeps. In memory only. */
export class Pins {
  private readonly pinned = new Map<string, number>()
  private gate: Promise<void> | null = null
  private readonly lookups = new Set<Promise<unknown>>()

  constructor (private readonly now: () => number) {}

  /**
   * `missing`: `has` tells which ids the store has; those are pinned, the rest returned.
   * Waits while gc sweeps.
   */
  async missing (ids: string[], has: (ids: string[]) => Promise<boolean[]>): Promise<string[]> {
    while (this.gate !== null) await this.gate
    const lookup = (async () => {
      const found = await has(ids)
      const t = this.now()
      const out: string[] = []
      ids.forEach((id, i) => { if (found[i]) this.pinned.set(id, t); else out.push(id) })
      return out
    })()
    this.lookups.add(lookup)
    try {
      return await lookup
    } finally {
      this.lookups.delete(lookup)
    }
  }

  /** A change now refers to these chunks: the index keeps them from here on. */
  release (ids: Iterable<string>): void {
    for (const id of ids) this.pinned.delete(id)
  }

  /**
   * gc's sweep: closes the gate, lets lookups under way finish, drops pins older than
   * PIN_MS, and runs `fn` with the test for "pinned"; opens the gate again whatever happens.
   */
  async sweep<T> (fn: (isPinned: (id: string) => boolean) => Promise<T>): Promise<T> {
    let open!: () => void
    this.gate = new Promise<void>(resolve => { open = resolve })
    try {
      await Promise.allSettled([...this.lookups])
      const t = this.now()
      for (const [id, since] of this.pinned) if (t - since > PIN_MS) this.pinned.delete(id)
      return await fn(id => this.pinned.has(id))
    } finally {
      this.gate = null
      open()
    }
  }
}
