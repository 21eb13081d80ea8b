import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { afterEach } from 'vitest'
import { openDatabase } from '../../src-main/store/db'
import { openStore, type Store } from '../../src-main/store'
import type { Conversation, SampleRecord } from '../../src-main/store/repos/samples'

const made: string[] = []
/** Closers run after each test; a test may have closed the database itself already. */
const closers: (() => void)[] = []

afterEach(() => {
  for (const close of closers.splice(0)) close()
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A fresh folder under the OS temp dir, removed after the test. */
export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'finetune-studio-store-'))
  made.push(dir)
  return dir
}

/** A store in a fresh temp folder, closed after the test. */
export function openTempStore(): Store {
  const store = openStore(makeTempDir())
  closers.push(() => store.db.open && store.close())
  return store
}

/** A database in a fresh temp folder with no migrations run, closed after the test. */
export function openBareDatabase(): { db: Database.Database; file: string } {
  const file = join(makeTempDir(), 'studio.db')
  const db = openDatabase(file, { migrate: false })
  closers.push(() => db.open && db.close())
  return { db, file }
}

export function chat(user: string, assistant: string): Conversation {
  return {
    messages: [
      { role: 'user', content: user },
      { role: 'assistant', content: assistant }
    ]
  }
}

/** The dataset's live samples in id order, read as the app reads them (ids by filter, then each sample). */
export function liveSamples(store: Store, datasetId: number, page: { limit?: number } = {}): SampleRecord[] {
  const ids = store.datasets.sampleIds(datasetId)
  return ids.slice(0, page.limit ?? ids.length).map((id) => store.datasets.getSample(id)!)
}

export function tableNames(db: Database.Database): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    .all()
    .map((row) => row.name)
}

/** Everything a run points at: a recipe, a base model and a dataset version. */
export function seedRunInputs(store: Store): {
  recipeId: number
  baseModelId: number
  datasetVersionId: number
} {
  const recipe = store.recipes.upsert({
    name: 'sft-lora',
    version: 1,
    description: 'LoRA SFT',
    paramsSchema: {}
  })
  const model = store.models.register({
    name: 'stories260K',
    path: '/models/stories260K',
    architecture: 'LlamaForCausalLM',
    parameterCount: 260_000,
    dtype: 'F32',
    contentHash: 'abc',
    config: { hidden_size: 64 }
  })
  const dataset = store.datasets.create({ name: 'seed data', description: '' })
  store.datasets.addSamples(dataset.id, [{ conversation: chat('hi', 'hello') }])
  const version = store.datasets.cutVersion(dataset.id, 'first')
  return { recipeId: recipe.id, baseModelId: model.id, datasetVersionId: version.id }
}
