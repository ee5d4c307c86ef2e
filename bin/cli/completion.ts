/**
 * Shell completion: `pfs completion` prints yargs' script for bash, or for zsh when $SHELL
 * is zsh; the script asks `pfs --get-yargs-completions <words>` at each TAB. Commands and
 * options come from yargs; where a command takes an address, this adds `repo@branch` for
 * every branch of every repo (and plain repo names where a command takes a repo). Nothing
 * is ever printed but candidates: a store that cannot be read completes nothing.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import type { Pfs } from '../../store/index.js'

/** Positionals that are addresses, per command: how many (put's second is a local file). */
const ADDRESSES: Record<string, number> = {
  put: 1, get: 1, cat: 1, ls: 1, rm: 1, cp: 2, log: 1, diff: 2, inspect: 1,
  start: 1, commit: 1, abort: 1, 'branch create': 1, 'branch delete': 1
}
/** Positionals that are repo names. */
const REPOS: Record<string, number> = { 'repo inspect': 1, 'repo delete': 1, 'branch list': 1, du: 1 }
const GROUPS = new Set(['repo', 'branch'])
const MAX_CANDIDATES = 2000

interface CompletionArgv { _: Array<string | number>, store?: string, server?: string, token?: string }

/** The command typed (`put`, `branch create`) and which of its positionals is being typed. */
function where (current: string, argv: CompletionArgv): { command: string, position: number } {
  const words = argv._.map(String).filter((w, i) => !(i === 0 && w === 'pfs'))
  if (words.length > 0 && words.at(-1) === current) words.pop()
  const command = GROUPS.has(words[0] ?? '') ? words.slice(0, 2).join(' ') : words[0] ?? ''
  return { command, position: words.length - command.split(' ').length }
}

/** True where a local file is typed (put's source): the shell's own file completion is best. */
export function wantsLocalPath (current: string, argv: CompletionArgv): boolean {
  const { command, position } = where(current, argv)
  return !current.startsWith('-') && command === 'put' && position === 1
}

/** Addresses or repo names for the word being typed (`current`), given the words before it. */
export async function completeWord (current: string, argv: CompletionArgv): Promise<string[]> {
  if (current.startsWith('-')) return []
  const { command, position } = where(current, argv)
  const wantsAddress = position < (ADDRESSES[command] ?? 0)
  const wantsRepo = position < (REPOS[command] ?? 0)
  if (!wantsAddress && !wantsRepo) return []
  try {
    return await withStore(argv, async pfs => {
      const repos = (await pfs.listRepos()).filter(r => r.name.startsWith(current.split('@')[0]))
      if (wantsRepo) return repos.map(r => r.name)
      const out: string[] = []
      for (const r of repos) {
        out.push(r.name)
        for (const b of r.branches) out.push(`${r.name}@${b}`)
      }
      return out.filter(c => c.startsWith(current)).slice(0, MAX_CANDIDATES)
    })
  } catch {
    // Completion never complains: an unreadable or busy store just completes nothing.
    return []
  }
}

/** Opens the store only if one is there (completion must never create one). */
async function withStore (argv: CompletionArgv, fn: (pfs: Pfs) => Promise<string[]>): Promise<string[]> {
  const { openPfs, storeDir } = await import('../../store/index.js')
  const store = storeDir({ store: argv.store })
  const remote = (argv.server ?? process.env.PFS_SERVER ?? '') !== ''
  if (!remote && !await fsp.stat(path.join(store, 'config.json')).then(() => true, () => false)) return []
  const pfs = await openPfs({ store, server: argv.server, token: argv.token })
  try {
    return await fn(pfs)
  } finally {
    await pfs.close()
  }
}
