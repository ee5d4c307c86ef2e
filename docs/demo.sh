#!/usr/bin/env bash
# The pfs tour behind `make demo`: the embedded store (no daemon), a repo, data, history.
# Grows with each capability: the mount, then pipelines with provenance.
set -euo pipefail
cd "$(dirname "$0")/.."
pfs() { node dist/bin/pfs.js "$@"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "pfs $*"; pfs "$@"; }

work=$(mktemp -d)
export PFS_STORE=${PFS_DEMO_STORE:-$work/store}
trap 'rm -rf "$work"' EXIT
echo "demo store: $PFS_STORE (removed at the end; set PFS_DEMO_STORE to keep one)"

mkdir -p "$work/images/cats" "$work/images/dogs"
for i in 1 2 3; do head -c $((200000 * i)) /dev/urandom > "$work/images/cats/cat$i.png"; done
head -c 3000000 /dev/urandom > "$work/images/dogs/dog1.png"
echo "labels v1" > "$work/labels.txt"

run repo create images -d "training images"
run put images@master "$work/images" -m "first images"
run put images@master:labels.txt "$work/labels.txt" -m "labels"
echo "labels v2" > "$work/labels.txt"
run put images@master:labels.txt "$work/labels.txt" -m "better labels"

say "a write session: several changes, one commit"
run start images@master -m "reorganise"
run cp images@master:images/cats images@master:pets/cats
run rm images@master:images -r
run commit images@master

run log images@master
run ls images@master -r -l
say "history stays browsable: the tree two commits ago"
run ls images@master~2 -r
run cat images@master~1:labels.txt
run cat images@master~2:labels.txt
run diff images@master~1 images@master
run branch create images@experiment --from master~2
run branch list images
run get images@master:pets -o "$work/restored"
say "ls $work/restored/cats"; ls -l "$work/restored/cats"
say "the mount: repos and branches are folders, history is a cd away"
mnt="$work/pfs"
node dist/bin/pfs.js mount "$mnt" > "$work/mount.log" 2>&1 &
mount_pid=$!
trap 'kill $mount_pid 2>/dev/null || true; wait $mount_pid 2>/dev/null || true; fusermount -uz "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q '^mounted' "$work/mount.log" 2>/dev/null && break; sleep 0.1; done
cat "$work/mount.log"
say "ls $mnt/images"; ls "$mnt/images"
say "ls $mnt/images/master/pets/cats"; ls -l "$mnt/images/master/pets/cats"
say "cat $mnt/images/master~1/labels.txt   # an old commit, by cd"; cat "$mnt/images/master~1/labels.txt"
say "ls $mnt/images/.commits   # every commit"; ls "$mnt/images/.commits"
say "echo 'labels v3' > $mnt/images/master/labels.txt   # opens a write session"
echo "labels v3" > "$mnt/images/master/labels.txt"
say "cp $work/labels.txt $mnt/images/master/pets/labels-copy.txt"
cp "$work/labels.txt" "$mnt/images/master/pets/labels-copy.txt"
say "echo nope > $mnt/images/master~1/labels.txt   # history is read-only"
echo nope > "$mnt/images/master~1/labels.txt" || true
run commit images@master -m "edited through the mount"
run log images@master -n 3
run diff images@master~1 images@master
say "stopping the mount (a clean stop commits any open session)"
kill -TERM $mount_pid; wait $mount_pid || true
run du
run fsck
run gc

say "pipelines: a three-stage scorer (examples/scorer) runs on every new commit, each datum in a sandbox"
run repo create scenes -d "satellite scenes"
python3 examples/scorer/gen.py 5 1 "$work/scenes"
run put scenes@master:/ "$work/scenes/" -m "five scenes"
for stage in preprocess train score; do run pipeline create -f "examples/scorer/$stage.yaml"; done
run ls score@master
say "two new scenes: the put runs the jobs it queued; only the new scenes' datums run"
python3 examples/scorer/gen.py 2 2 "$work/more"
run put scenes@master:/ "$work/more/" -m "two more scenes"
run job list -p preprocess
run datum list preprocess
run cat score@master:scene-2-1.score
say "where the newest score came from: back to the raw scenes commit"
run provenance score@master
run inspect score@master
run wait scenes@master

say "with a mount up, the mount runs the pipelines: a put returns at once, pfs wait follows"
node dist/bin/pfs.js mount "$mnt" > "$work/mount.log" 2>&1 &
mount_pid=$!
for _ in $(seq 1 100); do grep -q '^mounted' "$work/mount.log" 2>/dev/null && break; sleep 0.1; done
python3 examples/scorer/gen.py 1 3 "$work/third"
run put scenes@master:/ "$work/third/" -m "one more scene"
run wait scenes@master
run job list -p score
say "ls -l $mnt/score/.provenance/master   # each input commit of the newest scores, by name"
ls -l "$mnt/score/.provenance/master"
say "cat $mnt/score/.provenance/master/train/model   # the model they were made with"
cat "$mnt/score/.provenance/master/train/model"
run logs -p train
kill -TERM $mount_pid; wait $mount_pid || true
echo
echo "done: every commit above is still readable with 'pfs ls images@<rev>' or under /pfs"
