// A server and the embedded store give the same answers to the same calls: the same
// ops with the same times build the same trees (equal hashes), listings, diffs and errors.
import t from 'tap'
import { tmpStore, randomData } from './helpers/stores.js'
import type { Pfs } from '../store/api/pfs.js'

async function story (pfs: Pfs): Promise<unknown[]> {
  const out: unknown[] = []
  // Ids and times differ between two runs, and so do folder mtimes (a folder's mtime is
  // when its entries last changed) and the tree hashes that include them, and ctimes (when
  // a status changed). File content hashes, sizes, modes, names and errors must be equal.
  const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, function (this: Record<string, unknown>, k, v) {
    if (['id', 'commit', 'parent', 'created', 'started', 'finished', 'head', 'open', 'next', 'root', 'ctime'].includes(k)) return typeof v
    if ((k === 'mtime' || k === 'atime' || k === 'hash') && this.kind === 'dir') return typeof v
    return v
  }))
  const record = async (f: () => Promise<unknown>): Promise<void> => {
    try {
      out.push(strip(await f()))
    } catch (e) {
      out.push({ error: (e as { code: string }).code, message: (e as Error).message })
    }
  }
  await record(() => pfs.createRepo('r', { description: 'd' }))
  for (let i = 0; i < 3; i++) await record(() => pfs.putFile('r', 'master', `dir${i % 2}/f${i}`, randomData(700_000 * (i + 1), i), { mtime: 1000 + i, message: `m${i}` }))
  await record(() => pfs.apply('r', 'master', [{ op: 'rename', from: 'dir0', path: 'moved' }, { op: 'mkdir', path: 'empty', mtime: 7 }, { op: 'setattr', path: 'moved', mtime: 9 }, { op: 'setattr', path: 'empty', mtime: 9 }]))
  await record(() => pfs.createBranch('r', 'dev', { from: 'master~1' }))
  await record(() => pfs.listRepos())
  await record(() => pfs.listBranches('r'))
  await record(() => pfs.walk('r', 'master', ''))
  await record(() => pfs.list('r', 'master~1', 'dir1'))
  await record(() => pfs.stat('r', 'dev', 'dir0/f0'))
  await record(() => pfs.readPlan('r', 'master', 'dir1/f1'))
  await record(() => pfs.diff('r', 'master~2', 'master'))
  await record(() => pfs.log('r', 'master'))
  await record(() => pfs.stat('r', 'master', 'nope'))
  await record(() => pfs.resolve('r', 'master~9'))
  await record(() => pfs.createRepo('bad/name'))
  await record(async () => (await pfs.du()).repos)
  await record(async () => (await pfs.fsck()).problems)
  return out
}

t.test('embedded and remote answer identically', async t => {
  const a = await story(await tmpStore(t, 'embedded'))
  const b = await story(await tmpStore(t, 'remote'))
  const norm = (x: unknown[]): unknown => JSON.parse(JSON.stringify(x).replace(/"key":"(packs|chunks)\/[^"]+"/g, '"key":"K"'))
  t.same(norm(b), norm(a))
  t.ok(a.length > 15)
})
