/** Go-style durations, as Pachyderm's specs write them: "30s", "5m", "1h30m", "500ms". */
export const DURATION_RE = /^(\d+(\.\d+)?(h|m|s|ms))+$/

/** Milliseconds of a duration such as "1h30m" or "45s". */
export function durationMs (d: string | undefined): number | undefined {
  if (d === undefined) return undefined
  let ms = 0
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    ms += Number(m[1]) * ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as Record<string, number>)[m[2]!]!
  }
  return ms
}
