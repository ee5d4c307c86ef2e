/** Reading a pipeline spec named on the command line: a file, or `-` for stdin. */
import { promises as fsp } from 'node:fs'
import { invalidArgument } from '../../store/index.js'
import { type PipelineSpec, parseSpec } from '../../runner/index.js'
import { STDIN } from './dash.js'

export async function readSpec (file: string): Promise<PipelineSpec> {
  if (file === STDIN) {
    const parts: Buffer[] = []
    for await (const part of process.stdin) parts.push(part as Buffer)
    return parseSpec(Buffer.concat(parts).toString('utf8'), 'on stdin')
  }
  let text: string
  try {
    text = await fsp.readFile(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code})`
    throw invalidArgument(`pipeline spec ${file} ${why}; give the spec's file, or - for stdin`, { file })
  }
  return parseSpec(text, file)
}
