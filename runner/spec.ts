/**
 * Pipeline specs: Pachyderm's field names in YAML or JSON, snake_case or camelCase, checked
 * by one zod schema (which is also the JSON Schema `pfs pipeline schema` prints).
 *
 * `parseSpec` turns a spec's text into a `PipelineSpec` with every default filled in, or
 * throws an INVALID_ARGUMENT whose message has one line per problem: the field's path as
 * the user spelled it, what is wrong, and what is allowed. Unknown fields are problems
 * (with a "did you mean" when a known field is close); Pachyderm fields pfs does not have
 * say so by name.
 */
import { createHash } from 'node:crypto'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { checkRefName, invalidArgument } from '../store/index.js'
import { compileGlob } from './glob.js'
import { DURATION_RE } from './duration.js'
import { parseCron } from './cron.js'

/** A repo or branch name, by the store's own rules (the message says what is wrong). */
const name = (what: 'repo' | 'branch' | 'pipeline' | 'input'): z.ZodString =>
  z.string().superRefine((v, ctx) => {
    try {
      checkRefName(what === 'branch' ? 'branch' : 'repo', v)
    } catch (e) {
      const why = (e as Error).message.replace(/^invalid \w+ name '.*?': /, '')
      ctx.addIssue({ code: 'custom', message: `not a valid ${what} name: ${why}` })
    }
  })

const duration = z.string().regex(DURATION_RE, 'a duration such as "30s", "5m" or "1h30m"')
const quantity = z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?([KMGTPE]i?|k|m)?$/,
  'a quantity such as "512Mi", "1.5G" or "500m"')])

const pfsInput = z.strictObject({
  repo: name('repo'),
  branch: name('branch').default('master'),
  glob: z.string().min(1, 'a glob such as "/", "/*" or "/**"').refine(g => g.startsWith('/') || g === '',
    'a glob starts with "/"'),
  name: name('input').optional(),
  join_on: z.string().optional(),
  outer_join: z.boolean().default(false),
  group_by: z.string().optional(),
  lazy: z.boolean().optional().describe('accepted; pfs always streams inputs through the mount'),
  empty_files: z.boolean().optional().describe('accepted; pfs inputs are never copied')
})

const cronInput = z.strictObject({
  name: name('input'),
  spec: z.string().superRefine((v, ctx) => {
    try {
      parseCron(v)
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^cron spec ".*?": /, '') })
    }
  }),
  repo: name('repo').optional(),
  overwrite: z.boolean().default(false),
  start: z.string().optional()
})

export type PfsInput = z.output<typeof pfsInput> & { name: string }
type CronInput = z.output<typeof cronInput>
export type Input =
  | { pfs: PfsInput }
  | { cron: CronInput }
  | { cross: Input[] }
  | { union: Input[] }
  | { join: Input[] }
  | { group: Input[] }

const inputs: z.ZodType<unknown> = z.lazy(() => z.array(input).min(1, 'a list of at least one input'))
const input: z.ZodType<unknown> = z.union([
  z.strictObject({ pfs: pfsInput }),
  z.strictObject({ cron: cronInput }),
  z.strictObject({ cross: inputs }),
  z.strictObject({ union: inputs }),
  z.strictObject({ join: inputs }),
  z.strictObject({ group: inputs })
], { error: 'an input is one of pfs, cron, cross, union, join or group' })

const resources = z.strictObject({
  cpu: z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?m?$/, 'a cpu count such as 1.5 or "500m"')])
    .optional(),
  memory: quantity.optional(),
  disk: quantity.optional(),
  gpu: z.strictObject({ type: z.string().min(1), number: z.number().int().nonnegative() }).optional()
})

const schema = z.strictObject({
  pipeline: z.strictObject({ name: name('pipeline'), project: z.unknown().optional() }),
  description: z.string().default(''),
  input,
  transform: z.strictObject({
    cmd: z.array(z.string()).min(1, 'the command to run, as a list such as ["python3", "/code/run.py"]'),
    stdin: z.array(z.string()).default([]),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string())
      .default({}),
    image: z.string().optional(),
    accept_return_code: z.array(z.number().int()).default([]),
    err_cmd: z.array(z.string()).optional(),
    err_stdin: z.array(z.string()).default([]),
    working_dir: z.string().optional()
  }),
  parallelism_spec: z.strictObject({ constant: z.number().int().nonnegative() }).optional(),
  resource_requests: resources.optional(),
  resource_limits: resources.optional(),
  datum_tries: z.number().int().min(1, 'at least 1 (the total number of attempts)').default(3),
  datum_timeout: duration.optional(),
  job_timeout: duration.optional(),
  output_branch: name('branch').default('master'),
  reprocess_spec: z.enum(['until_success', 'every_job']).default('until_success'),
  salt: z.string().optional(),
  /** pfs: datums have no network unless the spec asks for it. */
  network: z.boolean().default(false)
})

