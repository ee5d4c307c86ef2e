# The posix story's operations, run in $D: a plain folder, then a branch folder of the
# mount. Every step logs "name: ok <output>" or "name: failed: <message>"; the two logs
# must be equal line for line. $OPS is posix-ops.py, $PY python3, $L a scratch folder
# with seed.bin and kept-src.
. "$(dirname "${BASH_SOURCE[0]}")/story-lib.sh"
step make-tree       mkdir -p docs/sub
step write           sh -c 'echo hello > docs/a.txt && printf abc > docs/sub/b.txt && cat docs/a.txt docs/sub/b.txt'
step copy-5MiB       cp "$L/seed.bin" big.bin
step seek-writes     ops seekwrite big.bin 42 40
step seek-reads      ops seekread big.bin 7 30
step append-echo     sh -c 'echo more >> docs/a.txt'
step append-python   ops append docs/a.txt 'tail\n'
step append-big      sh -c 'head -c 70000 "$L/seed.bin" >> big.bin && stat -c %s big.bin'
step read-appended   cat docs/a.txt
step shrink          sh -c 'cp docs/a.txt t1 && truncate -s 3 t1 && cat t1'
step grow            sh -c 'printf xyz > t2 && truncate -s 10000 t2 && stat -c %s t2'
step shrink-big      truncate -s 4000123 big.bin
step grow-big        truncate -s 5242880 big.bin
step ftruncate       ops ftrunc t3
step rename-file     mv docs/a.txt docs/renamed.txt
step rename-over     sh -c 'echo x > over1 && echo y > over2 && mv over1 over2 && cat over2'
step rename-over-py  ops rename t2 over2
step rename-dir      mv docs/sub docs/sub2
step rename-top-dir  mv docs moved
step dir-over-empty  sh -c 'mkdir empty dir2 && echo f > dir2/f && "$PY" "$OPS" rename dir2 empty && cat empty/f'
step dir-over-full   sh -c 'mkdir full dir3 && echo g > full/g && "$PY" "$OPS" rename dir3 full'
step file-over-dir   ops rename over2 full
step dir-over-file   ops rename dir3 t1
step rename-missing  ops rename nope elsewhere
step rename-in-self  ops rename moved moved/sub2/inside
step unlink          rm t3
step unlink-missing  rm nope
step unlink-dir      ops unlink dir3
step mkdir-rmdir     sh -c 'mkdir d1 && rmdir d1'
step rmdir-nonempty  sh -c 'mkdir d2 && echo > d2/f && rmdir d2'
step rmdir-nonempty2 ops rmdir d2
step rmdir-file      rmdir t1
step rmdir-missing   ops rmdir nope
step mkdir-exists    mkdir d2
step mkdir-no-parent mkdir no/parent
step chmod-file      chmod 600 t1
step chmod-exec      sh -c 'printf "#!/bin/sh\necho ran\n" > run.sh && chmod 755 run.sh && ./run.sh'
step chmod-dir       chmod 750 moved
step touch-d         touch -d '2021-03-04 05:06:07' t1
step touch-d-new     touch -d '2019-01-01 00:00:00' brand-new
step touch-d-big     touch -d '2020-02-02 02:02:02' big.bin
step cp-keep-times   sh -c 'touch -d "2011-11-11 11:11:11" "$L/kept-src" && cp -p "$L/kept-src" kept-times'
step touch-d-dir     touch -d '2018-08-08 08:08:08' full
step symlink         ln -s moved/renamed.txt link1
step symlink-dangle  ln -s nowhere/at/all dangling
step symlink-dir     ln -s moved dirlink
step symlink-exists  ln -s t1 link1
step readlink        readlink link1 dangling dirlink
step via-symlinks    cat link1 dirlink/sub2/b.txt
step dangling-read   cat dangling
step fsync           ops fsync synced.bin 12345
step rename-open     ops renameopen inflight landed
step unlink-open     ops unlinkopen doomed
step replace-open    ops replaceopen victim usurper
step read-back       ops seekread big.bin 7 30
step listing         ls -AR
step name-255        sh -c 'n=$(printf "%0255d" 0); touch "$n" && ls | grep -c "^$n$" && rm "$n"'
step name-256        sh -c 'touch "$(printf "%0256d" 0)"'
step mkdir-256       sh -c 'mkdir "$(printf "%0256d" 0)"'
step name-256-utf8   sh -c 'touch "$(printf "é%.0s" $(seq 128))"'
step dir-nlink       sh -c 'mkdir -p nl/a nl/b nl/c/d && echo f > nl/f && stat -c %h nl nl/a nl/c'
