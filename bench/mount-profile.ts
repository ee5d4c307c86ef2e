/**
 * Self time by function from a V8 `.cpuprofile` (what `node --cpu-prof` writes), for
 * finding where a mount spends its time. Also a command:
 *
 *   node dist/bench/mount-profile.js FILE.cpuprofile [TOP]
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

interface SelfTime { fn: string, ms: number, share: number }

/** Where a frame lives, short: `fs/spools.ts:40`, `node:fs`, or a V8 pseudo-frame. */
function where (f: ProfileNode['callFrame']): string {
  if (f.url === '') return ''
  const file = f.url.startsWith('file://') ? fileURLToPath(f.url) : f.url
  const m = /\/dist\/(.+)\.js$/.exec(file)
  const short = m !== null
    ? `${m[1]}.ts`
    : file.includes('/node_modules/') ? file.slice(file.lastIndexOf('/node_modules/') + 14) : file
  return `${short}:${f.lineNumber + 1}`
}

/** Self time per function (name + place), largest first, with its share of all samples. */
function selfTimes (p: CpuProfile): { total: number, rows: SelfTime[] } {
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const ms = new Map<string, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i])
    const dt = (p.timeDeltas[i] ?? 0) / 1000
    if (node === undefined) continue
    const f = node.callFrame
    const key = `${f.functionName === '' ? '(anonymous)' : f.functionName} ${where(f)}`.trim()
    ms.set(key, (ms.get(key) ?? 0) + dt)
    total += dt
  }
  const rows = [...ms].map(([fn, t]) => ({ fn, ms: t, share: total === 0 ? 0 : t / total }))
  rows.sort((a, b) => b.ms - a.ms)
  return { total, rows }
}

/** The top `n` functions by self time, as text lines. */
async function summarizeProfile (file: string, n = 15): Promise<string> {
  const p = JSON.parse(await fsp.readFile(file, 'utf8')) as CpuProfile
  const { total, rows } = selfTimes(p)
  const wall = (p.endTime - p.startTime) / 1000
  const idle = rows.find(r => r.fn.startsWith('(idle)'))?.ms ?? 0
  const profiled = (wall / 1000).toFixed(1)
  const busy = ((total - idle) / 1000).toFixed(1)
  const lines = [`${path.basename(file)}: ${profiled} s profiled, ${busy} s on the main thread (not idle)`]
  for (const r of rows.slice(0, n)) {
    lines.push(`  ${r.ms.toFixed(0).padStart(7)} ms ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.fn}`)
  }
  return lines.join('\n')
}

/** Every `.cpuprofile` under `dir`, summarized. */
export async function summarizeDir (dir: string, n = 15): Promise<string> {
  const files = (await fsp.readdir(dir).catch(() => [])).filter(f => f.endsWith('.cpuprofile')).sort()
  const out: string[] = []
  for (const f of files) out.push(await summarizeProfile(path.join(dir, f), n))
  return out.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2)
  if (file === undefined) {
    console.error('usage: node dist/bench/mount-profile.js FILE.cpuprofile|DIR [TOP]')
    process.exit(1)
  }
  const n = top === undefined ? 25 : Number(top)
  const st = await fsp.stat(file)
  console.log(st.isDirectory() ? await summarizeDir(file, n) : await summarizeProfile(file, n))
}
