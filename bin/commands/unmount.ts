/**
 * `pfs unmount [dir]`: asks the mounting process to stop cleanly (open files saved,
 * changed sessions committed); a mount whose process died is cleared.
 */
import path from 'node:path'
import { notFound, busy } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { json, line } from '../cli/output.js'
import { defaultMountDir, findMount, forgetMount, alive } from '../cli/mounts.js'

export default defineCommand({
  command: 'unmount [dir]',
  describe: 'stop a mount cleanly: open files are saved and changed write sessions committed',
  builder: y => y
    .positional('dir', { type: 'string', describe: 'mount point (default /pfs, or ~/pfs)' })
    .option('timeout', { type: 'number', default: 120, describe: 'seconds to wait for the mount to finish' }),
  handler: async argv => {
    const dir = path.resolve(argv.dir ?? await defaultMountDir())
    const { isMountPoint, lazyUnmount } = await import('../../fs/mount.js')
    const rec = await findMount(dir)
    if (rec !== undefined) {
      process.kill(rec.pid, 'SIGTERM')
      const deadline = Date.now() + argv.timeout * 1000
      while (alive(rec.pid) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
      if (alive(rec.pid)) {
        const what = `the mount at ${dir} (pid ${rec.pid})`
        throw busy(`${what} is still saving after ${argv.timeout}s; wait, or raise --timeout`, { dir })
      }
    } else if (await isMountPoint(dir)) {
      await lazyUnmount(dir)
    } else {
      await forgetMount(dir)
      throw notFound('mount', dir, 'nothing is mounted there')
    }
    await forgetMount(dir)
    if (argv.json) await json({ unmounted: dir })
    else await line(`unmounted ${dir}`)
  }
})
