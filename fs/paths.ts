/**
 * What a path in the mount names:
 *   /                         the repos
 *   /<repo>                   its branches (and .commits)
 *   /<repo>/.commits          every commit id, newest first
 *   /<repo>/.commits/<id>/..  a commit, read-only (`history`)
 *   /<repo>/.provenance/<rev>/<input>   links to the input commits of a commit (provenance.ts)
 *   /<repo>/<rev>/...         a branch (writable) or any rev the CLI accepts (read-only)
 */
import Fuse from 'fuse-native'
import { Errno } from './errno.js'

export type MountPath =
  | { kind: 'root' }
  | { kind: 'repo', repo: string }
  | { kind: 'commits', repo: string }
  | ProvenancePath
  | ViewPath

/** `.provenance`, a rev in it, a link in that, or (`deeper`) a path below a link. */
export interface ProvenancePath { kind: 'provenance', repo: string, rev?: string, name?: string, deeper: boolean }

/**
 * A path inside a rev. `history` is true under `.commits/`, where every name is a commit
 * and never a branch; elsewhere the rev decides once resolved (a branch is writable).
 */
export interface ViewPath { kind: 'view', repo: string, rev: string, path: string, history: boolean }

export const COMMITS = '.commits'
export const PROVENANCE = '.provenance'

/** The longest name a folder holds, in bytes (as on a disk: `NAME_MAX`). */
const NAME_MAX = 255

export function parseMountPath (p: string): MountPath {
  const parts = p.split('/').filter(x => x !== '')
  // A byte count only where it can matter: no name of 85 characters or fewer is too long.
  if (parts.some(x => x.length > NAME_MAX / 3 && Buffer.byteLength(x) > NAME_MAX)) {
    throw new Errno(Fuse.ENAMETOOLONG)
  }
  if (parts.length === 0) return { kind: 'root' }
  const repo = parts[0]
  if (parts.length === 1) return { kind: 'repo', repo }
  if (parts[1] === PROVENANCE) {
    return { kind: 'provenance', repo, rev: parts[2], name: parts[3], deeper: parts.length > 4 }
  }
  if (parts[1] === COMMITS) {
    if (parts.length === 2) return { kind: 'commits', repo }
    return { kind: 'view', repo, rev: parts[2], path: parts.slice(3).join('/'), history: true }
  }
  return { kind: 'view', repo, rev: parts[1], path: parts.slice(2).join('/'), history: false }
}