type Parsed = z.output<typeof schema>
export type PipelineSpec = Omit<Parsed, 'input'> & { input: Input }

/** Pachyderm fields pfs does not have, with what to do instead where there is something. */
const UNSUPPORTED: Record<string, string> = {
  spout: 'spout pipelines', service: 'service pipelines', egress: 'egress', s3_out: 's3_out',
  tf_job: 'tf_job', autoscaling: 'autoscaling', pod_spec: 'pod_spec', pod_patch: 'pod_patch',
  tolerations: 'tolerations', scheduling_spec: 'scheduling_spec', datum_set_spec: 'datum_set_spec',
  sidecar_resource_limits: 'sidecar_resource_limits', sidecar_resource_requests: 'sidecar_resource_requests',
  secrets: 'secrets', user: 'transform.user', datum_batching: 'datum batching', debug: 'debug',
  metadata: 'metadata', standby: 'standby', cache_size: 'cache_size', enable_stats: 'enable_stats',
  max_queue_size: 'max_queue_size', chunk_spec: 'chunk_spec', spec_commit: 'spec_commit',
  trigger: 'branch triggers', commit: 'inputs pinned to a commit', s3: 's3 inputs', determined: 'determined'
}

const snake = (k: string): string => k.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)

/**
 * camelCase keys become snake_case, except the keys of `env` (variable names). Each new
 * object remembers the spelling it came from, so a problem is reported as it was written.
 */
const spelled = new WeakMap<object, Map<string, string>>()
function normalize (v: unknown, parentKey = ''): unknown {
  if (Array.isArray(v)) return v.map(x => normalize(x))
  if (v === null || typeof v !== 'object') return v
  if (parentKey === 'env') return v
  const out: Record<string, unknown> = {}
  const from = new Map<string, string>()
  for (const [k, x] of Object.entries(v)) {
    const s = snake(k)
    out[s] = normalize(x, s)
    from.set(s, k)
  }
  spelled.set(out, from)
  return out
}

function where (root: unknown, path: ReadonlyArray<PropertyKey>): string {
  let at: unknown = root
  let s = ''
  for (const seg of path) {
    if (typeof seg === 'number') {
      s += `[${seg}]`
    } else {
      const key = String(seg)
      const shown = (at !== null && typeof at === 'object' && spelled.get(at)?.get(key)) || key
      s += s === '' ? shown : `.${shown}`
    }
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[String(seg)] : undefined
  }
  return s === '' ? 'the spec' : s
}

/** The closest known field, if one is close enough to be a typo. */
function didYouMean (key: string, known: string[]): string | undefined {
  let best: string | undefined
  let bestD = Math.max(2, Math.floor(key.length / 3)) + 1
  for (const k of known) {
    const d = editDistance(snake(key), k)
    if (d < bestD) { best = k; bestD = d }
  }
  return best
}

function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

/** The known fields of the object at `path` in the schema, for "did you mean". */
function knownAt (value: unknown, path: ReadonlyArray<PropertyKey>): string[] {
  const parent = path.length > 0 ? String(path[path.length - 1]) : ''
  const byParent: Record<string, z.ZodObject> = {
    '': schema, pipeline: schema.shape.pipeline, pfs: pfsInput, cron: cronInput,
    transform: schema.shape.transform, parallelism_spec: schema.shape.parallelism_spec.unwrap(),
    resource_requests: resources, resource_limits: resources
  }
  const obj = byParent[parent]
  if (obj !== undefined) return Object.keys(obj.shape)
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return ['pfs', 'cron', 'cross', 'union', 'join', 'group']
  }
  return []
}

