// Eight programs at once in one branch folder while commits land every few seconds:
// nothing written is lost, no closed file is ever read torn or stale, every commit holds
// only whole files, and the last commit is exactly what the writers left.
import t from 'tap'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { mountPfs } from './helpers/mount.js'

const CHURN = fileURLToPath(new URL('./helpers/churn.py', import.meta.url))
const SECONDS = 30
const WRITERS = 4
const READERS = 4
const COMMIT_EVERY_MS = 3000

interface Verdict {
  ops: number, reads: number, ok: number, overlapping: number, enoent: number, listings: number
  writer_errors: unknown[], torn: unknown[], stale: unknown[]
  read_errors: unknown[], unknown_names: unknown[], ls_errors: unknown[]
  torn_count: number, stale_count: number
  read_errors_count: number, unknown_names_count: number, ls_errors_count: number
  commits: number, commit_files: number, commit_bad: unknown[], commit_bad_count: number
  write_ms: unknown, read_ms: unknown
  final_files?: number, final_missing?: string[], final_extra?: string[], final_differs?: string[]
}

t.test(`${WRITERS} writers and ${READERS} readers for ${SECONDS} s with a commit every few seconds: nothing lost, nothing torn`, async t => {
  const m = await mountPfs(t)
  t.equal((await m.sh('mkdir $M/c $M/c/master $M/c/master/shared')).code, 0, 'repo, branch and shared folder')
  const log = (kind: string, i: number): string => path.join(m.local, `${kind}${i}.jsonl`)
  const writerLogs = Array.from({ length: WRITERS }, (_, i) => log('writer', i))
  const readerLogs = Array.from({ length: READERS }, (_, i) => log('reader', i))
  // The real interpreter, not a version manager's shim: eight shims starting at once on a
  // busy machine take seconds.
  const python = (await m.sh('python3 -c "import sys; print(sys.executable)"')).stdout.trim()
  const until = Date.now() / 1000 + SECONDS
  const churn = async (mode: 'write' | 'read', i: number, file: string): Promise<{ what: string, code: number | null, stderr: string, s: number }> => {
    const t0 = Date.now()
    const r = await m.sh(`${python} ${CHURN} ${mode} $M/c/master ${i} ${file} ${until}`, { timeoutMs: (SECONDS + 90) * 1000 })
    return { what: `${mode === 'write' ? 'writer' : 'reader'} ${i}`, code: r.code, stderr: r.stderr, s: (Date.now() - t0) / 1000 }
  }

  // A commit starts every few seconds (start to start) until the programs are done.
  const commits: Array<{ code: number | null, out: string }> = []
  const stop = new AbortController()
  const committer = (async () => {
    let next = Date.now() + COMMIT_EVERY_MS
    while (!stop.signal.aborted) {
      await sleep(Math.max(0, next - Date.now()), undefined, { signal: stop.signal }).catch(() => {})
      if (stop.signal.aborted) break
      next = Date.now() + COMMIT_EVERY_MS
      const r = await m.pfs(['commit', 'c@master', '-m', `tick ${commits.length + 1}`])
      commits.push({ code: r.code, out: r.stdout + r.stderr })
    }
  })()
  const started = Date.now()
  const done = await Promise.all([
    ...writerLogs.map(async (f, i) => await churn('write', i, f)),
    ...readerLogs.map(async (f, i) => await churn('read', i, f))
  ])
  t.comment(`the programs ran ${((Date.now() - started) / 1000).toFixed(1)} s (${done.map(d => d.s.toFixed(1)).join(', ')})`)
  stop.abort()
  await committer
  for (const d of done) t.equal(d.code, 0, `${d.what} finished cleanly`, { stderr: d.stderr.slice(-2000) })
  const landed = commits.filter(c => c.code === 0)
  t.ok(landed.length >= 4, `commits landed during the run (${landed.length})`)
  t.same(commits.filter(c => c.code !== 0 && !/nothing to commit/.test(c.out)), [], 'every pfs commit succeeded or had nothing to commit')

  const finished = async (): Promise<string[]> => {
    const all = JSON.parse((await m.pfs(['log', 'c', '--json'])).stdout) as Array<{ id: string, finished: number | null }>
    return all.filter(c => c.finished !== null).map(c => c.id)
  }
  const during = await finished()
  t.ok(during.length >= landed.length, 'every landed commit is in the log')
  const judged = await m.sh(`${python} ${CHURN} check --writers ${writerLogs.join(' ')} --readers ${readerLogs.join(' ')} --commits ${during.map(id => `$M/c/.commits/${id}`).join(' ')}`, { timeoutMs: 120_000 })
  t.equal(judged.code, 0, 'the judge ran', { stderr: judged.stderr })
  const v = JSON.parse(judged.stdout) as Verdict
  t.comment(`${v.ops} changes, ${v.reads} reads (${v.ok} of settled files, ${v.overlapping} during a change, ${v.enoent} of gone files), ${v.listings} listings, ${v.commits} commits holding ${v.commit_files} files`)
  t.comment(`change latency ms ${JSON.stringify(v.write_ms)}, read latency ms ${JSON.stringify(v.read_ms)}`)
  t.same(v.writer_errors, [], 'no writer saw an error')
  t.ok(v.ops > 200 && v.reads > 200, 'the workload did real work')
  t.equal(v.read_errors_count, 0, 'no read failed (other than ENOENT for a file that was gone)', { read_errors: v.read_errors })
  t.equal(v.torn_count, 0, 'no read of a closed file returned content that was never written', { torn: v.torn })
  t.equal(v.stale_count, 0, 'a read after close returns the last closed version (close-to-open)', { stale: v.stale })
  t.equal(v.unknown_names_count, 0, 'listings show only names the writers made', { unknown: v.unknown_names })
  t.equal(v.ls_errors_count, 0, 'ls -R fails only on names that vanished under it', { ls_errors: v.ls_errors })
  t.equal(v.commit_bad_count, 0, 'every file of every commit is a version a writer closed', { bad: v.commit_bad })

  t.equal((await m.sh('mkdir $M/c/master/last && echo last > $M/c/master/last/words.txt')).code, 0, 'one more file after the last tick')
  await m.stop()
  t.equal(m.proc.exitCode, 0, 'the mount stopped cleanly', { output: m.output() })
  t.match(m.output(), /^committed c@master /m, 'the clean unmount committed the last change')
  t.match(m.output(), /^unmounted /m)
  const after = JSON.parse((await m.pfs(['log', 'c', '--json'])).stdout) as Array<{ id: string, finished: number | null }>
  t.same(after.filter(c => c.finished === null), [], 'no write session is left open')
  t.equal((await m.pfs(['get', 'c@master:', '-o', path.join(m.local, 'final')])).code, 0, 'pfs get of the last commit')
  t.equal((await m.sh('cat final/last/words.txt && rm -r final/last')).stdout, 'last\n', 'the last commit holds the file written last')
  const final = JSON.parse((await m.sh(`${python} ${CHURN} check --writers ${writerLogs.join(' ')} --readers --final $L/final`)).stdout) as Verdict
  t.ok((final.final_files ?? 0) > 20, `the writers left files (${final.final_files ?? 0})`)
  t.same(final.final_missing, [], 'no file is missing from the last commit')
  t.same(final.final_extra, [], 'no file is there that a writer removed or renamed away')
  t.same(final.final_differs, [], 'every file holds the content its writer last wrote')
  const fsck = await m.pfs(['fsck'])
  t.equal(fsck.code, 0, 'pfs fsck is clean', { out: fsck.stdout + fsck.stderr })
  t.match(fsck.stdout, new RegExp(`and ${after.length} commits`), 'fsck checked every commit')
})

