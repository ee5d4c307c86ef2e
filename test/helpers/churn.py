# Writers and readers for the mount concurrency test, and the judge of what they saw.
#
#   churn.py write ROOT ID LOG UNTIL
#       Creates, overwrites, appends to, renames and removes files in ROOT/w<ID>/ (and its
#       sub/ folder) and in ROOT/shared/ under names w<ID>-*. Every change is a JSON line
#       in LOG (outside the mount): path, sha256 of the content it leaves, and the
#       monotonic times before and after the syscalls. The last line is the final state.
#   churn.py read ROOT ID LOG UNTIL
#       Lists ROOT (ls -R, or os.walk) and reads files from the listing (cat, or read()),
#       logging the sha256 of what each read returned with its start and end times.
#   churn.py check --writers LOG... --readers LOG... [--commits DIR...] [--final DIR]
#       Prints one JSON verdict (see judge()).
#
# UNTIL is a wall-clock time (seconds since the epoch): every program stops then, however
# long it took to start.
# Times are CLOCK_MONOTONIC, which every process on the machine shares. A content is
# written with several write(2) calls, so an open file passes through torn states; a read
# that overlaps no change of its path must return exactly the last closed version.
import errno
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict

EMPTY = hashlib.sha256(b'').hexdigest()


def now():
    return time.monotonic_ns()


def sha(b):
    return hashlib.sha256(b).hexdigest()


def keep(logpath, data):
    """Every content written or read, by hash, next to the logs: the judge explains torn reads with them."""
    h = sha(data)
    d = os.path.join(os.path.dirname(logpath), 'blobs')
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, h)
    if not os.path.exists(f):
        with open(f + '.' + str(os.getpid()), 'wb') as out:
            out.write(data)
        os.rename(f + '.' + str(os.getpid()), f)
    return h


def writer(root, wid, logpath, until):
    rnd = random.Random(1000 + wid)
    log = open(logpath, 'w', buffering=1)
    model = {}
    counter = 0
    dirs = [f'w{wid}', f'w{wid}/sub', 'shared']
    os.makedirs(os.path.join(root, f'w{wid}', 'sub'), exist_ok=True)

    def emit(**e):
        log.write(json.dumps(e) + '\n')

    def new_name():
        nonlocal counter
        counter += 1
        d = rnd.choice(dirs)
        return f'{d}/w{wid}-f{counter}' if d == 'shared' else f'{d}/f{counter}'

    def write_all(fd, data):
        i = 0
        while i < len(data):
            i += os.write(fd, data[i:i + rnd.randrange(1, 16384)])

    ops = 0
    while time.time() < until:
        op = rnd.choices(['create', 'overwrite', 'append', 'rename', 'unlink'], [3, 3, 3, 2, 1])[0]
        if not model:
            op = 'create'
        elif op == 'create' and len(model) >= 40:
            op = 'overwrite'
        p = new_name() if op == 'create' else rnd.choice(sorted(model))
        full = os.path.join(root, p)
        t0 = now()
        try:
            if op in ('create', 'overwrite'):
                data = os.urandom(rnd.randrange(1, 65536))
                flags = os.O_WRONLY | (os.O_CREAT | os.O_EXCL if op == 'create' else os.O_TRUNC)
                fd = os.open(full, flags, 0o644)
                write_all(fd, data)
                os.close(fd)
                model[p] = data
                emit(op=op, p=p, h=keep(logpath, data), n=len(data), t0=t0, t1=now())
            elif op == 'append':
                extra = os.urandom(rnd.randrange(1, 8192))
                fd = os.open(full, os.O_WRONLY | os.O_APPEND)
                write_all(fd, extra)
                os.close(fd)
                model[p] += extra
                emit(op=op, p=p, h=keep(logpath, model[p]), n=len(model[p]), t0=t0, t1=now())
            elif op == 'rename':
                others = [q for q in model if q != p]
                dst = rnd.choice(others) if others and rnd.random() < 0.3 else new_name()
                os.rename(full, os.path.join(root, dst))
                model[dst] = model.pop(p)
                emit(op=op, p=dst, src=p, h=sha(model[dst]), t0=t0, t1=now())
            else:
                os.unlink(full)
                del model[p]
                emit(op=op, p=p, t0=t0, t1=now())
            ops += 1
        except OSError as e:
            emit(op=op, p=p, error=f'{errno.errorcode.get(e.errno, e.errno)}: {e}', t0=t0, t1=now())
            return 1
    emit(final={q: sha(d) for q, d in model.items()}, ops=ops)
    return 0


