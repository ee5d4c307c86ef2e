/**
 * The runner's door for bin/: pipeline specs, datums and, as they land, jobs and backends.
 */
export { parseSpec, specJsonSchema, pipelineDef, type PipelineSpec } from './spec.js'
export { enumerate, inputCommits } from './datums.js'
export { runQueued, type RunnerEvent } from './jobs.js'
export { Runner } from './runner.js'
export { LocalBackend } from './local.js'
