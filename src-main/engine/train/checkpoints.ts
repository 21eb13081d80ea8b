/**
 * Training checkpoints: one folder per saved step, written atomically, holding everything a
 * resumed run needs to continue exactly where the saved one was.
 *
 *   <out>/checkpoints/step-<N>/
 *     trainable.safetensors   the trainable tensors by name (HF names, or PEFT names for LoRA), F32
 *     optimizer.safetensors   the optimizer state by name (e.g. "<param>.exp_avg"), F32
 *     trainer_state.json      step, schedule position, RNG, data cursor, config hash, metrics so far
 *     train_config.json       the resolved configuration of the run that wrote it
 *
 * Atomicity: the folder is filled under a hidden temporary name beside its destination, every file
 * flushed, then renamed into place (writeFolderAtomically), so `step-<N>/` either exists complete
 * or not at all. A failure while writing removes the temporary folder; one a killed process left is
 * removed when training starts in that folder again, or when the store opens (see
 * removeStaleRunTemporaries).
 *
 * Values are stored as float32, the dtype the step graph trains in, so a resumed run reads back
 * exactly the bits the saved run held; nothing is rounded on the way.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  removeStaleTemporaries,
  writeFolderAtomically,
  writeTextFileAtomically
} from '../checkpoint/atomic-write'
import { openSafetensors } from '../checkpoint/safetensors'
import { writeSafetensors, type TensorToWrite } from '../checkpoint/safetensors-write'
import type { DataCursor } from './batches'
import type { RngState } from '../rng'
import type { RecipeState } from './run-hooks'
import type { StepProgram, TrainableState } from './step-program'

export const CHECKPOINTS_DIR = 'checkpoints'
export const TRAINABLE_FILE = 'trainable.safetensors'
export const OPTIMIZER_FILE = 'optimizer.safetensors'
export const TRAINER_STATE_FILE = 'trainer_state.json'
export const TRAIN_CONFIG_FILE = 'train_config.json'
/** Bump when the folder layout or trainer_state.json changes incompatibly. */
export const CHECKPOINT_FORMAT = 1

/** One optimizer step as logged: what progress events report and metrics files hold. */
export interface StepRecord {
  step: number
  /** The loss of this step's data, computed before its update. */
  loss: number
  lr: number
  gradNorm: number
  /** Non-padding tokens the step processed (all micro-batches). */
  tokens: number
  /** Tokens that carried a loss. */
  trainedTokens: number
  tokensPerSecond: number
  /** Recipe metrics (e.g. asft's kl). */
  metrics: Record<string, number>
}

export interface EvalRecord {
  step: number
  /** Mean NLL per labelled held-out token. */
  loss: number
  tokens: number
}

/** trainer_state.json. */
export interface TrainerState {
  format: typeof CHECKPOINT_FORMAT
  /** Optimizer steps done; the next update is step + 1 (1-based), its lr index `step` (0-based). */
  step: number
  totalSteps: number
  /** Where the data stream continues. */
  dataCursor: DataCursor
  schedule: { kind: string; baseLr: number; warmupSteps: number; totalSteps: number; nextIndex: number }
  /**
   * Every random stream of a run is a pure function of the seed and a position the checkpoint
   * holds (epoch for the data order, step for the program's per-step draws), so this is the whole
   * RNG state; `dataOrder` is the current epoch's generator as it starts, for inspection.
   */
  rng: { seed: number; epoch: number; dataOrder: RngState }
  /** sha256 of `resumeKey`. */
  configHash: string
  /** The settings an exact resume needs unchanged, by name (see resume-key.ts). */
  resumeKey: Record<string, unknown>
  /** Training time of the run up to this step, over all its sessions. */
  elapsedSeconds: number
  trainableNames: string[]
  logHistory: StepRecord[]
  evalHistory: EvalRecord[]
  /** The recipe's run state after `step` (run-hooks.ts); null when it keeps none. */
  recipeState?: RecipeState
}

/** `<out>/checkpoints/step-<N>`. */
export function checkpointDir(outDir: string, step: number): string {
  return join(outDir, CHECKPOINTS_DIR, `step-${step}`)
}

/** The first non-finite value of the state, or null: such a state must never be saved. */
export function findNonFinite(state: TrainableState): { name: string; index: number; value: number } | null {
  for (const tensors of [state.params, state.optimizer]) {
    for (const [name, { data }] of tensors) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) return { name, index: i, value: data[i] }
      }
    }
  }
  return null
}

/**
 * Writes the checkpoint folder `dir` atomically (see the module comment). An existing folder of
 * the same name (a run resumed from an earlier step saves that step again) is replaced.
 */
