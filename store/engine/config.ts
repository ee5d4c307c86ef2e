/**
 * `<store>/config.json`: the store's fixed settings, written on first use. The chunking
 * parameters decide every chunk id, so a store keeps the ones it was made with.
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import { corrupt } from '../api/errors.js'

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
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    const cfg: StoreFile = {
      version: 1,
      chunking: wanted.chunking ?? DEFAULTS.chunking,
      packThreshold: wanted.packThreshold ?? DEFAULTS.packThreshold
    }
    const tmp = `${file}.tmp-${process.pid}`
    await writeFile(tmp, JSON.stringify(cfg, null, 2) + '\n')
    await rename(tmp, file)
    return cfg
  }
  let cfg: StoreFile
  try {
    cfg = JSON.parse(text) as StoreFile
  } catch {
    throw corrupt(`store settings ${file} are not valid JSON; ` +
      'restore the file (it holds the chunking settings) or move the store aside', { file })
  }
  if (cfg.version !== 1) {
    throw corrupt(`store settings ${file} have version ${String(cfg.version)}; this pfs reads version 1 — upgrade pfs`,
      { file })
  }
  return cfg
}
