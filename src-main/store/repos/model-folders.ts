import type Database from 'better-sqlite3'

/** Folders the user asked model discovery to look in (models.addFolder), beside the HF cache. */
export function createModelFoldersRepo(db: Database.Database) {
  const sql = {
    list: db.prepare<[], { path: string }>('SELECT path FROM model_folders ORDER BY path'),
    add: db.prepare<[string]>('INSERT INTO model_folders (path) VALUES (?) ON CONFLICT (path) DO NOTHING'),
    remove: db.prepare<[string]>('DELETE FROM model_folders WHERE path = ?')
  }
  return {
    list: (): string[] => sql.list.all().map((row) => row.path),
    /** False when the folder was watched already. */
    add: (path: string): boolean => sql.add.run(path).changes > 0,
    /** False when the folder was not watched. */
    remove: (path: string): boolean => sql.remove.run(path).changes > 0
  }
}

export type ModelFoldersRepo = ReturnType<typeof createModelFoldersRepo>
