/** Entry of an import's reader thread (see import-reader.ts). */
import { parentPort, workerData } from 'node:worker_threads'
import { serveBatches, type ReaderRequest } from './import-reader'

await serveBatches(workerData as ReaderRequest, parentPort!)
