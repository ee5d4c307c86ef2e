// The Pfs story against the store opened in-process.
import t from 'tap'
import { pfsSuite } from './helpers/pfs-suite.js'
pfsSuite(t, 'embedded')
