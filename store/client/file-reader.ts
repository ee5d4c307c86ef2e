/**
 * Positional reads of one file (what a FUSE `read` asks for): finds the chunks under a
 * range by binary search, fetches them through the shared ChunkReader cache, and when
 * reads run forward, fetches the next chunks ahead so a sequential reader never waits
 * on the object store. Nothing is downloaded on open.
 */
import type { FileInfo } from '../api/meta.js'
import type { OpenFile } from '../api/pfs.js'
import { lastAtOrBefore } from '../format/bisect.js'
import type { ChunkReader, PlannedChunk } from './chunk-reader.js'

/** Bytes fetched ahead of a sequential reader: enough chunk reads in flight to keep the disk busy. */
const READ_AHEAD_BYTES = 16 << 20

export class FileReader implements OpenFile {
  private readonly starts: number[]
  readonly size: number
  private lastEnd = -1

  constructor (readonly info: FileInfo, private readonly chunks: PlannedChunk[], private readonly reader: ChunkReader) {
    this.starts = []
    let pos = 0
    for (const c of chunks) { this.starts.push(pos); pos += c.size }
    this.size = pos
  }

  /** Index of the chunk holding byte `pos`. */
  private at (pos: number): number {
    return Math.max(0, lastAtOrBefore(this.starts.length, i => this.starts[i] - pos))
  }

  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  async read (offset: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, offset + length)
    if (offset >= end) return Buffer.alloc(0)
    const first = this.at(offset)
    const last = this.at(end - 1)
    const sequential = offset === this.lastEnd
    this.lastEnd = end
    if (sequential) {
      let ahead = 0
      for (let i = last + 1; i < this.chunks.length && ahead < READ_AHEAD_BYTES; i++) {
        this.reader.read(this.chunks[i].id, this.chunks[i].loc).catch(() => {})
        ahead += this.chunks[i].size
      }
    }
    const parts: Buffer[] = []
    for (let i = first; i <= last; i++) {
      const data = await this.reader.read(this.chunks[i].id, this.chunks[i].loc)
      const from = Math.max(0, offset - this.starts[i])
      const to = Math.min(data.length, end - this.starts[i])
      parts.push(data.subarray(from, to))
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
  }
}
