"""POSIX operations for the mount's posix story, run the same way on a plain folder and
on a branch folder so the two can be compared. Each subcommand prints what it saw;
an OSError prints its errno name (and exits 1) so both runs log the same line.

  posix-ops.py seekwrite FILE SEED N   N writes at random offsets (some past the end),
                                       each followed by a read at another random offset
  seekread FILE SEED N                 N reads at random offsets; sha256 of what came back
  append FILE TEXT | ftrunc FILE | fsync FILE SEED | renameopen FROM TO
  utime FILE ATIME MTIME               creates FILE, sets both times (different ones)
  unlinkopen FILE | replaceopen FILE OTHER   POSIX life of open files that go away
  rename A B | rmdir D | unlink F      the bare syscall, for exact errnos
  walk ROOT                            JSON: every entry below ROOT (type, mode, owner,
                                       size, sha256, symlink target, device number,
                                       mtime in seconds)
  ctimes FILE                          changes FILE's status six ways; says whether its
                                       ctime moved forward each time, past a set mtime
  socket NAME                          binds a unix socket at NAME, and talks through it
"""
import errno
import hashlib
import json
import os
import random
import stat
import socket
import sys
import time

MiB = 1 << 20


def seekwrite(path, seed, n):
    r = random.Random(int(seed))
    h = hashlib.sha256()
    with open(path, 'r+b', buffering=0) as f:
        for _ in range(int(n)):
            off = r.randrange(0, 6 * MiB)
            data = r.randbytes(r.randrange(1, 100_000))
            f.seek(off)
            f.write(data)
            f.seek(r.randrange(0, 6 * MiB))
            h.update(f.read(r.randrange(1, 5000)))
    print(os.stat(path).st_size, h.hexdigest()[:16])


def seekread(path, seed, n):
    r = random.Random(int(seed))
    h = hashlib.sha256()
    size = os.stat(path).st_size
    with open(path, 'rb', buffering=0) as f:
        for _ in range(int(n)):
            f.seek(r.randrange(0, size + 1000))
            h.update(f.read(r.randrange(1, 200_000)))
    print(size, h.hexdigest()[:16])


def append(path, text):
    with open(path, 'a') as f:
        f.write(text.replace('\\n', '\n'))


def ftrunc(path):
    """Writes 100 bytes, ftruncates to 50 and to 70 through the open fd, writes at 80."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, bytes(range(100)))
    os.ftruncate(fd, 50)
    os.ftruncate(fd, 70)
    os.pwrite(fd, b'end', 80)
    print(os.fstat(fd).st_size, os.pread(fd, 200, 0).hex()[-20:])
    os.close(fd)


def fsync(path, seed):
    r = random.Random(int(seed))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    os.write(fd, r.randbytes(300_000))
    os.fsync(fd)
    os.write(fd, r.randbytes(1000))
    os.fdatasync(fd)
    os.close(fd)
    print(os.stat(path).st_size)


def renameopen(src, dst):
    """A file renamed while still open for writing keeps what is written after."""
    fd = os.open(src, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b'before rename\n')
    os.rename(src, dst)
    os.write(fd, b'after rename\n')
    os.close(fd)
    print(open(dst).read().replace('\n', '|'), os.path.exists(src))


def unlinkopen(path):
    """A file unlinked while open stays readable and writable through its fd."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b'still here')
    os.unlink(path)
    os.write(fd, b', and more')
    print(os.pread(fd, 100, 0).decode(), os.path.exists(path), sorted(os.listdir('.')) == sorted(n for n in os.listdir('.') if not n.startswith('.fuse_hidden')))
    os.close(fd)


def replaceopen(path, other):
    """A reader of a file replaced by rename keeps reading the old content."""
    with open(path, 'w') as f:
        f.write('old content')
    with open(other, 'w') as f:
        f.write('new content')
    fd = os.open(path, os.O_RDONLY)
    os.rename(other, path)
    print(os.pread(fd, 100, 0).decode(), open(path).read())
    os.close(fd)


def utime(path, atime, mtime):
    """Creates the file and sets different access and modification times."""
    open(path, 'w').close()
    os.utime(path, (int(atime), int(mtime)))
    print(int(os.stat(path).st_mtime))


def ctimes(path):
    """ctime only ever moves forward: chmod, a time set in the past, chown, a write, a rename."""
    with open(path, 'w') as f:
        f.write('x')
    seen = []

    def snap():
        seen.append(os.lstat(path).st_ctime_ns)
        time.sleep(0.03)

    snap()
    os.chmod(path, 0o600)
    snap()
    os.utime(path, (1_000_000_000, 1_000_000_000))
    st = os.lstat(path)
    kept = 'kept above a past mtime' if st.st_ctime_ns > st.st_mtime_ns else 'went back with the mtime'
    snap()
    os.chown(path, 65534, 65534)
    snap()
    with open(path, 'a') as f:
        f.write('y')
    snap()
    os.rename(path, path + '.moved')
    path += '.moved'
    snap()
    forward = all(b > a for a, b in zip(seen, seen[1:]))
    print('forward' if forward else f'not forward: {seen}', kept)


def socket_(name):
    """A server bound at NAME answers a client that connects by that path."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(name)
    srv.listen(1)
    cli = socket.socket(socket.AF_UNIX)
    cli.connect(name)
    conn, _ = srv.accept()
    cli.sendall(b'over the socket')
    print(conn.recv(100).decode(), stat.S_ISSOCK(os.lstat(name).st_mode))
    for s in (cli, conn, srv):
        s.close()


def walk(root):
    out = {}

    def entry(rel):
        p = os.path.join(root, rel)
        st = os.lstat(p)
        e = {'mode': oct(st.st_mode), 'mtime': int(st.st_mtime), 'owner': f'{st.st_uid}:{st.st_gid}'}
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            e['rdev'] = f'{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}'
        if stat.S_ISLNK(st.st_mode):
            e['target'] = os.readlink(p)
            e['size'] = st.st_size
        elif stat.S_ISREG(st.st_mode):
            e['size'] = st.st_size
            with open(p, 'rb') as f:
                e['sha256'] = hashlib.file_digest(f, 'sha256').hexdigest()
        out[rel] = e

    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            entry(os.path.relpath(os.path.join(dirpath, name), root))
    print(json.dumps(out, sort_keys=True, indent=1))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == 'rename':
            os.rename(*args)
        elif cmd == 'rmdir':
            os.rmdir(*args)
        elif cmd == 'unlink':
            os.unlink(*args)
        elif cmd == 'socket':
            socket_(*args)
        else:
            globals()[cmd](*args)
    except OSError as e:
        print(errno.errorcode[e.errno])
        sys.exit(1)


main()
