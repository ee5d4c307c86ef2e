/**
 * Opening the store for one command: a running server if one answers, else the store
 * folder itself (openPfs decides). Every handler goes through `withPfs`, which closes the
 * store afterwards whatever happens.
 */
import type { Pfs } from '../../store/index.js'
import type { GlobalArgs } from './command.js'

export async function withPfs<T> (
  argv: GlobalArgs, fn: (pfs: Pfs) => Promise<T>, opts: { repairIndex?: boolean } = {}
): Promise<T> {
  // Loaded on first use, so `pfs --help` and usage errors never load the store.
  const { openPfs } = await import('../../store/index.js')
  const pfs = await openPfs({ store: argv.store, server: argv.server, token: argv.token, ...opts })
  try {
    return await fn(pfs)
  } finally {
    await pfs.close()
  }
}