function problems (root: unknown, error: z.ZodError): string[] {
  const out: string[] = []
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const at = issue.path
      let obj: unknown = root
      for (const seg of at) obj = (obj as Record<string, unknown>)[String(seg)]
      for (const key of issue.keys) {
        const path = where(root, [...at, key])
        const snakeKey = snake(key)
        if (UNSUPPORTED[snakeKey] !== undefined) {
          out.push(`${path}: Pachyderm's ${UNSUPPORTED[snakeKey]} ${/s$/.test(UNSUPPORTED[snakeKey]) ? 'are' : 'is'} ` +
            'not supported by pfs; remove it')
          continue
        }
        const near = didYouMean(key, knownAt(obj, at))
        out.push(`${path}: unknown field${near !== undefined ? `; did you mean '${near}'?` : ''}`)
      }
      continue
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // An input: report the problems of the branch its one key names, if it names one.
      const value = valueAt(root, issue.path)
      const keys = value !== null && typeof value === 'object' ? Object.keys(value) : []
      const kinds = ['pfs', 'cron', 'cross', 'union', 'join', 'group']
      const i = keys.length === 1 ? kinds.indexOf(keys[0]!) : -1
      if (i >= 0 && issue.errors[i] !== undefined) {
        const inner = issue.errors[i].map(e => ({ ...e, path: [...issue.path, ...e.path] }))
        out.push(...problems(root, new z.ZodError(inner)))
        continue
      }
      const what = keys.length === 0 ? 'it is empty' : `it has ${keys.map(k => `'${k}'`).join(', ')}`
      out.push(`${where(root, issue.path)}: an input has exactly one of pfs, cron, cross, union, join or group; ` +
        what)
      continue
    }
    const value = valueAt(root, issue.path)
    const got = value === undefined ? 'missing' : `got ${JSON.stringify(value)}`
    out.push(`${where(root, issue.path)}: ${value === undefined && issue.code === 'invalid_type' ? 'required' : got}` +
      `; ${describe(issue)}`)
  }
  return out
}

