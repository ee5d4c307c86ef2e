// The Pfs story over an in-memory object store: what holds on disk must not hold only
// because a disk happens to behave that way.
import t from 'tap'
import { pfsSuite } from './helpers/pfs-suite.js'
pfsSuite(t, 'memory')
