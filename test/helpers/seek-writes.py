# Random positional writes, reads and truncates through Python's buffered file objects,
# the same sequence for every seed whatever file it runs on, so a file in the mount and a
# plain file can be compared byte for byte. Prints one JSON line: the sha256 of every
# read, and the final size and sha256.
#
#   python3 seek-writes.py FILE SEED [--existing]
#
# Offsets never depend on the file's size as the program sees it: st_blksize differs
# between file systems, so Python buffers differently and fstat sizes differ legitimately.
import hashlib
import json
import os
import random
import sys

path, seed = sys.argv[1], int(sys.argv[2])
existing = '--existing' in sys.argv
rnd = random.Random(seed)
reads = []

if not existing:
    with open(path, 'wb') as f:
        f.write(rnd.randbytes(3_000_000))

for round in range(3):
    with open(path, 'r+b') as f:
        for i in range(40):
            op = rnd.choice('wwwwrrtsa')
            off = rnd.randrange(0, 4_000_000)
            n = rnd.randrange(1, 200_000)
            if op == 'w':
                f.seek(off)
                f.write(rnd.randbytes(n))
            elif op == 'r':
                f.seek(off)
                reads.append(hashlib.sha256(f.read(n)).hexdigest())
            elif op == 't':
                f.truncate(off)
            elif op == 's':
                f.flush()
                os.fsync(f.fileno())
            else:
                end = f.seek(0, 2)
                f.write(rnd.randbytes(n))
                reads.append(end)

with open(path, 'rb') as f:
    data = f.read()
print(json.dumps({'reads': hashlib.sha256(json.dumps(reads).encode()).hexdigest(), 'count': len(reads), 'size': len(data), 'sha256': hashlib.sha256(data).hexdigest()}))