export function writeCheckpoint(
  dir: string,
  tensors: TrainableState,
  state: TrainerState,
  config: unknown
): void {
  const bad = findNonFinite(tensors)
  if (bad) {
    throw new Error(
      `writeCheckpoint: ${dir}: tensor "${bad.name}" holds ${bad.value} at index ${bad.index}; ` +
        'a checkpoint with non-finite values is never written'
    )
  }
  writeFolderAtomically(dir, (temporary) => {
    writeSafetensors(join(temporary, TRAINABLE_FILE), tensorsToWrite(tensors.params), { format: 'pt' })
    writeSafetensors(join(temporary, OPTIMIZER_FILE), tensorsToWrite(tensors.optimizer), { format: 'pt' })
    writeTextFileAtomically(join(temporary, TRAIN_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n')
    writeTextFileAtomically(join(temporary, TRAINER_STATE_FILE), JSON.stringify(state, null, 2) + '\n')
  })
}

/**
 * Removes what writers killed mid-write left in a run's folder `outDir`: temporary checkpoint
 * folders, the final export's staging folder, and inference exports of checkpoints. Only
 * temporaries of processes that are gone are touched. Returns the paths removed.
 */
export function removeStaleRunTemporaries(outDir: string): string[] {
  const checkpoints = join(outDir, CHECKPOINTS_DIR)
  const steps = existsSync(checkpoints)
    ? readdirSync(checkpoints)
        .filter((name) => /^step-\d+$/.test(name))
        .map((name) => join(checkpoints, name))
    : []
  return [outDir, checkpoints, ...steps].flatMap((dir) => removeStaleTemporaries(dir))
}

/** A saved checkpoint, read back. */
export interface LoadedCheckpoint {
  dir: string
  state: TrainerState
  tensors: TrainableState
}

export function readCheckpoint(dir: string): LoadedCheckpoint {
  const statePath = join(dir, TRAINER_STATE_FILE)
  if (!existsSync(statePath)) {
    throw new Error(`readCheckpoint: ${dir} is not a training checkpoint (it has no ${TRAINER_STATE_FILE})`)
  }
  let state: TrainerState
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainerState
  } catch (error) {
    throw new Error(`readCheckpoint: cannot read ${statePath}: ${(error as Error).message}`)
  }
  if (state?.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `readCheckpoint: ${statePath} has format ${JSON.stringify(state?.format)}, this version reads ${CHECKPOINT_FORMAT}`
    )
  }
  return {
    dir,
    state,
    tensors: {
      params: readTensors(join(dir, TRAINABLE_FILE)),
      optimizer: readTensors(join(dir, OPTIMIZER_FILE))
    }
  }
}

/** Only the trained tensors of a checkpoint folder (what inference needs; the optimizer state is not read). */
export function readTrainedTensors(dir: string): TrainableState['params'] {
  return readTensors(join(dir, TRAINABLE_FILE))
}

function tensorsToWrite(tensors: TrainableState['params']): TensorToWrite[] {
  return [...tensors].map(([name, { shape, data }]) => ({ name, dtype: 'F32', shape, data }))
}

function readTensors(path: string): TrainableState['params'] {
  if (!existsSync(path)) throw new Error(`readCheckpoint: ${path} is missing`)
  const file = openSafetensors(path)
  try {
    const tensors: TrainableState['params'] = new Map()
    for (const name of file.names()) {
      const info = file.info(name)
      if (info.dtype !== 'F32') {
        throw new Error(`readCheckpoint: ${path}: tensor "${name}" is ${info.dtype}, checkpoints hold F32`)
      }
      tensors.set(name, { shape: info.shape, data: file.readFloat32(name) })
    }
    return tensors
  } finally {
    file.close()
  }
}

/** Loads a checkpoint's tensors into the program; throws naming what it lacks or has too many of. */
export function importCheckpoint(program: StepProgram, tensors: TrainableState, dir: string): void {
  const expected = [...program.trainableNames].sort()
  const found = [...tensors.params.keys()].sort()
  if (expected.join('\n') !== found.join('\n')) {
    const missing = expected.filter((name) => !tensors.params.has(name))
    const extra = found.filter((name) => !program.trainableNames.includes(name))
    throw new Error(
      `train: ${dir} does not hold this run's trainable tensors` +
        (missing.length ? `; missing ${missing.slice(0, 5).join(', ')}` : '') +
        (extra.length ? `; unexpected ${extra.slice(0, 5).join(', ')}` : '')
    )
  }
  program.importState(tensors)
}
