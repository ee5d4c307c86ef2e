// Prints tap's totals as the plain closing line `N passed, N failed` and exits
// non-zero when any test failed (or when no totals were found at all).
import { readFileSync } from 'node:fs'

const text = readFileSync(process.argv[2], 'utf8')
const m = [...text.matchAll(/^#\s*\{\s*total:\s*(\d+)(.*?)\}\s*$/gm)].pop()
if (!m) {
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const field = (name) => Number((new RegExp(`${name}:\\s*(\\d+)`).exec(m[2]) ?? [])[1] ?? 0)
const passed = field('pass')
const failed = field('fail')
const skipped = field('skip') + field('todo')
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''))
process.exit(failed > 0 || passed === 0 ? 1 : 0)
