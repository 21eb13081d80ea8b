/**
 * A training checkpoint as weights the inference engine can load. A checkpoint holds the trained
 * tensors and optimizer state only, so its trained tensors are exported once, into
 * `<checkpoint>/inference/`: a PEFT adapter folder for LoRA (loaded over the base model), an HF
 * model folder for full fine-tuning. The folder is filled under a temporary name and renamed into
 * place, so a complete one is reused as it is by later calls (its unchanged files keep the graph
 * cache's converted weights valid), and it goes with its checkpoint when retention removes that.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { temporaryPathBeside } from '../checkpoint/atomic-write'
import { readModelConfig } from '../checkpoint/hf-config'
import type { WeightsSource } from '../models/weights'
import { readTrainedTensors, TRAIN_CONFIG_FILE } from './checkpoints'
import { exportedLoraConfig, exportFullModel, exportLoraAdapter } from './export'
import type { TrainConfig } from './train-config'

export const INFERENCE_DIR = 'inference'

/** The folders to generate or score with for checkpoint `checkpointDir` of a run on base model `modelDir`. */
export function checkpointWeightsSource(checkpointDir: string, modelDir: string): WeightsSource {
  const config = readCheckpointConfig(checkpointDir)
  const dir = join(checkpointDir, INFERENCE_DIR)
  if (!existsSync(dir)) exportCheckpoint(checkpointDir, modelDir, config.adapter, dir)
  return config.adapter.kind === 'full' ? { modelDir: dir, adapterDir: null } : { modelDir, adapterDir: dir }
}

function readCheckpointConfig(checkpointDir: string): Pick<TrainConfig, 'adapter'> {
  const path = join(checkpointDir, TRAIN_CONFIG_FILE)
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Pick<TrainConfig, 'adapter'>
  } catch (error) {
    throw new Error(`checkpointWeights: cannot read ${path}: ${(error as Error).message}`)
  }
}

function exportCheckpoint(
  checkpointDir: string,
  modelDir: string,
  adapter: TrainConfig['adapter'],
  dir: string
): void {
  const model = readModelConfig(modelDir)
  const params = readTrainedTensors(checkpointDir)
  const temporary = temporaryPathBeside(dir)
  try {
    if (adapter.kind === 'full') exportFullModel(temporary, modelDir, model, params)
    else exportLoraAdapter(temporary, params, exportedLoraConfig(adapter, modelDir), model)
    renameSync(temporary, dir)
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true })
    // Another generation exported the same checkpoint at the same time: its folder is as good.
    if (existsSync(dir)) return
    throw error
  }
}
