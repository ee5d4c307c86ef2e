/** `--run` / `--no-run` of the commands that make commits: run the jobs they queue now, or leave them. */
export const RUN_OPTION = {
  type: 'boolean', default: true, describe: 'run the jobs this commit queues (--no-run: leave them for `pfs wait`)'
} as const
