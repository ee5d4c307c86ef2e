// Lint rules that keep the layers honest (see store/README.md and each layer's README):
// no import cycles, imports only downwards and through store/index.ts, LevelDB only in
// the engine's index module, no unused code, lines near 120. Run by `make lint` (and so
// by `make test`). Unused exports and files are knip's job (knip.json).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import importX from 'eslint-plugin-import-x'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import stylistic from '@stylistic/eslint-plugin'

/** A layer (a folder of store/) may import only the folders listed for it. */
const STORE_LAYERS = {
  api: [],
  objects: ['api'],
  format: ['api', 'objects'],
  tree: ['api', 'format'],
  engine: ['api', 'objects', 'format', 'tree'],
  client: ['api', 'objects', 'format'],
  rpc: ['api']
}
const FOLDERS = Object.keys(STORE_LAYERS)

const storeZones = Object.entries(STORE_LAYERS).flatMap(([layer, may]) => [
  ...FOLDERS.filter(f => f !== layer && !may.includes(f)).map(f => ({
    target: `./store/${layer}`,
    from: `./store/${f}`,
    message: `store/${layer} may import only ${may.length === 0 ? 'itself' : may.map(m => `store/${m}`).join(', ')}`
  })),
  { target: `./store/${layer}`, from: './store/open.ts', message: 'open.ts sits above every layer' },
  { target: `./store/${layer}`, from: './store/index.ts', message: 'index.ts is the door for bin/, fs/ and runner/, not for the store itself' }
])

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tap/**', 'bench/.data/**'] },
  // A disable comment must name a rule that would fire there.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly' } }
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX, '@stylistic': stylistic },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.check.json' })]
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `interface X extends Y {}` declares the methods a class gets from Y at run time.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      'no-restricted-imports': ['error', { paths: [{ name: 'level', message: 'only store/engine/index-db.ts opens LevelDB' }] }]
    }
  },
  {
    files: ['store/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', {
        zones: [
          ...storeZones,
          { target: './store/engine/maintenance', from: './store/engine/engine.ts', message: 'maintenance gets the engine\'s Core, not the Engine' },
          { target: './store', from: ['./bin', './fs', './runner', './bench', './test'], message: 'store/ never imports the layers above it' }
        ]
      }]
    }
  },
  {
    files: ['bin/**/*.ts', 'fs/**/*.ts', 'runner/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', {
        zones: [
          { target: ['./bin', './fs', './runner', './bench'], from: './store', except: ['./index.ts'], message: 'use store/index.ts, the store\'s one door' },
          { target: ['./fs', './runner'], from: './bin', message: 'dependencies point down: bin -> fs, runner -> store' },
          { target: './fs', from: './runner', message: 'fs/ and runner/ do not import each other' },
          { target: './bin', from: './runner', except: ['./index.ts'], message: 'use runner/index.ts, the runner\'s one door' },
          { target: './runner', from: './fs', message: 'fs/ and runner/ do not import each other' }
        ]
      }]
    }
  },
  {
    files: ['store/engine/index-db.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' }
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests poke at shapes the types do not promise (bad input on purpose).
      '@typescript-eslint/no-explicit-any': 'off',
      // tap awaits the subtests a file starts; `t.test(...)` at the top level is its idiom.
      '@typescript-eslint/no-floating-promises': 'off',
      // A test's name and its assertion messages are whole sentences.
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true }]
    }
  }
)