def list_ls(root):
    """ls -R -p: folders end with a slash; sections start with 'path:'."""
    r = subprocess.run(['ls', '-R', '-p', root], capture_output=True)
    files, cur = [], ''
    for line in r.stdout.decode().split('\n'):
        if line.endswith(':') and line[:-1].startswith(root):
            cur = os.path.relpath(line[:-1], root)
            cur = '' if cur == '.' else cur + '/'
        elif line and not line.endswith('/'):
            files.append(cur + line)
    return files, r.returncode, r.stderr.decode()


def list_walk(root):
    files, errs = [], []
    for d, _, names in os.walk(root, onerror=lambda e: errs.append(str(e))):
        for n in names:
            files.append(os.path.relpath(os.path.join(d, n), root))
    return files, 0, '\n'.join(errs)


def read_one(root, p, use_cat, logpath):
    full = os.path.join(root, p)
    if use_cat:
        r = subprocess.run(['cat', full], capture_output=True)
        if r.returncode == 0:
            return keep(logpath, r.stdout), None
        return None, 'ENOENT' if b'No such file' in r.stderr else r.stderr.decode().strip()
    try:
        with open(full, 'rb') as f:
            return keep(logpath, f.read()), None
    except FileNotFoundError:
        return None, 'ENOENT'
    except OSError as e:
        return None, f'{errno.errorcode.get(e.errno, e.errno)}: {e}'


