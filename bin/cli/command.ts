/**
 * The shape of a `bin/commands/*.ts` module: a yargs CommandModule whose argument types
 * are inferred from its builder, on top of the global options.
 */
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs'

/** Options every command accepts (declared in bin/pfs.ts). */
export interface GlobalArgs {
  store: string
  server?: string
  /** Where the token is read from (--token-file). */
  tokenFile?: string
  /** The token read from --token-file: never from the command line, where `--token` is refused. */
  token?: string
  json: boolean
}

export interface CommandSpec<U> {
  command: string | string[]
  describe: string
  builder: (y: Argv<GlobalArgs>) => Argv<U>
  handler: (argv: ArgumentsCamelCase<U>) => Promise<void>
}

export function defineCommand<U> (spec: CommandSpec<U>): CommandModule<GlobalArgs, U> {
  return spec
}

/**
 * Any command module. yargs' CommandModule is invariant in its argument type (builder
 * returns it, handler takes it), so a list of different commands can only say `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<GlobalArgs, any>

/** A noun (`repo`, `branch`) grouping subcommands. */
export interface GroupModule extends AnyCommand {
  /** Subcommand names, e.g. ['create', 'list']. */
  subcommands: string[]
}

export function defineGroup (name: string, describe: string, subcommands: AnyCommand[]): GroupModule {
  const names = subcommands.map(c => String(c.command).split(' ')[0] as string)
  return {
    subcommands: names,
    command: name,
    describe,
    builder: y => y.command(subcommands).demandCommand(1, `'pfs ${name}' needs a subcommand: ${names.join(', ')}`),
    handler: async () => {}
  }
}
