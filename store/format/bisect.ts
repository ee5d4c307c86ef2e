/**
 * Binary search over anything sorted: the pages of a large folder (by first name), the
 * entries of a folder page (by name), a file's chunks (by start offset).
 */

/**
 * The last index `i` in [0, n) whose item is at or before the target, where `cmp(i)` is
 * negative, zero or positive as item `i` is before, at or after it; -1 when none is.
 *
 * @example
 *   lastAtOrBefore(starts.length, i => starts[i] - pos)   // the chunk holding byte `pos`
 */
export function lastAtOrBefore (n: number, cmp: (i: number) => number): number {
  let lo = 0
  let hi = n - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (cmp(mid) <= 0) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return found
}