t.test('a file removed or replaced while another program reads it: the reader keeps its bytes, history gets no trace', async t => {
  const m = await mountPfs(t)
  const setup = await m.sh(`set -e
    mkdir $M/h $M/h/master
    head -c 3000000 /dev/urandom > victim.bin; cp victim.bin $M/h/master/victim.bin
    head -c 3000000 /dev/urandom > replaced.bin; cp replaced.bin $M/h/master/replaced.bin
    echo newer > $M/h/master/newer.txt`)
  t.equal(setup.code, 0, 'two big files committed', { stderr: setup.stderr })
  t.equal((await m.pfs(['commit', 'h@master', '-m', 'two files'])).code, 0)
  // The holder opens both, reads a little, and reads the rest only after they are gone; it
  // also writes a file that is removed while it still writes.
  const holder = m.sh(`python3 -c '
import os, sys, time, hashlib
fds = [os.open(os.environ["M"] + "/h/master/" + n, os.O_RDONLY) for n in ("victim.bin", "replaced.bin")]
for fd in fds: os.read(fd, 10)
w = os.open(os.environ["M"] + "/h/master/scratch.txt", os.O_WRONLY | os.O_CREAT, 0o644)
os.write(w, b"x" * 1000)
open("ready", "w").close()
while not os.path.exists("go"): time.sleep(0.05)
os.write(w, b"y" * 1000)
print(os.fstat(w).st_size)
os.close(w)
for fd in fds:
    data = b"".join(iter(lambda: os.read(fd, 1 << 20), b"")) if os.lseek(fd, 0, 0) == 0 else b""
    print(hashlib.sha256(data).hexdigest())
'`, { timeoutMs: 60_000 })
  const changed = await m.sh(`set -e
    while [ ! -e ready ]; do sleep 0.05; done
    rm $M/h/master/victim.bin $M/h/master/scratch.txt
    mv $M/h/master/newer.txt $M/h/master/replaced.bin
    ls -A $M/h/master`)
  t.equal(changed.code, 0, 'rm and mv over files that are open elsewhere', { stderr: changed.stderr })
  t.equal(changed.stdout, 'replaced.bin\n', 'the branch folder shows only what is left')
  t.equal((await m.pfs(['commit', 'h@master', '-m', 'while open'])).code, 0, 'commit while the reader still holds both')
  t.equal((await m.pfs(['ls', 'h@master'])).stdout.split('\n').filter(l => l.includes('fuse_hidden')).length, 0, 'the commit holds no .fuse_hidden files', { ls: (await m.pfs(['ls', 'h@master'])).stdout })
  t.equal((await m.pfs(['cat', 'h@master:replaced.bin'])).stdout, 'newer\n')
  await m.sh('touch go')
  const held = await holder
  t.equal(held.code, 0, 'the reader read both files to the end', { stderr: held.stderr })
  const want = await m.sh('sha256sum victim.bin replaced.bin | cut -d" " -f1')
  t.equal(held.stdout, '2000\n' + want.stdout, 'with the bytes they had when it opened them; the writer wrote on to its removed file')
  t.equal((await m.sh('ls -A $M/h/master')).stdout, 'replaced.bin\n', 'nothing left behind once the reader is done')
  await m.stop()
  t.equal((await m.pfs(['ls', 'h@master'])).stdout.split('\n').filter(l => l.includes('fuse_hidden')).length, 0, 'the last commit holds no .fuse_hidden files either')
  t.equal((await m.pfs(['fsck'])).code, 0, 'fsck is clean')
})

