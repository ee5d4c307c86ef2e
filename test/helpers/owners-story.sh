# Owners, special files and times (issue 9), run in $D: a plain folder, then a branch
# folder of the mount, as root. Same contract as posix-story.sh: the logs must be equal.
. "$(dirname "${BASH_SOURCE[0]}")/story-lib.sh"
step chown-file      sh -c 'echo x > f && chown 65534:65534 f && stat -c %u:%g f'
step chgrp-file      sh -c 'chgrp 100 f && stat -c %u:%g f'
step chown-dir       sh -c 'mkdir od && chown 1000:1000 od && stat -c %u:%g od'
step chown-link      sh -c 'ln -s f ol && chown -h 1234:5678 ol && stat -c %u:%g ol f'
step write-keeps     sh -c 'echo more >> f && stat -c "%u:%g %s" f'
step move-keeps      sh -c 'mv f f2 && stat -c %u:%g f2'
step setgid-folder   sh -c 'mkdir sg && chown 0:4321 sg && chmod 2775 sg && echo y > sg/n && mkdir sg/sub && stat -c "%g %A" sg/n sg/sub'
step mkfifo          sh -c 'mkfifo -m 640 p && stat -c "%F %a %s" p'
step fifo-carries    sh -c '(echo through the fifo > p &) && cat p'
step fifo-exists     mkfifo p
step fifo-chmod      sh -c 'chmod 600 p && chown 7:7 p && stat -c "%F %a %u:%g" p'
step fifo-rename     sh -c 'mkfifo p3 && mv p3 p4 && stat -c %F p4'
step fifo-unlink     sh -c 'mkfifo p5 && rm p5 && ls p5'
step socket          ops socket s
step socket-in-use   ops socket s
step mknod-char      sh -c 'mknod cdev c 1 3 && stat -c "%F %t:%T %a" cdev'
step mknod-block     sh -c 'mknod bdev b 7 9 && stat -c "%F %t:%T" bdev'
step mknod-exists    mknod cdev c 1 5
step touch-a         sh -c 'echo a > at && touch -d @1500000000 at && touch -a -d @1900000000 at && stat -c "%X %Y" at'
step touch-m         sh -c 'touch -m -d @1000000000 at && stat -c "%X %Y" at'
step ns-times        sh -c 'touch -d "2001-02-03 04:05:06.123456789" at && stat -c "%x|%y" at'
step ns-atime        sh -c 'touch -a -d "2002-02-03 04:05:06.987654321" at && stat -c "%x|%y" at'
step dir-times       sh -c 'mkdir td && touch -a -d @1900000000 td && touch -m -d @1200000000 td && stat -c "%X %Y" td'
step ctime           ops ctimes ct
step touch-new       sh -c 'touch -d @1000000000 tn && [ "$(stat -c %Z tn)" -gt 1000000000 ] && echo ctime is now'
step atime-on-write  sh -c 'echo a > aw && touch -d @1500000000 aw && echo b >> aw && stat -c %X aw'
step atime-of-folder sh -c 'mkdir af && touch -d @1500000000 af && touch af/x && stat -c %X af'
step folder-on-write sh -c 'mkdir fw && echo a > fw/x && touch -d @1500000000 fw && echo b > fw/x && stat -c %Y fw'
step chown-back      sh -c 'echo b > back && chown 65534:65534 back && chown 0:0 back && stat -c %u:%g back'
step listing         sh -c 'find . -path ./lost+found -prune -o -printf "%y %m %U:%G %p\n" | sort'
