// Preloaded with `node --import` into a child process: when it exits, writes the
// CommonJS modules and native libraries it loaded to $PFS_LOADED_REPORT, as JSON, so a
// test can tell what a command pulled in (LevelDB's classic-level is both).
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'

const require = createRequire(import.meta.url)
process.on('exit', () => {
  const report = process.report.getReport()
  writeFileSync(process.env.PFS_LOADED_REPORT, JSON.stringify({ cjs: Object.keys(require.cache), shared: report.sharedObjects }))
})
