#!/usr/bin/env node
/**
 * The `pfs` command line. Each verb or noun is one module in bin/commands/; handlers parse,
 * call the `Pfs` interface and print. Errors become exit codes in bin/cli/errors.ts only.
 */
import os from 'node:os'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import yargs, { type CommandModule } from 'yargs'
import { hideBin } from 'yargs/helpers'
import type { GlobalArgs, GroupModule } from './cli/command.js'
import { invalidArgument } from '../store/index.js'
import { UsageError, report } from './cli/errors.js'
import { exitQuietlyOnEpipe } from './cli/output.js'
import { protectDash, showDash } from './cli/dash.js'
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

const COMMANDS: Array<CommandModule<GlobalArgs, any>> = [
  repo, branch, start, commit, abort, put, get, cat, ls, rm, cp, log, diff, inspect, du, gc, fsck, serve, mount, unmount
]

function program (args: string[]) {
  return yargs(args)
    .scriptName('pfs')
    .usage('$0 <command> [options]\n\nA version-controlled file system for data. Addresses are repo@rev:path, e.g. images@master~2:cats/1.png.')
    .option('store', {
      type: 'string',
      global: true,
      default: process.env.PFS_STORE || path.join(os.homedir(), '.pfs'),
      defaultDescription: '$PFS_STORE or ~/.pfs',
      describe: 'store folder (a running `pfs serve` on it is used when there is one)'
    })
    .option('server', { type: 'string', global: true, default: process.env.PFS_SERVER || undefined, defaultDescription: '$PFS_SERVER', describe: 'server URL, e.g. http://10.0.0.5:7070', coerce: serverUrl })
    .option('token', { type: 'string', global: true, default: process.env.PFS_TOKEN || undefined, defaultDescription: '$PFS_TOKEN', describe: 'token for a TCP server' })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'print the result as one JSON document' })
    .command(COMMANDS as Array<CommandModule<any, any>>)
    .demandCommand(1, 'a command is required')
    .strict()
    .recommendCommands()
    .help().alias('help', 'h')
    .version(version())
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .showHelpOnFail(false)
    .group(['store', 'server', 'token', 'json', 'help', 'version'], 'Global options:')
    .fail((msg, err) => {
      // YError: yargs' own wrapper for usage problems, e.g. an option's coerce refusing it.
      if (err && err.name !== 'YError') throw err
      throw usageError(msg ?? err?.message ?? 'invalid command line', args)
    })
    .example('pfs repo create images', '')
    .example('pfs put images@master ./cats', 'a folder, in one commit')
    .example('pfs ls images@master:cats -l', '')
    .example('pfs log images', '')
}

function usageError (msg: string, args: string[]): UsageError {
  const cmd = commandWords(args)
  const suggestion = /^Did you mean (.+)\?$/.exec(msg)
  if (suggestion !== null) {
    const words = positionals(args)
    const typed = cmd === '' ? words[0] ?? '' : words[words.indexOf(cmd.split(' ')[0] as string) + cmd.split(' ').length] ?? ''
    msg = `unknown command '${typed}'; did you mean '${suggestion[1]}'?`
  }
  return new UsageError(showDash(msg.charAt(0).toLowerCase() + msg.slice(1)), cmd)
}

function serverUrl (s: string | undefined): string | undefined {
  if (s === undefined || s === '') return undefined
  const url = URL.canParse(s) ? new URL(s) : undefined
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw invalidArgument(`--server '${s}' is not a server URL; write it like http://10.0.0.5:7070`, { server: s })
  }
  return s
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

const GLOBAL_VALUE_OPTIONS = ['--store', '--server', '--token']

function version (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'pfs' && pkg.version) return pkg.version
    } catch {}
  }
  return 'unknown'
}

async function main (args: string[]): Promise<number> {
  exitQuietlyOnEpipe()
  try {
    await program(protectDash(args)).parseAsync()
    return 0
  } catch (e) {
    return report(e)
  }
}

process.exitCode = await main(hideBin(process.argv))
