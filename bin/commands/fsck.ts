/**
 * `pfs fsck [--rebuild-index]`: reads every object back and checks every commit; exits 1
 * listing the problems if there are any. `--rebuild-index` first rebuilds the LevelDB
 * index from the object store alone.
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
    if (argv.json) {
      await json(rebuilt === undefined ? report : { rebuilt, ...report })
    } else {
      if (rebuilt) {
        await line(`rebuilt the index: ${rebuilt.repos} repos, ${rebuilt.commits} commits, ${rebuilt.objects} objects`)
      }
      const objects = `${report.objectsChecked} objects (${size(report.bytesChecked)})`
      await line(`checked ${objects} and ${report.commitsChecked} commits`)
      for (const p of report.problems) {
        const affects = p.commits?.length ? `; affects ${p.commits.join(', ')}` : ''
        await line(`  ${p.key}${p.object ? ` (${p.object})` : ''}: ${p.problem}${affects}`)
      }
    }
    const n = report.problems.length
    if (n > 0) throw corrupt(`${n} problem${n === 1 ? '' : 's'} found`, { problems: n })
  }
})
