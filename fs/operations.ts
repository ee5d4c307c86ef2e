/**
 * `PfsFs`: the mount's operations, syscall by syscall, as `Pfs` calls. Branch folders are
 * writable (every change goes into the branch's write session); everything else is
 * history and read-only (EROFS). The groups: files (file-ops.ts), names
 * (namespace-ops.ts), attributes (attr-ops.ts), over the state they share (state.ts).
 */
import type { Pfs } from '../store/index.js'
import { MountState, type FsOptions } from './state.js'
import { FileOps } from './file-ops.js'
import { NamespaceOps } from './namespace-ops.js'
import { AttrOps } from './attr-ops.js'

export type { FsOptions } from './state.js'

export class PfsFs {
  readonly state: MountState
  readonly files: FileOps
  readonly attrs: AttrOps
  readonly names: NamespaceOps

  constructor (pfs: Pfs, opts: FsOptions) {
    this.state = new MountState(pfs, opts)
    this.files = new FileOps(this.state)
    this.attrs = new AttrOps(this.state)
    this.names = new NamespaceOps(this.state, this.attrs)
  }

  /** Something outside this mount changed a repo. */
  invalidate (repo: string): void {
    this.state.invalidate(repo)
  }

  /** Uploads open files, then commits every session this mount changed. */
  async commitAll (message: string): Promise<string[]> {
    const { spools, opts } = this.state
    for (const s of spools.all()) {
      await spools.upload(s).catch(e => {
        opts.log(`pfs mount: could not save ${s.repo}@${s.branch}:${s.path}: ${(e as Error).message}`)
      })
    }
    return await this.state.sessions.commitAll(message)
  }
}
