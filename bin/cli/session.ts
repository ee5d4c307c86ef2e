/**
 * Opening the store for one command: a running server if one answers, else the store
 * folder itself (openPfs decides). Every handler goes through `withPfs`, which closes the
 * store afterwards whatever happens.
 */
import type { Pfs } from '../../store/pfs.js'
import type { GlobalArgs } from './command.js'

export type Opener = (opts: { store?: string, server?: string, token?: string }) => Promise<Pfs>

// Loaded on first use, so `pfs --help` and usage errors never load the store.
let opener: Opener = async opts => {
  const { openPfs } = await import('../../store/open.js')
  return await openPfs(opts)
}

/** Replaces how the store is opened (tests, embedding). */
export function useOpener (o: Opener): void {
  opener = o
}

export async function withPfs<T> (argv: GlobalArgs, fn: (pfs: Pfs) => Promise<T>): Promise<T> {
  const pfs = await opener({ store: argv.store, server: argv.server, token: argv.token })
  try {
    return await fn(pfs)
  } finally {
    await pfs.close()
  }
}
