// A second (and third) process for test/lock.test.ts, running the BUILT code (dist/).
//   node store-holder.mjs hold <store>  opens the store embedded, prints `READY <pid>`, then
//                                       obeys stdin lines: `put <path>` (prints `PUT <commit>`)
//                                       and `close` (closes the store and exits 0)
//   node store-holder.mjs open <store>  tries to open the store as any command would, prints
//                                       one JSON line {ok} or {code, message, name}, exits
import { createInterface } from 'node:readline'
import { openPfs } from '../../dist/store/index.js'

const [mode, store] = process.argv.slice(2)

if (mode === 'open') {
  try {
    const pfs = await openPfs({ store })
    const repos = await pfs.listRepos()
    await pfs.close()
    console.log(JSON.stringify({ ok: true, mode: pfs.mode, repos: repos.map(r => r.name) }))
  } catch (e) {
    console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message, data: e.data }))
  }
} else if (mode === 'hold') {
  const pfs = await openPfs({ store, embeddedOnly: true })
  console.log(`READY ${process.pid}`)
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.split(' ')
    if (cmd === 'put') {
      const res = await pfs.putFile('data', 'master', arg, Buffer.from(`written by ${process.pid} while another process knocked`))
      console.log(`PUT ${res.commit.id}`)
    } else if (cmd === 'close') {
      await pfs.close()
      console.log('CLOSED')
      process.exit(0)
    }
  }
} else {
  console.error(`unknown mode ${mode}`)
  process.exit(2)
}
