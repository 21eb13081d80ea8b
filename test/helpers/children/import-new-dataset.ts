/**
 * Run by the fault tests in a process of its own: imports a JSONL file of messages rows into a new
 * dataset "data" of a store, batch by batch, as a large import does.
 *
 *   tsx test/helpers/children/import-new-dataset.ts STORE_DIR FILE
 */
import { importFile } from '../../../src-main/datasets/import'
import { defaultMapping } from '../../../src-main/datasets/import-mapping'
import { openStore } from '../../../src-main/store'
import { importRequest } from '../../datasets/import-helpers'

const [storeDir, file] = process.argv.slice(2)
const store = openStore(storeDir)
await importFile(store, importRequest(file, defaultMapping('messages', ['messages'])), {
  directImportBytes: 0
})
store.close()
