// Patches fuse-native 2.2.6's C source (run by `make` after npm install, then rebuilt
// offline with node-gyp against the local Node headers). Idempotent.
//  1. utimens passed the access time in place of the modification time, so `touch -d`,
//     `tar x`, `rsync -t` and `cp -p` set the wrong mtime.
//  2. UTIME_NOW / UTIME_OMIT were not understood, and without flag_utime_omit_ok libfuse
//     drops `touch -m` / `touch -a`. OMIT now reaches JS as 2^52-1 ("leave unchanged").
//  3. getxattr of names outside `user.` (security.selinux, system.posix_acl_access, asked
//     for every entry by `ls -l`) is answered ENODATA in C, without a round trip into JS.
//  4. (index.js) closing a mount that was detached from outside (`fusermount -uz`,
//     `umount -l`) failed in `fusermount` and skipped releasing the FUSE thread's handle,
//     so the process never exited. Once the folder is no longer mounted, it is released.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = new URL('../node_modules/fuse-native/', import.meta.url)

patch('fuse-native.c', 'PFS_PATCHED', [
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
])

patch('index.js', 'PFS_PATCHED', [
  ['    Fuse.unmount(this.mnt, err => {\n      if (err) {',
    '    Fuse.unmount(this.mnt, err => {\n      if (err && stillMounted(self.mnt)) {'],
  ["const binding = require('node-gyp-build')(__dirname)\n",
    "const binding = require('node-gyp-build')(__dirname)\n" +
    '// PFS_PATCHED: a folder detached from outside is no longer in /proc/mounts.\n' +
    'function stillMounted (mnt) {\n' +
    "  const target = path.resolve(mnt).replace(/ /g, '\\\\040')\n" +
    "  try { return fs.readFileSync('/proc/mounts', 'utf8').split('\\n').some(l => l.split(' ')[1] === target) }" +
    ' catch { return true }\n}\n']
])

// 5. (index.js) getxattr of a value longer than the caller's buffer wrote past what the
//    kernel asked for ("fuse: writing device: Invalid argument", EIO to the caller); it is
//    ERANGE, which makes callers (Python's os.getxattr, getfattr) ask again with more room.
patch('index.js', 'PFS_PATCHED_XATTR', [
  ['        if (!value) return signal(IS_OSX ? -93 : -61, valueBuf.buffer)\n        value.copy(valueBuf)\n',
    '        if (!value) return signal(IS_OSX ? -93 : -61, valueBuf.buffer)\n' +
    '        // PFS_PATCHED_XATTR: a value longer than the buffer is ERANGE (a zero size asks for the length)\n' +
    '        if (valueBuf.length > 0 && value.length > valueBuf.length) return signal(-34, valueBuf.buffer)\n' +
    '        value.copy(valueBuf)\n']
])

