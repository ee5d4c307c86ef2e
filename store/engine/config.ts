/**
 * `<store>/config.json`: the store's fixed settings, written on first use. The chunking
 * parameters decide every chunk id, so a store keeps the ones it was made with.
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import { corrupt } from '../api/errors.js'
import { validChunkParams } from '../format/chunker.js'

export const VERSION = '0.1.0'

export interface StoreFile { version: 1, chunking: { min: number, avg: number, max: number }, packThreshold: number }

const DEFAULTS: StoreFile = {
  version: 1,
  chunking: { min: 512 << 10, avg: 1 << 20, max: 4 << 20 },
  packThreshold: 256 << 10
}

/**
 * The settings in `file`, or new ones (`wanted`, else the defaults) when there is none. A
 * damaged file is an error, never silently replaced: other chunking settings would stop
 * deduplication against the data already stored.
 */
export async function loadConfig (file: string, wanted: Partial<Omit<StoreFile, 'version'>>): Promise<StoreFile> {
  let text: string
  const damaged = (why: string): Error => corrupt(`store settings ${file} ${why}; ` +
    'restore the file (it holds the chunking settings) or move the store aside', { file })
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EISDIR') throw damaged('are a folder, not a file')
    if (code !== 'ENOENT') throw e
    const cfg: StoreFile = {
      version: 1,
      chunking: wanted.chunking ?? DEFAULTS.chunking,
      packThreshold: wanted.packThreshold ?? DEFAULTS.packThreshold
    }
    const tmp = `${file}.tmp-${process.pid}`
    await writeFile(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 })
    await rename(tmp, file)
    return cfg
  }
  let cfg: unknown
  try {
    cfg = JSON.parse(text)
  } catch {
    throw damaged('are not valid JSON')
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw damaged('are not a JSON object')
  const c = cfg as Partial<StoreFile>
  if (c.version !== 1) {
    throw corrupt(`store settings ${file} have version ${JSON.stringify(c.version) ?? 'none'}; ` +
      'this pfs reads version 1 — upgrade pfs', { file })
  }
  const why = settingsProblem(c)
  if (why !== undefined) throw damaged(why)
  return c as StoreFile
}

function settingsProblem (c: Partial<StoreFile>): string | undefined {
  if (!validChunkParams(c.chunking)) {
    return `have bad chunking sizes ${JSON.stringify(c.chunking) ?? '(none)'} (64 <= min < avg < max <= 1 GiB)`
  }
  if (!Number.isSafeInteger(c.packThreshold) || (c.packThreshold as number) < 0) {
    return `have a bad packThreshold ${JSON.stringify(c.packThreshold) ?? '(none)'}`
  }
  return undefined
}
