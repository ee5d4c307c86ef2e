/**
 * A cgroup per datum, for its cpu and memory limits: v2 (`memory.max`, `cpu.max`) where
 * the unified hierarchy has those controllers, else v1 (`memory.limit_in_bytes`,
 * `cpu.cfs_quota_us`). Where neither can be written (not root, no controller), the limits
 * are recorded with a warning instead. The datum's process joins the cgroup before it
 * execs (see local.ts), so every process it starts is inside.
 */
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import type { Resources } from './backend.js'

const ROOT = '/sys/fs/cgroup'
const PERIOD_US = 100_000

interface Cgroup {
  /** The `cgroup.procs` files the datum's first process writes its pid to. */
  procs: string[]
  /** Whether the kernel killed something in it for memory. */
  outOfMemory (): Promise<boolean>
  remove (): Promise<void>
}

type CgroupResult = { cgroup: Cgroup, warnings: string[] } | { cgroup: undefined, warnings: string[] }

const writable = async (p: string): Promise<boolean> =>
  await fsp.access(p, 2 /* W_OK */).then(() => true, () => false)

export async function makeCgroup (name: string, r: Resources): Promise<CgroupResult> {
  if (r.cpu === undefined && r.memoryBytes === undefined) return { cgroup: undefined, warnings: [] }
  const why: string[] = []
  try {
    const v2 = await makeV2(name, r)
    if (v2 !== undefined) return { cgroup: v2, warnings: [] }
  } catch (e) {
    why.push(`cgroup v2: ${(e as Error).message}`)
  }
  try {
    const v1 = await makeV1(name, r)
    if (v1 !== undefined) return { cgroup: v1, warnings: [] }
    why.push('cgroup v1: no writable memory and cpu controllers')
  } catch (e) {
    why.push(`cgroup v1: ${(e as Error).message}`)
  }
  return {
    cgroup: undefined,
    warnings: [`cpu and memory limits are recorded but not enforced here (${why.join('; ')}); run as root ` +
      'on a machine with cgroup memory and cpu controllers to enforce them']
  }
}

async function makeV2 (name: string, r: Resources): Promise<Cgroup | undefined> {
  const controllers = await fsp.readFile(path.join(ROOT, 'cgroup.controllers'), 'utf8').catch(() => undefined)
  if (controllers === undefined || !/\bmemory\b/.test(controllers) || !/\bcpu\b/.test(controllers)) return undefined
  const parent = path.join(ROOT, 'pfs')
  await fsp.mkdir(parent, { recursive: true })
  await fsp.writeFile(path.join(ROOT, 'cgroup.subtree_control'), '+memory +cpu').catch(() => {})
  await fsp.writeFile(path.join(parent, 'cgroup.subtree_control'), '+memory +cpu')
  const dir = path.join(parent, name)
  await fsp.mkdir(dir)
  if (r.memoryBytes !== undefined) {
    await fsp.writeFile(path.join(dir, 'memory.max'), String(r.memoryBytes))
    await fsp.writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => {})
  }
  if (r.cpu !== undefined) {
    await fsp.writeFile(path.join(dir, 'cpu.max'), `${Math.round(r.cpu * PERIOD_US)} ${PERIOD_US}`)
  }
  return {
    procs: [path.join(dir, 'cgroup.procs')],
    outOfMemory: async () => {
      const events = await fsp.readFile(path.join(dir, 'memory.events'), 'utf8').catch(() => '')
      return /\boom_kill [1-9]/.test(events)
    },
    remove: async () => { await removeWhenEmpty(dir) }
  }
}

async function makeV1 (name: string, r: Resources): Promise<Cgroup | undefined> {
  const memRoot = path.join(ROOT, 'memory')
  const cpuRoot = path.join(ROOT, 'cpu')
  if (!await writable(memRoot) || !await writable(cpuRoot)) return undefined
  const mem = path.join(memRoot, 'pfs', name)
  const cpu = path.join(cpuRoot, 'pfs', name)
  await fsp.mkdir(mem, { recursive: true })
  await fsp.mkdir(cpu, { recursive: true })
  if (r.memoryBytes !== undefined) {
    await fsp.writeFile(path.join(mem, 'memory.limit_in_bytes'), String(r.memoryBytes))
    // Swap would let a datum go over its limit slowly instead of being stopped.
    await fsp.writeFile(path.join(mem, 'memory.memsw.limit_in_bytes'), String(r.memoryBytes)).catch(() => {})
  }
  if (r.cpu !== undefined) {
    await fsp.writeFile(path.join(cpu, 'cpu.cfs_period_us'), String(PERIOD_US))
    await fsp.writeFile(path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round(r.cpu * PERIOD_US)))
  }
  return {
    procs: [path.join(mem, 'cgroup.procs'), path.join(cpu, 'cgroup.procs')],
    outOfMemory: async () => {
      const oom = await fsp.readFile(path.join(mem, 'memory.oom_control'), 'utf8').catch(() => '')
      if (/\boom_kill [1-9]/.test(oom)) return true
      const fails = await fsp.readFile(path.join(mem, 'memory.failcnt'), 'utf8').catch(() => '0')
      return r.memoryBytes !== undefined && Number(fails) > 0
    },
    remove: async () => { await Promise.all([removeWhenEmpty(mem), removeWhenEmpty(cpu)]) }
  }
}

/** A cgroup can be removed once its processes are gone, which takes the kernel a moment. */
async function removeWhenEmpty (dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await fsp.rmdir(dir)
      return
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      if (code !== 'EBUSY') throw e
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
}
