/**
 * Local files named on the command line, checked before the store is touched so that a
 * typo gives one clear line instead of a half-done command.
 */
import { promises as fsp, type Stats } from 'node:fs'
import path from 'node:path'
import { notFound, invalidArgument } from '../../store/index.js'

/** Stats a local file or folder the user named; NOT_FOUND "local file 'x' not found". */
export async function statLocal (p: string): Promise<Stats> {
  try {
    return await fsp.stat(p)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw notFound('local file', p)
    }
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      const why = 'is a loop of symbolic links; point at a real file or folder'
      throw invalidArgument(`local path '${p}' ${why}`, { path: p })
    }
    if ((e as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
      throw invalidArgument(`local path '${p.slice(0, 60)}…' is too long a name for this system`, { path: p })
    }
    throw e
  }
}

/** Stats a local path that may not exist yet (a destination). */
export async function statMaybe (p: string): Promise<Stats | undefined> {
  return await fsp.stat(p).catch(() => undefined)
}

/** The name a local file or folder goes by: `./data/` → `data`, `.` → the cwd's name. */
export function localName (p: string): string {
  return path.basename(path.resolve(p))
}

/**
 * Checks where `pfs get` will write: the parent folder exists, and an existing `dest`
 * is of the right kind (a folder for a folder; a folder is never replaced by a file).
 */
export async function checkDestination (dest: string, isDir: boolean): Promise<void> {
  const parent = path.dirname(path.resolve(dest))
  const ps = await statMaybe(parent)
  if (ps === undefined) throw notFound('local folder', parent)
  if (!ps.isDirectory()) throw invalidArgument(`local path '${parent}' is not a folder`, { path: parent })
  const st = await statMaybe(dest)
  if (st === undefined) return
  if (isDir && !st.isDirectory()) {
    throw invalidArgument(`local path '${dest}' exists and is not a folder`, { path: dest })
  }
  if (!isDir && st.isDirectory()) throw invalidArgument(`local path '${dest}' is a folder`, { path: dest })
}
