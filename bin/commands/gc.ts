/** `pfs gc [--dry-run]`: deletes objects no commit or session refers to. */
import { defineCommand } from '../cli/command.js'
import { withPfs } from '../cli/session.js'
import { progressLine } from '../cli/progress.js'
import { json, line, size } from '../cli/output.js'

export default defineCommand({
  command: 'gc',
  describe: 'delete unreferenced chunks and repack half-empty packs',
  builder: y => y
    .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'only report what would be deleted' })
    .example('pfs gc --dry-run', '')
    .example('pfs gc', ''),
  handler: async argv => {
    const progress = progressLine(argv)
    const r = await withPfs(argv, pfs => pfs.gc({ dryRun: argv.dryRun, onProgress: progress.onProgress }))
      .finally(() => progress.end())
    if (argv.json) return await json(r)
    const verb = r.dryRun ? 'would delete' : 'deleted'
    const kept = `repacked ${r.repackedPacks} packs, kept ${r.keptObjects} objects`
    await line(`${verb} ${r.deletedObjects} objects (${size(r.freedBytes)}), ${kept}`)
  }
})
