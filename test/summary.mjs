// Prints tap's totals as the plain closing line `N passed, N failed` and exits
// non-zero when any test failed (or when no totals were found at all). A second argument
// is the lint's exit status (`make lint`): it counts as one more check.
import { readFileSync } from 'node:fs'

const text = readFileSync(process.argv[2], 'utf8')
const m = [...text.matchAll(/^#\s*\{\s*total:\s*(\d+)(.*?)\}\s*$/gm)].pop()
if (!m) {
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const field = (name) => Number((new RegExp(`${name}:\\s*(\\d+)`).exec(m[2]) ?? [])[1] ?? 0)
const lint = process.argv[3]
const lintFailed = lint !== undefined && lint !== '0'
if (lintFailed) console.log('lint: failed (its problems are printed above the tests)')
const passed = field('pass') + (lint !== undefined && !lintFailed ? 1 : 0)
const failed = field('fail') + (lintFailed ? 1 : 0)
const skipped = field('skip') + field('todo')
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''))
process.exit(failed > 0 || passed === 0 ? 1 : 0)
