/**
 * For the commands that own the store (`pfs serve`, and `pfs mount` when no server
 * runs): open the engine and serve its API on the store's socket (and TCP if asked).
 * Loaded on demand, so other commands never load LevelDB through bin/.
 */
import type { Engine } from '../../store/engine.js'
import type { RunningServer } from '../../store/server.js'

export interface OwnedStore {
  engine: Engine
  server: RunningServer
  /** Stops serving, then closes the store. */
  close: () => Promise<void>
}

/** One line to stderr: the `log` handed to the server and the mount. */
export function stderrLog (m: string): void {
  process.stderr.write(m.endsWith('\n') ? m : m + '\n')
}

export async function ownStore (store: string, opts: {
  command?: string
  listen?: { host: string, port: number }
  /** Called once the store is open (and so is ours): the TCP token, if any. */
  token?: () => Promise<string | undefined>
}): Promise<OwnedStore> {
  const { openEngine } = await import('../../store/engine.js')
  const { serve } = await import('../../store/server.js')
  const { socketPath } = await import('../../store/open.js')
  const engine = await openEngine(store, { command: opts.command })
  try {
    const server = await serve(engine, { socketPath: socketPath(store), listen: opts.listen, token: await opts.token?.(), log: stderrLog })
    return { engine, server, close: async () => { await server.close(); await engine.close() } }
  } catch (e) {
    await engine.close()
    throw e
  }
}
