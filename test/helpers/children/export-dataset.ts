/**
 * Run by the fault tests in a process of its own: exports a dataset's live samples to a JSONL file,
 * as the `dataset.export` job does.
 *
 *   tsx test/helpers/children/export-dataset.ts STORE_DIR DATASET_ID FILE
 */
import { exportSamples } from '../../../src-main/datasets/work'
import { openStore } from '../../../src-main/store'

const [storeDir, datasetId, path] = process.argv.slice(2)
const store = openStore(storeDir)
exportSamples(store, { source: { datasetId: Number(datasetId), filter: {} }, format: 'messages', path })
store.close()