t.test('a reader that opened a file before an append does not make the next append overwrite it', async t => {
  const m = await mountPfs(t)
  // The reader's handle still shows the file as it was when opened; its short read must
  // not shrink what the kernel believes the file's size is, or the next O_APPEND write
  // lands at the old end and the append before it is lost.
  const r = await m.sh(`mkdir $M/ap $M/ap/master && python3 -c '
import os
p = os.environ["M"] + "/ap/master/log.txt"
with open(p, "wb") as f: f.write(b"a" * 1000)
reader = os.open(p, os.O_RDONLY)
for chunk in (b"b" * 1000, b"c" * 1000):
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.write(fd, chunk)
    os.close(fd)
    seen = os.pread(reader, 65536, 0)
    print(len(seen), seen in (b"a" * 1000, b"a" * 1000 + b"b" * 1000, b"a" * 1000 + b"b" * 1000 + b"c" * 1000))
os.close(reader)
with open(p, "rb") as f: data = f.read()
print(len(data), data == b"a" * 1000 + b"b" * 1000 + b"c" * 1000)
'`)
  t.equal(r.code, 0, 'the script ran', { stderr: r.stderr })
  const lines = r.stdout.trim().split('\n')
  t.match(lines[0], / True$/, 'the reader sees a version of the file')
  t.equal(lines[2], '3000 True', 'both appends are in the file, in order', { output: r.stdout })
  t.equal((await m.pfs(['commit', 'ap@master', '-m', 'appends'])).code, 0)
  t.equal((await m.pfs(['cat', 'ap@master:log.txt'])).stdout, 'a'.repeat(1000) + 'b'.repeat(1000) + 'c'.repeat(1000), 'and in the commit')
})
