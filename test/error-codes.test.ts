/**
 * Every PfsError code is thrown somewhere: the CLI, the mount and the wire each map every
 * code, and a code nothing throws is a mapping nobody can test (isomorphic-git keeps the
 * same check). Reads the source, so a code can only be dropped together with its uses.
 */
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ERRORS = path.join(ROOT, 'store/api/errors.ts')

function sources (dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(rel))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path.join(ROOT, rel))
  }
  return out
}

t.test('every error code is thrown by some code, and every factory is used', async t => {
  const errors = readFileSync(ERRORS, 'utf8')
  const union = /export type PfsErrorCode =([^]*?)\n\n/.exec(errors)?.[1] ?? ''
  const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map(m => m[1])
  t.ok(codes.length >= 10, `${codes.length} codes found in the union`)
  const factories = [...errors.matchAll(/export const (\w+) = \([^)]*\): PfsError =>\s*new PfsError\('([A-Z_]+)'/g)]
    .map(m => ({ name: m[1], code: m[2] }))
  t.ok(factories.length >= 5, `${factories.length} factories found`)
  const code = [...sources('store'), ...sources('fs'), ...sources('bin')].filter(f => f !== ERRORS)
    .map(f => readFileSync(f, 'utf8')).join('\n')
  for (const c of codes) {
    const direct = new RegExp(`new PfsError\\(\\s*'${c}'`).test(code)
    const viaFactory = factories.some(f => f.code === c && new RegExp(`\\b${f.name}\\(`).test(code))
    t.ok(direct || viaFactory, `${c} is thrown somewhere`)
  }
  for (const f of factories) t.ok(new RegExp(`\\b${f.name}\\(`).test(code), `${f.name}() is used`)
})
