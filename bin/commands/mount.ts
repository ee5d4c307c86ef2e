/**
 * `pfs mount [dir]`: /pfs as a git-like file system, in the foreground until Ctrl-C,
 * SIGTERM or `pfs unmount`. When no server runs, the mount owns the store and serves the
 * API on the store's socket, so every other `pfs` command works meanwhile.
 */
import os from 'node:os'
import path from 'node:path'
import { invalidArgument } from '../../store/index.js'
import { defineCommand } from '../cli/command.js'
import { json, line, stderrLog } from '../cli/output.js'
import { stopSignal } from '../cli/signals.js'
import { defaultMountDir, recordMount, forgetMount, runtimeDir } from '../cli/mounts.js'
import { startRunner } from '../cli/jobs-here.js'

export default defineCommand({
  command: 'mount [dir]',
  describe: 'mount the store: /pfs/<repo>/<branch>/ (writable), /pfs/<repo>/<rev>/ and .commits/ (history)',
  builder: y => y
    .positional('dir', { type: 'string', describe: 'mount point (default /pfs, or ~/pfs when /pfs cannot be made)' })
    .option('idle-commit', {
      type: 'number', describe: 'commit a branch\'s session after this many seconds with no open writer and no change'
    })
    .option('cache-size', {
      type: 'string',
      default: '32M',
      describe: 'memory for cached chunks (e.g. 512M, 2G); a local store is also cached by the kernel, ' +
        'so more helps most with a remote server or S3'
    })
    .option('runner', {
      type: 'boolean',
      default: true,
      describe: 'run pipeline jobs in this process while it owns the store (--no-runner: leave them queued)'
    })
    .option('allow-other', {
      type: 'boolean',
      default: false,
      describe: 'let other users use the mount, with permission bits checked by the kernel ' +
        '(needs user_allow_other in /etc/fuse.conf unless root)'
    })
    .example('pfs mount', 'then: ls /pfs; cd /pfs/images/master~3; cp x.png /pfs/images/master/')
    .example('pfs mount ~/data --idle-commit 60', 'commit a minute after the last write'),
  handler: async argv => {
    const idle = argv.idleCommit
    if (idle !== undefined && !(Number.isFinite(idle) && idle > 0)) {
      throw invalidArgument(`--idle-commit ${String(idle)}: give a number of seconds above 0`)
    }
    const cacheBytes = parseSize(argv.cacheSize)
    if (cacheBytes < MIN_CACHE || cacheBytes > os.totalmem()) {
      const most = `${Math.floor(os.totalmem() / 2 ** 20)}M`
      const range = `give between 1M and this machine's memory (${most})`
      throw invalidArgument(`--cache-size ${argv.cacheSize} is out of range: ${range}`)
    }
    const dir = path.resolve(argv.dir ?? await defaultMountDir())
    const { storeDir, shareStore } = await import('../../store/index.js')
    const { mountPfs } = await import('../../fs/mount.js')
    const store = storeDir({ store: argv.store })
    const shared = await shareStore({
      store, server: argv.server, token: argv.token, cacheBytes, command: `mount ${dir}`, log: stderrLog
    })
    try {
      const m = await mountPfs(shared.pfs, dir, {
        spoolDir: path.join(await runtimeDir(), `spool-${process.pid}`),
        statfsPath: store,
        idleCommitMs: idle === undefined ? undefined : idle * 1000,
        allowOther: argv.allowOther,
        log: stderrLog
      })
      shared.onChange(repo => m.fs.invalidate(repo))
      // Owning the store, this process runs the pipelines too; the sandboxes read through this mount.
      const runner = shared.server !== undefined && argv.runner
        ? await startRunner(shared.pfs, shared.onChange, dir)
        : undefined
      await recordMount(dir, store)
      if (argv.json) await json({ mounted: dir, store, mode: shared.pfs.mode })
      else {
        const where = `${dir}${argv.dir === undefined ? ' (the default)' : ''}`
        await line(`mounted ${store} at ${where}; stop with Ctrl-C or \`pfs unmount ${dir}\``)
      }
      await stopSignal()
      await runner?.stop()
      const committed = await m.unmount()
      await forgetMount(dir)
      if (!argv.json) for (const c of committed) await line(`committed ${c}`)
      if (!argv.json) await line(`unmounted ${dir}`)
    } finally {
      await shared.close()
      // Every stop path ends the process: should a native handle still hold the event loop
      // (a mount detached from outside), this unref'd timer ends it once all is saved.
      setTimeout(() => process.exit(), 2000).unref()
    }
  }
})

/** Below one chunk's worth the cache holds nothing useful; above the machine's memory is a typo. */
const MIN_CACHE = 1 << 20

/** `1048576`, `512K`, `256M`, `2G`. */
function parseSize (s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(s.trim())
  if (m === null) throw invalidArgument(`--cache-size '${s}' is not a size; use e.g. 512M or 2G`)
  const units = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 }
  const mult = units[m[2].toLowerCase() as keyof typeof units]
  return Math.floor(Number(m[1]) * mult)
}
