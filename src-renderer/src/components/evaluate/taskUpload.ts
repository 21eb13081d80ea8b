/**
 * Importing a task file from the browser. A page cannot hand the server a path, so picked files
 * are uploaded, each into the server's uploads folder under a name of its own: the data files a
 * task names relative to itself are no longer beside it there. So the user picks the task file
 * together with its data files; the data files go up first, and the task file last, with its
 * `dataset_kwargs.data_files` pointing at their uploaded copies (absolute paths, which a task file
 * may hold). Everything else in the file stays as written, comments included.
 */
import { isMap, isScalar, parseDocument, type Document } from 'yaml'

const TASK_FILE_NAME = /\.(ya?ml|json)$/i
/** The server refuses larger task files; a larger picked file is taken for data. */
const MAX_TASK_FILE_BYTES = 4 << 20

export interface TaskUpload {
  taskFile: File
  /** Each data file the task names, with the `data_files` entry naming it (null: a lone path). */
  dataFiles: { split: string | null; file: File }[]
  /** The task file's text with each data file's path replaced by where it was uploaded. */
  pointedAt(uploaded: ReadonlyMap<File, string>): string
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path
}

function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)
}

/** A picked file read as a task file (a YAML or JSON mapping with `task` or `group`), else null. */
async function readTaskDocument(file: File): Promise<Document | null> {
  if (!TASK_FILE_NAME.test(file.name) || file.size > MAX_TASK_FILE_BYTES) return null
  const document = parseDocument(await file.text())
  if (document.errors.length > 0 || !isMap(document.contents)) return null
  return document.has('task') || document.has('group') ? document : null
}

/** The `data_files` entries: split → path (split null for a single path). */
function dataFileEntries(file: File, document: Document): { split: string | null; path: string }[] {
  const node = document.getIn(['dataset_kwargs', 'data_files'], true)
  if (isScalar(node) && typeof node.value === 'string') return [{ split: null, path: node.value }]
  if (!isMap(node)) return []
  return node.items.flatMap((pair) => {
    const split = isScalar(pair.key) ? String(pair.key.value) : null
    const path = isScalar(pair.value) ? pair.value.value : null
    if (split === null || typeof path !== 'string') {
      throw new Error(`${file.name}: dataset_kwargs.data_files must map each split to a file path`)
    }
    return [{ split, path }]
  })
}

/** The one task file among the picked files; throws when there is none or more than one. */
export async function findTaskFile(files: readonly File[]): Promise<{ file: File; document: Document }> {
  const read = await Promise.all(
    files.map(async (file) => ({ file, document: await readTaskDocument(file) }))
  )
  const tasks = read.filter((entry): entry is { file: File; document: Document } => entry.document !== null)
  if (tasks.length === 0) {
    throw new Error(
      `none of ${files.map((file) => file.name).join(', ')} is a task file (YAML or JSON with a "task" key)`
    )
  }
  if (tasks.length > 1) {
    throw new Error(
      `choose one task file at a time: ${tasks.map(({ file }) => file.name).join(' and ')} are task files`
    )
  }
  return tasks[0]
}

/**
 * Finds the task file among the picked files and the picked data files it names. Throws, in words
 * a user can act on, when there is no task file, more than one, one that names a data file that
 * was not picked, or one that names other task files by relative path (a group, an include).
 */
export async function planTaskUpload(files: readonly File[]): Promise<TaskUpload> {
  const { file: taskFile, document } = await findTaskFile(files)
  for (const key of ['group', 'include']) {
    if (document.has(key)) {
      throw new Error(
        `${taskFile.name} has "${key}": it names other task files by path, which an upload cannot keep. ` +
          'Type the path of the task file on the machine running Finetune Studio instead.'
      )
    }
  }
  const byName = new Map(files.filter((file) => file !== taskFile).map((file) => [file.name, file]))
  const dataFiles: TaskUpload['dataFiles'] = []
  const missing: string[] = []
  for (const { split, path } of dataFileEntries(taskFile, document)) {
    const file = byName.get(baseName(path))
    if (file) dataFiles.push({ split, file })
    // An absolute path names a file on the server itself, which stays where it is.
    else if (!isAbsolutePath(path))
      missing.push(`${path} (dataset_kwargs.data_files${split === null ? '' : `.${split}`})`)
  }
  if (missing.length > 0) {
    throw new Error(
      `${taskFile.name} names ${missing.join(', ')}: choose the data files together with the task file`
    )
  }
  return {
    taskFile,
    dataFiles,
    pointedAt(uploaded) {
      const pointed = document.clone()
      for (const { split, file } of dataFiles) {
        const where = uploaded.get(file)
        if (where === undefined) throw new Error(`${file.name} was not uploaded`)
        pointed.setIn(
          split === null ? ['dataset_kwargs', 'data_files'] : ['dataset_kwargs', 'data_files', split],
          where
        )
      }
      return pointed.toString()
    }
  }
}
