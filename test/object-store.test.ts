import t from 'tap'
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { LocalObjectStore } from '../store/objects/local.js'
import { MemoryObjectStore } from '../store/objects/memory.js'
import { objectStoreSuite } from './helpers/object-store-suite.js'

const root = t.testdir()

objectStoreSuite(t, 'local folder', async () => new LocalObjectStore(await mkdtemp(path.join(root, 'objects-'))))
objectStoreSuite(t, 'memory', async () => new MemoryObjectStore())

t.test('local folder: a temp file left by a crash mid-put is not listed', async t => {
  const dir = await mkdtemp(path.join(root, 'crash-'))
  const store = new LocalObjectStore(dir)
  await store.put('chunks/ab/ab1', Buffer.from('whole'))
  await mkdir(path.join(dir, 'chunks/cd'), { recursive: true })
  await writeFile(path.join(dir, 'chunks/ab/.tmp-123456'), 'half')
  await writeFile(path.join(dir, 'chunks/cd/.tmp-abcdef'), 'half')
  const keys = []
  for await (const k of store.list('')) keys.push(k)
  t.same(keys, ['chunks/ab/ab1'])
})
