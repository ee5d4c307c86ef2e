#!/usr/bin/env node
/**
 * The `pfs` command line. Each verb or noun is one module in bin/commands/; handlers parse,
 * call the `Pfs` interface and print. Errors become exit codes in bin/cli/errors.ts only.
 */
import os from 'node:os'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import type { AnyCommand, GroupModule } from './cli/command.js'
import { checkServerUrl, readTokenFile } from '../store/index.js'
import { UsageError, report } from './cli/errors.js'
import { exitQuietlyOnEpipe } from './cli/output.js'
import { protectDash, showDash } from './cli/dash.js'
import { completeWord, wantsLocalPath } from './cli/completion.js'
import repo from './commands/repo.js'
import branch from './commands/branch.js'
import start from './commands/start.js'
import commit from './commands/commit.js'
import abort from './commands/abort.js'
import put from './commands/put.js'
import get from './commands/get.js'
import cat from './commands/cat.js'
import ls from './commands/ls.js'
import rm from './commands/rm.js'
import cp from './commands/cp.js'
import log from './commands/log.js'
import diff from './commands/diff.js'
import inspect from './commands/inspect.js'
import du from './commands/du.js'
import gc from './commands/gc.js'
import fsck from './commands/fsck.js'
import serve from './commands/serve.js'
import mount from './commands/mount.js'
import unmount from './commands/unmount.js'
import pipeline from './commands/pipeline.js'
import datum from './commands/datum.js'
import job from './commands/job.js'
import wait from './commands/wait.js'
import logs from './commands/logs.js'
import { provenance, subvenance } from './commands/provenance.js'

const COMMANDS: AnyCommand[] = [
  repo, branch, start, commit, abort, put, get, cat, ls, rm, cp, log, diff, inspect, du, gc, fsck, serve, mount,
  unmount, pipeline, job, datum, logs, wait, provenance, subvenance
]

const ABOUT = 'A version-controlled file system for data. Addresses are repo@rev:path, e.g. images@master~2:cats/1.png.'

type Defaults = (cb: (err: unknown, builtin?: string[]) => void) => void

/** yargs' commands and options, then addresses and repo names (bin/cli/completion.ts). */
type Argv = Parameters<typeof completeWord>[1]

function complete (current: string, argv: Argv, defaults: Defaults, done: (c: string[]) => void): void {
  if (wantsLocalPath(current, argv)) { done([]); return }
  defaults((_err, builtin) => {
    void completeWord(current, argv).then(mine => { done([...(builtin ?? []), ...mine]) })
  })
}

/** The command line; `completing` answers the completion script: no validation, no failing. */
function program (args: string[], completing = false) {
  const y = yargs(args)
    .scriptName('pfs')
    .usage(`$0 <command> [options]\n\n${ABOUT}`)
    .option('store', {
      type: 'string',
      global: true,
      default: process.env.PFS_STORE || path.join(os.homedir(), '.pfs'),
      defaultDescription: '$PFS_STORE or ~/.pfs',
      describe: 'store folder (a running `pfs serve` on it is used when there is one)'
    })
    .option('server', {
      type: 'string',
      global: true,
      default: process.env.PFS_SERVER || undefined,
      defaultDescription: '$PFS_SERVER',
      describe: 'server URL, e.g. http://10.0.0.5:7070',
      coerce: serverUrl
    })
    .option('token-file', {
      type: 'string',
      global: true,
      defaultDescription: '$PFS_TOKEN, else the file $PFS_TOKEN_FILE',
      describe: 'file holding the token of a TCP server (mode 0600, e.g. <store>/token of `pfs serve --listen`)'
    })
    // Only to refuse it: a token on the command line is visible to every user in `ps`.
    .option('token', { type: 'string', global: true, hidden: true })
    .middleware(async argv => {
      if (argv.token !== undefined) throw usageError(TOKEN_ON_COMMAND_LINE, args)
      // From here on `token` is the one read from --token-file (the environment is read
      // by the store, only when a server URL is used).
      if (argv.tokenFile !== undefined) argv.token = await readTokenFile(path.resolve(argv.tokenFile))
    })
    .option('json', {
      type: 'boolean', global: true, default: false, describe: 'print the result as one JSON document'
    })
    .command(COMMANDS)
    .completion('completion', 'print a shell completion script: pfs completion >> ~/.bashrc (zsh: >> ~/.zshrc)',
      complete)
  if (completing) return y.fail(() => {})
  return y
    .demandCommand(1, 'a command is required')
    .strict()
    .recommendCommands()
    .help().alias('help', 'h')
    .version(version())
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .showHelpOnFail(false)
    .group(['store', 'server', 'token-file', 'json', 'help', 'version'], 'Global options:')
    .fail((msg, err) => {
      // YError: yargs' own wrapper for usage problems, e.g. an option's coerce refusing it.
      if (err && err.name !== 'YError') throw err
      throw usageError(msg ?? err?.message ?? 'invalid command line', args)
    })
    .example('pfs repo create images', '')
    .example('pfs put images@master ./cats', 'a folder, in one commit')
    .example('pfs ls images@master:cats -l', '')
    .example('pfs log images', '')
    .epilogue('Environment: PFS_STORE, PFS_SERVER, PFS_TOKEN or PFS_TOKEN_FILE (the token of a TCP server), ' +
      'PFS_TIMEOUT (seconds a server may stay silent before a call gives up; default 30, 0 for never), ' +
      'PFS_DEBUG=1 (stack traces and debug lines).')
}

