/**
 * Datum logs in the index: every line a datum's command prints outlives the sandbox and
 * the runner. The runner sends lines in batches (`appendLogs`); each batch is one record
 *   lg <pipeline> <job created> <job> <seq>   LogEntry[]
 * so a pipeline's lines list oldest job first, in the order they were sent. Log batches
 * are written without a sync: a crash may lose the last lines, never a commit.
 */
import type * as M from '../api/meta.js'
import { invalidArgument } from '../api/errors.js'
import { type Db, k, range } from './index-db.js'

const SEP = '\x00'
const STREAMS: ReadonlySet<string> = new Set(['stdout', 'stderr', 'pfs'])
/** Longest line kept; a longer one is cut, saying so. */
const MAX_LINE = 64 * 1024
const MAX_BATCH = 10_000

export class Logs {
  /** Next batch number of each job this process has written to. */
  private readonly seqs = new Map<string, number>()

  constructor (private readonly db: Db, private readonly job: (id: string) => Promise<M.JobInfo>) {}

  async append (jobId: string, entries: M.LogEntry[]): Promise<void> {
    if (!Array.isArray(entries)) throw invalidArgument('appendLogs() takes a list of log lines')
    if (entries.length > MAX_BATCH) throw invalidArgument(`appendLogs() takes at most ${MAX_BATCH} lines a call`)
    const clean = entries.map(checkEntry)
    if (clean.length === 0) return
    const j = await this.job(jobId)
    const prefix = k('lg', j.pipeline, j.created, j.id)
    let seq = this.seqs.get(j.id)
    if (seq === undefined) {
      seq = 0
      for await (const [key] of range(this.db, prefix, { reverse: true, limit: 1 })) seq = Number(lastOf(key)) + 1
    }
    this.seqs.set(j.id, seq + 1)
    await this.db.put(k('lg', j.pipeline, j.created, j.id, seq), clean, { sync: false })
  }

  async read (q: M.LogQuery): Promise<M.Page<M.LogLine>> {
    if (q === null || typeof q !== 'object') throw invalidArgument('readLogs() takes a query object')
    const limit = Math.min(Math.max(1, Number(q.limit ?? 1000) || 1000), 100_000)
    let prefix = 'lg'
    if (q.job !== undefined) {
      const j = await this.job(q.job)
      if (q.pipeline !== undefined && q.pipeline !== j.pipeline) {
        throw invalidArgument(`job ${q.job} is a job of pipeline ${j.pipeline}, not ${q.pipeline}`)
      }
      prefix = k('lg', j.pipeline, j.created, j.id)
    } else if (q.pipeline !== undefined) {
      prefix = k('lg', String(q.pipeline))
    }
    const datum = q.datum === undefined ? undefined : String(q.datum)
    if (datum !== undefined && !/^[0-9a-f]{4,64}$/.test(datum)) {
      throw invalidArgument(`'${datum}' is not a datum id: give 4 to 64 hex digits (see \`pfs datum list\`)`)
    }
    const after = q.after === undefined ? undefined : fromCursor(String(q.after))
    if (after !== undefined && !after.startsWith(prefix + SEP)) {
      throw invalidArgument('that log cursor is of another query; start without one')
    }
    const out: M.LogLine[] = []
    let last: string | undefined
    for await (const [key, batch] of range<M.LogEntry[]>(this.db, prefix, { after })) {
      const [, pipeline, , job] = key.split(SEP)
      for (const e of batch) {
        if (datum === undefined || e.datum.startsWith(datum)) out.push({ ...e, job: job!, pipeline: pipeline! })
      }
      last = key
      if (out.length >= limit) break
    }
    // `next` is always given, so a follower can ask again from where it stopped.
    return { entries: out, next: last === undefined ? (q.after ?? '') : toCursor(last) }
  }

  /** The ops that drop every line of a pipeline's jobs. */
  async dropOps (pipeline: string): Promise<Array<{ type: 'del', key: string }>> {
    const ops: Array<{ type: 'del', key: string }> = []
    for await (const [key] of range(this.db, k('lg', pipeline))) ops.push({ type: 'del', key })
    return ops
  }
}

const lastOf = (key: string): string => key.slice(key.lastIndexOf(SEP) + 1)
/** A key as a cursor users can pass around: its parts joined by '/' (no part holds one). */
const toCursor = (key: string): string => key.split(SEP).slice(1).join('/')
const fromCursor = (c: string): string => {
  const parts = c.split('/')
  if (c === '' || parts.some(p => p === '' || p.includes(SEP))) {
    throw invalidArgument(`bad log cursor '${c.slice(0, 80)}'; start without one`)
  }
  return ['lg', ...parts].join(SEP)
}

function checkEntry (e: M.LogEntry): M.LogEntry {
  if (e === null || typeof e !== 'object') throw invalidArgument('a log line is an object {datum, stream, line, ...}')
  if (typeof e.datum !== 'string' || !/^([0-9a-f]{64})?$/.test(e.datum)) {
    throw invalidArgument('a log line names its datum by id (64 hex digits, or \'\' for the job)')
  }
  if (!STREAMS.has(e.stream)) {
    throw invalidArgument(`a log line's stream is stdout, stderr or pfs, not ${String(e.stream)}`)
  }
  if (typeof e.line !== 'string') throw invalidArgument('a log line needs its text')
  const paths = Array.isArray(e.paths) ? e.paths.filter(p => typeof p === 'string') : []
  const line = e.line.length > MAX_LINE ? `${e.line.slice(0, MAX_LINE)} [line cut at ${MAX_LINE} characters]` : e.line
  const time = Number.isFinite(e.time) ? e.time : Date.now()
  const attempt = Number.isSafeInteger(e.attempt) && e.attempt > 0 ? e.attempt : 1
  return { datum: e.datum, paths, stream: e.stream, line, time, attempt }
}
