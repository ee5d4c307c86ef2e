"""Writes N synthetic "satellite scenes" (16x16 brightness grids) into DIR, seeded."""
import os
import random
import sys

n, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
os.makedirs(out, exist_ok=True)
for i in range(n):
    base = rng.randint(40, 200)
    rows = [" ".join(str(max(0, min(255, base + rng.randint(-40, 40)))) for _ in range(16)) for _ in range(16)]
    with open(os.path.join(out, f"scene-{seed}-{i}.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")
