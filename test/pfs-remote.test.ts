// The same Pfs story through `pfs serve`: HTTP metadata, chunks straight from the object store.
import t from 'tap'
import { pfsSuite } from './helpers/pfs-suite.js'
pfsSuite(t, 'remote')