function describe (issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`
  if (issue.code === 'invalid_value') return `allowed: ${issue.values.map(v => JSON.stringify(v)).join(', ')}`
  return issue.message
}

function valueAt (root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let at = root
  for (const seg of path) {
    if (at === null || typeof at !== 'object') return undefined
    at = (at as Record<string, unknown>)[String(seg)]
  }
  return at
}

/** Checks that hold across fields: unique input names, globs that compile, join/group keys. */
function crossChecks (spec: PipelineSpec, add: (path: string, problem: string) => void): void {
  const walk = (inp: Input, path: string, names: Map<string, string>): void => {
    if ('pfs' in inp) {
      const p = inp.pfs
      try {
        const g = compileGlob(p.glob)
        for (const field of ['join_on', 'group_by'] as const) {
          for (const m of (p[field] ?? '').matchAll(/\$(\d+)/g)) {
            if (Number(m[1]) === 0 || Number(m[1]) > g.groups) {
              add(`${path}.pfs.${field}`, `${p[field]} names capture group ${m[0]}, but the glob ${p.glob} has ` +
                `${g.groups === 0 ? 'none' : `$1 to $${g.groups}`}; put ( ) around the part of the glob to capture`)
            }
          }
        }
      } catch (e) {
        add(`${path}.pfs.glob`, (e as Error).message)
      }
      const prev = names.get(p.name)
      if (prev !== undefined) {
        add(`${path}.pfs`, `the input name '${p.name}' is also used at ${prev}; give one a different 'name'`)
      }
      names.set(p.name, path)
      return
    }
    if ('cron' in inp) {
      names.set(inp.cron.name, path)
      return
    }
    const [kind, list] = Object.entries(inp)[0] as [string, Input[]]
    // A union's branches are alternatives: they may share a name.
    list.forEach((x, i) => walk(x, `${path}.${kind}[${i}]`, kind === 'union' ? new Map(names) : names))
    if (kind === 'join' || kind === 'group') {
      const field = kind === 'join' ? 'join_on' : 'group_by'
      list.forEach((x, i) => {
        if ('pfs' in x && x.pfs[field] === undefined) {
          add(`${path}.${kind}[${i}].pfs.${field}`, `required in a ${kind}; a capture group of the glob such as "$1"`)
        }
      })
    }
  }
  walk(spec.input, 'input', new Map())
}

/** Input names default to the repo; a cron input's repo, as in Pachyderm, is `<pipeline>_<name>`. */
function fillNames (inp: Input, pipeline: string): Input {
  if ('pfs' in inp) return { pfs: { ...inp.pfs, name: inp.pfs.name ?? inp.pfs.repo } }
  if ('cron' in inp) return { cron: { ...inp.cron, repo: inp.cron.repo ?? `${pipeline}_${inp.cron.name}` } }
  const [kind, list] = Object.entries(inp)[0] as [string, Input[]]
  return { [kind]: list.map(x => fillNames(x, pipeline)) } as Input
}

/**
 * Parses a spec (YAML or JSON text; JSON is YAML). `source` names it in errors: a file name,
 * or "stdin".
 */
export function parseSpec (text: string, source: string): PipelineSpec {
  let raw: unknown
  try {
    raw = parseYaml(text, { prettyErrors: false })
  } catch (e) {
    const first = (e as Error).message.split('\n')[0]
    throw invalidArgument(`pipeline spec ${source} is neither JSON nor YAML: ${first}`, { source })
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidArgument(`pipeline spec ${source} must be an object with pipeline, input and transform`, { source })
  }
  return checkSpec(raw, source)
}

/** Checks an already parsed spec (a stored one, or one built in code). */
export function checkSpec (raw: unknown, source: string): PipelineSpec {
  const norm = normalize(raw)
  const r = schema.safeParse(norm)
  const list = r.success ? [] : problems(norm, r.error)
  let spec: PipelineSpec | undefined
  if (r.success) {
    spec = { ...r.data, input: fillNames(r.data.input as Input, r.data.pipeline.name) }
    crossChecks(spec, (path, problem) => list.push(`${path}: ${problem}`))
  }
  if (list.length > 0 || spec === undefined) {
    const n = list.length
    throw invalidArgument(`pipeline spec ${source} has ${n} problem${n === 1 ? '' : 's'}:\n  ${list.join('\n  ')}`,
      { source, problems: list })
  }
  return spec
}

/** The JSON Schema of a spec (snake_case field names), for editors. */
export function specJsonSchema (): Record<string, unknown> {
  return {
    $id: 'https://pfs.dev/schema/pipeline.json',
    title: 'pfs pipeline spec',
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })
  }
}

/** Bytes of a quantity such as "512Mi", "1.5G" or 1048576. */
export function quantityBytes (q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined
  if (typeof q === 'number') return q
  const m = /^(\d+(?:\.\d+)?)([KMGTPE]i?|k|m)?$/.exec(q)
  if (m === null) return undefined
  const unit = m[2] ?? ''
  const pow = 'KMGTPE'.indexOf(unit[0]?.toUpperCase() ?? '') + 1
  const base = unit.endsWith('i') ? 1024 : 1000
  return Math.round(Number(m[1]) * (unit === 'm' ? 0.001 : base ** pow))
}

/** The cron inputs of an input tree. */
export function cronInputs (input: Input): CronInput[] {
  if ('pfs' in input) return []
  if ('cron' in input) return [input.cron]
  return (Object.values(input)[0] as Input[]).flatMap(cronInputs)
}

/** Every pfs (and cron) input: its name, repo and branch, in spec order. */
export function pfsInputs (input: Input): Array<{ name: string, repo: string, branch: string }> {
  if ('pfs' in input) return [{ name: input.pfs.name, repo: input.pfs.repo, branch: input.pfs.branch }]
  if ('cron' in input) return [{ name: input.cron.name, repo: input.cron.repo ?? input.cron.name, branch: 'master' }]
  return (Object.values(input)[0] as Input[]).flatMap(pfsInputs)
}

/**
 * What the store keeps of a spec: the spec itself, the branches that trigger it, and the
 * hash of what makes a new version (everything but parallelism, resources and the text
 * around the work: a new description or more workers reuse every datum).
 */
export function pipelineDef (spec: PipelineSpec): {
  name: string, description: string, spec: PipelineSpec, hash: string,
  inputs: Array<{ repo: string, branch: string }>, outputBranch: string, createRepos: string[]
} {
  const { transform, input, salt } = spec
  const hash = createHash('sha256').update(JSON.stringify(sortKeys({ transform, input, salt: salt ?? '' })))
    .digest('hex')
  const seen = new Set<string>()
  const inputs = pfsInputs(input).map(i => ({ repo: i.repo, branch: i.branch })).filter(i => {
    const key = `${i.repo}@${i.branch}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return {
    name: spec.pipeline.name,
    description: spec.description,
    spec,
    hash,
    inputs,
    outputBranch: spec.output_branch,
    createRepos: cronInputs(input).map(c => c.repo!)
  }
}

function sortKeys (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.keys(v).sort().map(key => [key, sortKeys((v as Record<string, unknown>)[key])]))
}
