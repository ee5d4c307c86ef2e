/**
 * Cron specs as Pachyderm's cron inputs take them: `@every 90s` (a Go-style duration:
 * `1h30m`, `45s`, `500ms`), `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`,
 * `@yearly` (`@annually`), or five fields `minute hour day-of-month month day-of-week`
 * (a sixth in front is seconds), each `*`, `n`, `a-b`, lists `a,b` and steps `*\/n`,
 * `a-b/n`; months and week days also by name (JAN, MON). Times are the machine's local
 * time; as in cron, when both day fields are restricted a day matching either one runs.
 */
import { invalidArgument } from '../store/index.js'
import { DURATION_RE, durationMs } from './duration.js'

export interface Cron {
  source: string
  /** The first tick strictly after `after` (ms since the epoch). */
  next (after: number): number
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *'
}
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']
/** A year and a bit of minutes: a spec with no tick in that long has none (Feb 30th). */
const HORIZON_MS = 5 * 366 * 24 * 3600 * 1000

interface Field { name: string, lo: number, hi: number, names?: string[] }
const FIELDS: Field[] = [
  { name: 'second', lo: 0, hi: 59 },
  { name: 'minute', lo: 0, hi: 59 },
  { name: 'hour', lo: 0, hi: 23 },
  { name: 'day of month', lo: 1, hi: 31 },
  { name: 'month', lo: 1, hi: 12, names: MONTHS },
  { name: 'day of week', lo: 0, hi: 7, names: DAYS }
]

export function parseCron (source: string): Cron {
  const bad = (why: string): Error => invalidArgument(`cron spec ${JSON.stringify(source)}: ${why}; ` +
    'write e.g. "@every 60s", "@daily" or "*/5 * * * *"', { cron: source })
  const text = source.trim()
  if (text.startsWith('@every')) {
    const d = text.slice(6).trim()
    const ms = DURATION_RE.test(d) ? durationMs(d)! : 0
    if (ms < 1000) throw bad('@every takes a duration of a second or more, such as 90s or 1h30m')
    return { source, next: after => after + ms }
  }
  const expanded = MACROS[text.toLowerCase()] ?? text
  if (expanded.startsWith('@')) throw bad(`unknown macro ${expanded.split(/\s/)[0]!}`)
  const parts = expanded.split(/\s+/)
  if (parts.length !== 5 && parts.length !== 6) throw bad(`has ${parts.length} fields, not 5 (or 6 with seconds)`)
  const all = parts.length === 5 ? ['0', ...parts] : parts
  const sets = all.map((p, i) => parseField(p, FIELDS[i]!, bad))
  const [sec, min, hour, dom, mon, dow] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>,
    Set<number>]
  if (dow.has(7)) dow.add(0)
  const domAny = all[3] === '*' || all[3] === '?'
  const dowAny = all[5] === '*' || all[5] === '?'
  const dayOk = (d: Date): boolean => {
    const a = dom.has(d.getDate())
    const b = dow.has(d.getDay())
    if (domAny && dowAny) return true
    if (domAny) return b
    if (dowAny) return a
    return a || b
  }
  const cron: Cron = {
    source,
    next: after => {
      const d = new Date(Math.floor(after / 1000) * 1000 + 1000)
      const end = after + HORIZON_MS
      while (d.getTime() <= end) {
        if (!mon.has(d.getMonth() + 1)) { d.setMonth(d.getMonth() + 1, 1); d.setHours(0, 0, 0); continue }
        if (!dayOk(d)) { d.setDate(d.getDate() + 1); d.setHours(0, 0, 0); continue }
        if (!hour.has(d.getHours())) { d.setHours(d.getHours() + 1, 0, 0); continue }
        if (!min.has(d.getMinutes())) { d.setMinutes(d.getMinutes() + 1, 0); continue }
        if (!sec.has(d.getSeconds())) { d.setSeconds(d.getSeconds() + 1); continue }
        return d.getTime()
      }
      throw bad('it never comes due')
    }
  }
  cron.next(Date.now()) // a spec with no tick at all (February 30th) is refused now, not at run time
  return cron
}

function parseField (text: string, f: Field, bad: (why: string) => Error): Set<number> {
  const out = new Set<number>()
  const value = (s: string): number => {
    const named = f.names?.indexOf(s.toUpperCase()) ?? -1
    const n = named >= 0 ? named + (f.name === 'month' ? 1 : 0) : /^\d+$/.test(s) ? Number(s) : NaN
    if (!(n >= f.lo && n <= f.hi)) throw bad(`${f.name} '${s}' is not between ${f.lo} and ${f.hi}`)
    return n
  }
  for (const item of text.split(',')) {
    const m = /^(\*|\?|[^/-]+(?:-[^/]+)?)(?:\/(\d+))?$/.exec(item)
    if (m === null) throw bad(`${f.name} '${item}' is not *, n, a-b or a list of them, with an optional /step`)
    const step = m[2] === undefined ? 1 : Number(m[2])
    if (step < 1) throw bad(`${f.name} step must be 1 or more`)
    let lo = f.lo
    let hi = f.hi
    if (m[1] !== '*' && m[1] !== '?') {
      const [a, b] = m[1]!.split('-') as [string, string | undefined]
      lo = value(a)
      hi = b === undefined ? (m[2] === undefined ? lo : f.hi) : value(b)
      if (hi < lo) throw bad(`${f.name} range '${m[1]!}' runs backwards`)
    }
    for (let n = lo; n <= hi; n += step) out.add(n)
  }
  return out
}
