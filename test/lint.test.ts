/**
 * The linter keeps the layers honest only while its rules fire. Each case lints a real file
 * of the repo with one bad import added (ESLint's lintText, the file's own path), and
 * expects the rule that refuses it; `make lint` checks that the real files are clean.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
// With CI=true, typescript-eslint assumes one run over files as they are on disk and builds
// its TypeScript program once; these cases lint changed text, so it must not.
process.env.TSESTREE_SINGLE_RUN = 'false'
const eslint = new ESLint({ cwd: ROOT })

async function ruleIds (file: string, extra: string): Promise<string[]> {
  const text = readFileSync(path.join(ROOT, file), 'utf8') + extra
  const [result] = await eslint.lintText(text, { filePath: path.join(ROOT, file) })
  return result.messages.map(m => m.ruleId ?? m.message)
}

t.test('the linter refuses cycles, imports across layers and LevelDB outside the engine', async t => {
  t.same(await ruleIds('store/engine/records.ts', ''), [], 'a real file as it is: clean')
  t.ok((await ruleIds('store/engine/records.ts', "import { Writer } from './writes.js'\nexport const W = Writer\n"))
    .includes('import-x/no-cycle'), 'a cycle (records -> writes -> records)')
  t.ok((await ruleIds('fs/attrs.ts', "import '../store/api/meta.js'\n"))
    .includes('import-x/no-restricted-paths'), 'fs/ reaching past store/index.ts')
  t.ok((await ruleIds('store/api/names.ts', "import '../engine/clock.js'\n"))
    .includes('import-x/no-restricted-paths'), 'a lower layer importing a higher one')
  t.ok((await ruleIds('store/engine/maintenance/du.ts', "import '../engine.js'\n"))
    .includes('import-x/no-restricted-paths'), 'maintenance importing the Engine instead of its Core')
  t.ok((await ruleIds('store/client/get-local.ts', "import 'level'\n"))
    .includes('no-restricted-imports'), 'LevelDB outside store/engine/index-db.ts')
  t.ok((await ruleIds('bin/cli/dash.ts', `export const LONG = '${'x'.repeat(130)}'\n`))
    .includes('@stylistic/max-len'), 'a line over 120 columns')
  t.ok((await ruleIds('bin/cli/dash.ts', 'const unused = 1\n'))
    .includes('@typescript-eslint/no-unused-vars'), 'unused code')
})
