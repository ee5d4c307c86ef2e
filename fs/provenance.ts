/**
 * Provenance by name: `/<repo>/.provenance/<rev>/` holds one symbolic link per input commit
 * of that commit, named after the input repo (`<repo>@<branch>` when a repo is read on two
 * branches), pointing at `/<input repo>/.commits/<commit>` by a relative path. So
 * `cd /pfs/score/.provenance/master/train` lands in the very commit of `train` that the
 * newest scores were made from, and `ls -l` shows the whole step up. A rev is anything a
 * repo folder takes (an id, a prefix, master~2); a branch with a job's session open shows
 * its head's. Everything here is read-only.
 */
import Fuse from 'fuse-native'
import type { CommitInfo } from '../store/index.js'
import { isPfsError } from '../store/index.js'
import { makeStat, type Stat } from './attrs.js'
import type { ProvenancePath } from './paths.js'
import type { MountState } from './state.js'
import { Errno } from './errno.js'

export class ProvenanceOps {
  constructor (private readonly m: MountState) {}

  async getattr (mp: ProvenancePath): Promise<Stat> {
    const now = Date.now()
    if (mp.rev === undefined) return makeStat('dir', 0, 0o555, now, this.m.ids)
    const c = await this.commit(mp.repo, mp.rev)
    const time = c.finished ?? c.started
    if (mp.name === undefined) return makeStat('dir', 0, 0o555, time, this.m.ids)
    const target = this.links(c).get(mp.name)
    if (target === undefined || mp.deeper) throw new Errno(Fuse.ENOENT)
    return makeStat('symlink', Buffer.byteLength(target), 0o777, time, this.m.ids)
  }

  async readdir (mp: ProvenancePath, commitIds: (repo: string) => Promise<string[]>): Promise<string[]> {
    if (mp.rev === undefined) return await commitIds(mp.repo)
    if (mp.name !== undefined) throw new Errno(Fuse.ENOTDIR)
    return [...this.links(await this.commit(mp.repo, mp.rev)).keys()]
  }

  async readlink (mp: ProvenancePath): Promise<string> {
    if (mp.rev === undefined || mp.name === undefined) throw new Errno(Fuse.EINVAL)
    const target = this.links(await this.commit(mp.repo, mp.rev)).get(mp.name)
    if (target === undefined || mp.deeper) throw new Errno(Fuse.ENOENT)
    return target
  }

  /** Link name -> target, relative to `/<repo>/.provenance/<rev>/`. */
  private links (c: CommitInfo): Map<string, string> {
    const inputs = c.provenance.inputs
    const twice = new Set(inputs.filter((x, i) => inputs.findIndex(y => y.repo === x.repo) !== i).map(x => x.repo))
    return new Map(inputs.map(i => [
      twice.has(i.repo) ? `${i.repo}@${i.branch}` : i.repo, `../../../${i.repo}/.commits/${i.commit}`
    ]))
  }

  private async commit (repo: string, rev: string): Promise<CommitInfo> {
    try {
      const r = await this.m.views.resolve(repo, rev)
      let c = r.commit
      if (c === null) throw new Errno(Fuse.ENOENT)
      // A session open on the branch has no provenance yet: its head's is the one to show.
      if (c.finished === null && c.parent !== null) c = await this.m.pfs.inspectCommit(repo, c.parent)
      return c
    } catch (e) {
      if (isPfsError(e, 'NOT_FOUND') || isPfsError(e, 'INVALID_ARGUMENT') || isPfsError(e, 'AMBIGUOUS')) {
        throw new Errno(Fuse.ENOENT)
      }
      throw e
    }
  }
}
