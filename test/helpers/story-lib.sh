# What a story script (posix-story.sh, owners-story.sh) runs on: `step NAME CMD...` runs
# CMD in $D and logs "NAME: ok <output>" or "NAME: failed: <message>", one line, so a
# plain folder's log and a branch folder's can be compared line for line.
set -u
export LC_ALL=C
cd "$D"
ops () { "$PY" "$OPS" "$@"; }
step () {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then echo "$name: ok ${out//$'\n'/ | }"; else echo "$name: failed: ${out//$'\n'/ | }"; fi
}
