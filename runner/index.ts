/**
 * The runner's door for bin/: pipeline specs, datums and, as they land, jobs and backends.
 */
export { parseSpec, specJsonSchema, type PipelineSpec } from './spec.js'
export { enumerate, inputCommits } from './datums.js'