def reader(root, rid, logpath, until):
    rnd = random.Random(2000 + rid)
    log = open(logpath, 'w', buffering=1)
    files, n = [], 0
    while time.time() < until:
        if n % 15 == 0 or not files:
            how = 'ls' if (n // 15) % 2 == 0 else 'walk'
            files, code, err = (list_ls if how == 'ls' else list_walk)(root)
            log.write(json.dumps(dict(op=how, files=files, code=code, err=err)) + '\n')
            if not files:
                time.sleep(0.05)
                n += 1
                continue
        p = rnd.choice(files)
        use_cat = rnd.random() < 0.5
        t0 = now()
        h, err = read_one(root, p, use_cat, logpath)
        log.write(json.dumps(dict(op='read', p=p, h=h, err=err, via='cat' if use_cat else 'read', t0=t0, t1=now())) + '\n')
        n += 1
    return 0


def lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def hashes_under(d):
    out = {}
    for base, _, names in os.walk(d):
        for n in names:
            full = os.path.join(base, n)
            with open(full, 'rb') as f:
                out[os.path.relpath(full, d)] = sha(f.read())
    return out


def explain(blobs, r, evs):
    """How a torn read relates to the versions of its path: its length, and for each
    version the length and the first offset where they differ."""
    def load(h):
        try:
            with open(os.path.join(blobs, h), 'rb') as f:
                return f.read()
        except OSError:
            return None
    got = load(r['h'])
    out = dict(r, n=None if got is None else len(got), versions=[])
    for a, b, h in evs:
        v = None if h is None else load(h)
        diff = None
        if got is not None and v is not None:
            diff = next((i for i in range(min(len(got), len(v))) if got[i] != v[i]), min(len(got), len(v)))
        out['versions'].append(dict(t0=a, t1=b, h=h and h[:12], n=None if v is None else len(v), same_until=diff))
    return out


def judge(writer_logs, reader_logs, commit_dirs, final_dir):
    """
    reads: a read returns a version written at that path (else 'torn' when no change of
      the path overlapped it: a closed file came back mixed); a read that overlaps no
      change returns exactly the last closed version, or ENOENT exactly when the path was
      absent ('stale').
    listings: every listed name was written by someone; ls fails only on vanished names.
    commits: every file of every commit is a closed version of its path.
    final: the last commit holds exactly the writers' final files.
    """
    events = defaultdict(list)
    versions = defaultdict(set)
    final, writer_errors, ops = {}, [], 0
    for path in writer_logs:
        ls = lines(path)
        if not ls or 'final' not in ls[-1]:
            writer_errors.append(f'{path}: no final line')
        for e in ls:
            if 'final' in e:
                final.update(e['final'])
                ops += e['ops']
            elif 'error' in e:
                writer_errors.append(e)
            elif e['op'] == 'unlink':
                events[e['p']].append((e['t0'], e['t1'], None))
            else:
                events[e['p']].append((e['t0'], e['t1'], e['h']))
                versions[e['p']].add(e['h'])
                if e['op'] == 'rename':
                    events[e['src']].append((e['t0'], e['t1'], None))
    for evs in events.values():
        evs.sort()
    write_ms = sorted((b - a) / 1e6 for evs in events.values() for a, b, _ in evs)

    v = dict(ops=ops, reads=0, ok=0, overlapping=0, enoent=0, listings=0, writer_errors=writer_errors,
             torn=[], stale=[], read_errors=[], unknown_names=[], ls_errors=[], commits=0, commit_files=0, commit_bad=[])
    read_ms = []
    for path in reader_logs:
        blobs = os.path.join(os.path.dirname(path), 'blobs')
        for r in lines(path):
            if r['op'] == 'read':
                read_ms.append((r['t1'] - r['t0']) / 1e6)
            if r['op'] != 'read':
                v['listings'] += 1
                v['unknown_names'] += [f for f in r['files'] if f not in versions][:5]
                bad = [x for x in r['err'].split('\n') if x and 'No such file or directory' not in x]
                if bad:
                    v['ls_errors'].append(dict(code=r['code'], err=bad[:5]))
                continue
            v['reads'] += 1
            p, h = r['p'], r['h']
            if r['err'] not in (None, 'ENOENT'):
                v['read_errors'].append(r)
                continue
            evs = events.get(p, [])
            overlap = any(a <= r['t1'] and b >= r['t0'] for a, b, _ in evs)
            if overlap:
                # the path changed during the read: any state it passed through will do
                v['overlapping'] += 1
                continue
            before = [s for a, b, s in evs if b < r['t0']]
            expected = before[-1] if before else None
            if h is None:
                v['enoent'] += 1
                if expected is not None:
                    v['stale'].append(dict(explain(blobs, r, evs), expected=expected, why='ENOENT for a closed file'))
            elif h not in versions[p]:
                v['torn'].append(explain(blobs, r, evs))
            elif h != expected:
                v['stale'].append(dict(explain(blobs, r, evs), expected=expected, why='an older version'))
            else:
                v['ok'] += 1
    for d in commit_dirs:
        v['commits'] += 1
        for p, h in hashes_under(d).items():
            v['commit_files'] += 1
            if h not in versions.get(p, ()):
                v['commit_bad'].append(dict(commit=d, p=p, h=h, empty=h == EMPTY))
    if final_dir is not None:
        got = hashes_under(final_dir)
        v['final_files'] = len(final)
        v['final_missing'] = sorted(p for p in final if p not in got)[:20]
        v['final_extra'] = sorted(p for p in got if p not in final)[:20]
        v['final_differs'] = sorted(p for p in final if p in got and got[p] != final[p])[:20]
    pct = lambda xs, q: round(sorted(xs)[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None
    v['write_ms'] = dict(p50=pct(write_ms, 0.5), p99=pct(write_ms, 0.99), max=pct(write_ms, 1))
    v['read_ms'] = dict(p50=pct(read_ms, 0.5), p99=pct(read_ms, 0.99), max=pct(read_ms, 1))
    for k in ('torn', 'stale', 'read_errors', 'unknown_names', 'ls_errors', 'commit_bad'):
        v[k + '_count'] = len(v[k])
        v[k] = v[k][:10]
    return v


def main(argv):
    mode = argv[1]
    if mode in ('write', 'read'):
        fn = writer if mode == 'write' else reader
        return fn(argv[2], int(argv[3]), argv[4], float(argv[5]))
    groups, cur = defaultdict(list), None
    for a in argv[2:]:
        if a.startswith('--'):
            cur = a[2:]
        else:
            groups[cur].append(a)
    print(json.dumps(judge(groups['writers'], groups['readers'], groups['commits'], (groups['final'] or [None])[0])))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
