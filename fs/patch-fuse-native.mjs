// Patches fuse-native 2.2.6's C source (run by `make` after npm install, then rebuilt
// offline with node-gyp against the local Node headers). Idempotent.
//  1. utimens passed the access time in place of the modification time, so `touch -d`,
//     `tar x`, `rsync -t` and `cp -p` set the wrong mtime.
//  2. UTIME_NOW / UTIME_OMIT were not understood, and without flag_utime_omit_ok libfuse
//     drops `touch -m` / `touch -a`. OMIT now reaches JS as 2^52-1 ("leave unchanged").
//  3. getxattr of names outside `user.` (security.selinux, system.posix_acl_access, asked
//     for every entry by `ls -l`) is answered ENODATA in C, without a round trip into JS.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const file = fileURLToPath(new URL('../node_modules/fuse-native/fuse-native.c', import.meta.url))
let src = readFileSync(file, 'utf8')
if (src.includes('PFS_PATCHED')) process.exit(0)

const edits = [
  ['  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)',
    '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)'],
  ['static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n',
    'static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n' +
    '  if (ts->tv_nsec == UTIME_OMIT) return 4503599627370495ULL;\n' +
    '  if (ts->tv_nsec == UTIME_NOW) {\n' +
    '    struct timespec now;\n' +
    '    clock_gettime(CLOCK_REALTIME, &now);\n' +
    '    return ((uint64_t) now.tv_sec * 1000) + (now.tv_nsec / 1000000);\n' +
    '  }\n'],
  ['  struct fuse_operations ops = { };\n',
    '  struct fuse_operations ops = { };\n  ops.flag_utime_omit_ok = 1;\n'],
  ['FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {\n  l->path = path;',
    'FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {\n  if (strncmp(name, "user.", 5) != 0) return -ENODATA;\n  l->path = path;'],
  ['#include <string.h>\n', '#include <string.h>\n#include <errno.h>\n#include <time.h>\n#include <sys/stat.h>\n/* PFS_PATCHED */\n']
]
for (const [from, to] of edits) {
  if (!src.includes(from)) {
    console.error(`patch-fuse-native: the source does not look like fuse-native 2.2.6 (missing: ${from.split('\n')[0]})`)
    process.exit(1)
  }
  src = src.replace(from, to)
}
writeFileSync(file, src)
