/**
 * `pfs fsck [--rebuild-index]`: reads every object back and checks every commit; exits 1
 * listing the problems if there are any. `--rebuild-index` first rebuilds the LevelDB
 * index from the object store alone, skipping (and listing) damaged files; what it skipped
 * counts as problems, so the exit is 1 until the damage is dealt with.
 */
import { corrupt } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { progressLine } from '../cli/progress.js'
import { json, line, size } from '../cli/output.js'

export default defineCommand({
  command: 'fsck',
  describe: 'check the store: every object readable and intact, every commit complete',
  builder: y => y
    .option('rebuild-index', {
      type: 'boolean', default: false, describe: 'rebuild the index from the object store first'
    })
    .example('pfs fsck', '')
    .example('pfs fsck --rebuild-index', 'after losing or damaging the index'),
  handler: async argv => {
    const progress = progressLine(argv)
    const { rebuilt, report } = await withPfs(argv, async pfs => ({
      rebuilt: argv.rebuildIndex ? await pfs.rebuildIndex({ onProgress: progress.onProgress }) : undefined,
      report: await pfs.fsck({ onProgress: progress.onProgress })
    }), { repairIndex: argv.rebuildIndex }).finally(() => progress.end())
    // fsck finds a skipped journal file again; name and count each damaged file once.
    const skippedKeys = new Set(rebuilt?.skipped.map(s => s.key))
    const found = new Set(report.problems.map(p => p.key))
    const n = report.problems.length + (rebuilt?.skipped.filter(s => !found.has(s.key)).length ?? 0)
    if (argv.json) {
      await json(rebuilt === undefined ? report : { rebuilt, ...report })
    } else {
      if (rebuilt) {
        await line(`rebuilt the index: ${rebuilt.repos} repos, ${rebuilt.commits} commits, ${rebuilt.objects} objects`)
        if (rebuilt.skipped.length > 0) await line(`skipped ${rebuilt.skipped.length} damaged:`)
        for (const s of rebuilt.skipped) await line(`  ${s.key}: ${s.problem}`)
      }
      const objects = `${report.objectsChecked} objects (${size(report.bytesChecked)})`
      await line(`checked ${objects} and ${report.commitsChecked} commits`)
      for (const p of report.problems.filter(p => !skippedKeys.has(p.key))) {
        const affects = p.commits?.length ? `; affects ${p.commits.join(', ')}` : ''
        await line(`  ${p.key}${p.object ? ` (${p.object})` : ''}: ${p.problem}${affects}`)
      }
    }
    if (n > 0) throw corrupt(`${n} problem${n === 1 ? '' : 's'} found`, { problems: n })
  }
})