// 6. Owner, times and special files (issue 9):
//    - the caller of every request (uid, gid, pid from fuse_get_context, read on the FUSE
//      thread as the request arrives) is kept at the start of the request's buffer with a
//      mark, and the JavaScript side sets `fuse.caller` from it just before calling the
//      handler, so a handler can give a new file to the user who made it (no mark, as with
//      an unpatched prebuilt binary: no caller, and new files go to the mounting user);
//    - stat times carry nanoseconds: three more numbers after the 18 (the part of each
//      time below the millisecond, in ns), added in C to the timespecs;
//    - utimens passes each time's sub-millisecond nanoseconds too, after the callback:
//      utimens(path, atimeMs, mtimeMs, cb, atimeNs, mtimeNs).
patch('fuse-native.c', 'PFS_PATCHED_META', [
  ['typedef struct {\n  napi_ref self;\n',
    '/* PFS_PATCHED_META */\ntypedef struct {\n  uint32_t caller[4];\n  napi_ref self;\n'],
  ['  size_t mtime;\n', '  size_t mtime;\n  uint32_t atime_ns;\n  uint32_t mtime_ns;\n'],
  ['  l->op_fn = fuse_native_dispatch_##name;\\\n',
    '  l->op_fn = fuse_native_dispatch_##name;\\\n' +
    '  { struct fuse_context *pfs_fc = fuse_get_context(); l->caller[0] = pfs_fc->uid; l->caller[1] = pfs_fc->gid; l->caller[2] = pfs_fc->pid; ' +
    'l->caller[3] = 0x70667321; }\\\n'],
  ['  uint32s_to_timespec(&stat->st_ctim, &ints);\n#endif\n',
    '  uint32s_to_timespec(&stat->st_ctim, &ints);\n' +
    '  stat->st_atim.tv_nsec += ints[0] % 1000000;\n' +
    '  stat->st_mtim.tv_nsec += ints[1] % 1000000;\n' +
    '  stat->st_ctim.tv_nsec += ints[2] % 1000000;\n#endif\n'],
  ['FUSE_METHOD_VOID(utimens, 5, 0, (const char *path, const struct timespec tv[2]), {\n  l->path = path;\n' +
    '  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);\n}, {\n' +
    '  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n' +
    '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n',
  'FUSE_METHOD_VOID(utimens, 7, 0, (const char *path, const struct timespec tv[2]), {\n  l->path = path;\n' +
    '  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);\n' +
    '  l->atime_ns = (tv[0].tv_nsec == UTIME_OMIT || tv[0].tv_nsec == UTIME_NOW) ? 0 : tv[0].tv_nsec % 1000000;\n' +
    '  l->mtime_ns = (tv[1].tv_nsec == UTIME_OMIT || tv[1].tv_nsec == UTIME_NOW) ? 0 : tv[1].tv_nsec % 1000000;\n}, {\n' +
    '  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n' +
    '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n' +
    '  napi_create_uint32(env, l->atime_ns, &(argv[7]));\n  napi_create_uint32(env, l->mtime_ns, &(argv[8]));\n']
])
patch('index.js', 'PFS_PATCHED_META', [
  ['      return function (nativeHandler, opCode, ...args) {\n',
    '      return function (nativeHandler, opCode, ...args) {\n' +
    '        // PFS_PATCHED_META: who made this request (see fuse-native.c)\n' +
    '        // (only when the C side is patched too: it marks the caller "pfs!")\n' +
    '        self.caller = nativeHandler.readUInt32LE(12) === 0x70667321\n' +
    '          ? { uid: nativeHandler.readUInt32LE(0), gid: nativeHandler.readUInt32LE(4), pid: nativeHandler.readUInt32LE(8) }\n' +
    '          : undefined\n'],
  ['  _op_utimens (signal, path, atimeLow, atimeHigh, mtimeLow, mtimeHigh) {\n',
    '  _op_utimens (signal, path, atimeLow, atimeHigh, mtimeLow, mtimeHigh, atimeNs, mtimeNs) {\n'],
  ['    this.ops.utimens(path, atime, mtime, err => {\n      return signal(err)\n    })\n',
    '    this.ops.utimens(path, atime, mtime, err => {\n      return signal(err)\n    }, atimeNs, mtimeNs)\n'],
  ['  const ints = new Uint32Array(18)\n', '  const ints = new Uint32Array(21)\n'],
  ['  setDoubleInt(ints, 16, toDateMS(stat && stat.ctime))\n',
    '  setDoubleInt(ints, 16, toDateMS(stat && stat.ctime))\n' +
    '  ints[18] = (stat && stat.atimeNs) || 0\n  ints[19] = (stat && stat.mtimeNs) || 0\n  ints[20] = (stat && stat.ctimeNs) || 0\n']
])

/** Applies each [from, to] to one file of fuse-native once (`marker` says it is done). */
function patch (name, marker, edits) {
  const file = fileURLToPath(new URL(name, dir))
  let src = readFileSync(file, 'utf8')
  if (src.includes(marker)) return
  for (const [from, to] of edits) {
    if (!src.includes(from)) {
      console.error(`patch-fuse-native: ${name} does not look like fuse-native 2.2.6 (missing: ${from.split('\n')[0]})`)
      process.exit(1)
    }
    src = src.replace(from, to)
  }
  writeFileSync(file, src)
}
