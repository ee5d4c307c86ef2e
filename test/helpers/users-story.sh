# Two users in $D (a plain folder, then a folder of a branch on an --allow-other mount):
# root sets things up, nobody tries them. Same contract as posix-story.sh: equal logs.
. "$(dirname "${BASH_SOURCE[0]}")/story-lib.sh"
nobody () { setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$1"; }
step setup           sh -c 'mkdir shared && chmod 1777 shared && echo secret > private && chmod 600 private &&
                            echo open > public && echo mine > shared/roots && chmod 644 shared/roots && stat -c %a shared'
step read-public     nobody 'cat public'
step read-private    nobody 'cat private'
step append-public   nobody 'echo x >> public'
step create-top      nobody 'echo x > new'
step mkdir-top       nobody 'mkdir newdir'
step create-shared   nobody 'echo x > shared/theirs && stat -c %U:%G shared/theirs'
step mkdir-shared    nobody 'mkdir shared/d && stat -c "%U:%G %a" shared/d'
step fifo-shared     nobody 'mkfifo shared/np && stat -c "%U %F" shared/np'
step chmod-own       nobody 'chmod 600 shared/theirs && stat -c %a shared/theirs'
step chmod-roots     nobody 'chmod 666 shared/roots'
step chown-own       nobody 'chown 0 shared/theirs'
step chgrp-own       nobody 'chgrp 0 shared/theirs'
step utime-roots     nobody 'touch -d @1000000000 shared/roots'
step touch-roots     nobody 'touch shared/roots'
step touch-own       nobody 'touch -d @1000000000 shared/theirs && stat -c %Y shared/theirs'
step rm-sticky       nobody 'rm -f shared/roots'
step mv-sticky       nobody 'mv shared/roots shared/mine'
step rm-own          nobody 'rm shared/theirs shared/np && rmdir shared/d && ls shared'
step root-reads      sh -c 'echo z > shared/gift && chown nobody:nogroup shared/gift && chmod 600 shared/gift && cat shared/gift'
step given-writes    nobody 'echo more >> shared/gift && cat shared/gift && stat -c "%U %a" shared/gift'
step root-still      cat shared/gift private
step listing         sh -c 'find . -printf "%y %m %U:%G %p\n" | sort'
