/**
 * A lone `-` (stdin) does not survive yargs: a string positional given `-` comes out as
 * '' (yargs/yargs#1312, yargs-parser#381, both open). bin/pfs.ts swaps it for a marker
 * before parsing; handlers compare with `STDIN`. The marker holds a NUL byte, which no
 * real argument can contain, so it never collides with a file name.
 */
export const STDIN = '\0-'

export function protectDash (args: string[]): string[] {
  const end = args.indexOf('--')
  return args.map((a, i) => a === '-' && (end < 0 || i < end) ? STDIN : a)
}

/** For messages: the marker shown as the user typed it. */
export function showDash (s: string): string {
  return s.split(STDIN).join('-')
}
