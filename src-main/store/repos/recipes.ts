import type Database from 'better-sqlite3'
import { parseJsonObject } from '../json'

export interface RecipeInput {
  /** The recipe's stable identifier, e.g. 'sft-lora'. */
  name: string
  /** Raised by the recipe file whenever its behaviour changes; runs record the one they used. */
  version: number
  description: string
  /** JSON Schema of the recipe's parameters, for forms and validation. */
  paramsSchema: Record<string, unknown>
}

export interface RecipeRecord extends RecipeInput {
  id: number
  createdAt: string
}

interface RecipeRow {
  id: number
  name: string
  version: number
  description: string
  params_schema: string
  created_at: string
}

function toRecipeRecord(row: RecipeRow): RecipeRecord {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    description: row.description,
    paramsSchema: parseJsonObject(row.params_schema, 'recipes.params_schema'),
    createdAt: row.created_at
  }
}

export function createRecipesRepo(db: Database.Database) {
  const sql = {
    upsert: db.prepare<
      { name: string; version: number; description: string; paramsSchema: string },
      { id: number }
    >(
      `INSERT INTO recipes (name, version, description, params_schema)
       VALUES (@name, @version, @description, @paramsSchema)
       ON CONFLICT (name) DO UPDATE SET
         version = excluded.version, description = excluded.description, params_schema = excluded.params_schema
       RETURNING id`
    ),
    list: db.prepare<[], RecipeRow>('SELECT * FROM recipes ORDER BY name'),
    get: db.prepare<[number], RecipeRow>('SELECT * FROM recipes WHERE id = ?'),
    getByName: db.prepare<[string], RecipeRow>('SELECT * FROM recipes WHERE name = ?')
  }

  function get(id: number): RecipeRecord | null {
    const row = sql.get.get(id)
    return row ? toRecipeRecord(row) : null
  }

  /**
   * Recipes are code; this mirrors a recipe file into the table at startup so runs can point at it.
   * Keeps the id when the name exists, so runs stay attached across recipe versions.
   */
  function upsert(recipe: RecipeInput): RecipeRecord {
    const { id } = sql.upsert.get({
      name: recipe.name,
      version: recipe.version,
      description: recipe.description,
      paramsSchema: JSON.stringify(recipe.paramsSchema)
    })!
    return get(id)!
  }

  function getByName(name: string): RecipeRecord | null {
    const row = sql.getByName.get(name)
    return row ? toRecipeRecord(row) : null
  }

  return {
    upsert,
    list: (): RecipeRecord[] => sql.list.all().map(toRecipeRecord),
    get,
    getByName
  }
}

export type RecipesRepo = ReturnType<typeof createRecipesRepo>