function usageError (msg: string, args: string[]): UsageError {
  const cmd = commandWords(args)
  const suggestion = /^Did you mean (.+)\?$/.exec(msg)
  if (suggestion !== null) {
    const words = positionals(args)
    const at = cmd === '' ? 0 : words.indexOf(cmd.split(' ')[0] as string) + cmd.split(' ').length
    const typed = words[at] ?? ''
    msg = `unknown command '${typed}'; did you mean '${suggestion[1]}'?`
  }
  return new UsageError(showDash(msg.charAt(0).toLowerCase() + msg.slice(1)), cmd)
}

const TOKEN_ON_COMMAND_LINE = '--token is refused: any user can read a command line (`ps`); ' +
  'set PFS_TOKEN, or give a file only you can read with --token-file FILE or PFS_TOKEN_FILE'

/** http:// only, and no credentials in it: they would show in `ps` and in messages. */
function serverUrl (s: string | undefined): string | undefined {
  if (s === undefined || s === '') return undefined
  return checkServerUrl(s, '--server')
}

/**
 * The command words typed (`repo create`), for the `--help` hint of a usage error: the
 * first word naming a command, and the next one if it names one of its subcommands.
 */
function commandWords (args: string[]): string {
  const words = positionals(args)
  for (const [i, w] of words.entries()) {
    const cmd = COMMANDS.find(c => String(c.command).split(' ')[0] === w)
    if (cmd === undefined) continue
    const subs = (cmd as Partial<GroupModule>).subcommands
    return subs?.includes(words[i + 1] ?? '') === true ? `${w} ${words[i + 1]}` : w
  }
  return ''
}

/** Words that are not options or the values of the global options. */
function positionals (args: string[]): string[] {
  return args.filter((a, i) => !a.startsWith('-') && !GLOBAL_VALUE_OPTIONS.includes(args[i - 1] ?? ''))
}

const GLOBAL_VALUE_OPTIONS = ['--store', '--server', '--token-file', '--token']

function version (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
    try {
      const text = readFileSync(path.join(dir, 'package.json'), 'utf8')
      const pkg = JSON.parse(text) as { name?: string, version?: string }
      if (pkg.name === 'pfs' && pkg.version) return pkg.version
    } catch {
      // not here: look one folder up
    }
  }
  return 'unknown'
}

/** What the completion script asks at each TAB: one candidate a line, never an error. */
const COMPLETION_ARG = '--get-yargs-completions'

async function main (args: string[]): Promise<number> {
  exitQuietlyOnEpipe()
  if (args.includes(COMPLETION_ARG)) {
    // yargs prints the candidates and exits; a failure completes nothing.
    await program(args, true).parseAsync().catch(() => {})
    return 0
  }
  try {
    await program(protectDash(args)).parseAsync()
    return 0
  } catch (e) {
    return report(e)
  }
}

process.exitCode = await main(hideBin(process.argv))
