/**
 * Faults of a training process at exact points of its writes (injected: FINETUNE_STUDIO_TEST_FAULT,
 * see injected-faults.ts): killed with SIGKILL while a checkpoint or the final export is written,
 * or a disk that is full while a checkpoint is saved. Nothing half-written stays in place (what the
 * kill left is removed when the store's next door opens), and every such run can be resumed to
 * completion from its last good checkpoint, the final one included.
 */
import { readdirSync } from 'node:fs'
import { join, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import { adviceForPassingFailure } from '../../src-main/api/run-outcome'
import { INJECTED_FAULT_ENV } from '../../src-main/engine/checkpoint/injected-faults'
import type { RunSummary } from '../../src-preload/contract'
import { openApi, quickRun, useTrainingStore } from './run-fixtures'

/** Temporaries of atomic writes (`.<name>.<pid>.<hex>.tmp`) in `dir`. */
function temporariesIn(dir: string): string[] {
  return readdirSync(dir).filter((name) => /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name))
}

describe('run faults', () => {
  const fixture = useTrainingStore('fs-run-faults-')

  /** Trains a run whose training process meets `fault`; resolves when the run has ended. */
  async function runWithFault(fault: string, overrides: object): Promise<RunSummary> {
    process.env[INJECTED_FAULT_ENV] = fault
    try {
      const run = await fixture.api.call('runs.start', quickRun(fixture.inputs, overrides))
      return await fixture.api.runs.waitForRun(run.id)
    } finally {
      delete process.env[INJECTED_FAULT_ENV]
    }
  }

  /** The next door to open the store (another process would do the same). */
  async function openAndClose(): Promise<void> {
    await openApi(fixture.storeDir).dispose()
  }

  async function resumeToEnd(runId: number): Promise<RunSummary> {
    await fixture.api.call('runs.resume', { id: runId })
    return fixture.api.runs.waitForRun(runId)
  }

  function outDirOf(runId: number): string {
    return join(fixture.storeDir, 'runs', String(runId))
  }

  it('SIGKILL while a checkpoint is written: its temporary folder goes at the next open; resume completes', async () => {
    const ended = await runWithFault('kill:step-20', { maxSteps: 30, saveEvery: 10 })
    expect(ended.status).toBe('interrupted')
    const checkpoints = join(outDirOf(ended.id), 'checkpoints')
    expect(temporariesIn(checkpoints)).toEqual([expect.stringMatching(/^\.step-20\./)])
    expect(readdirSync(checkpoints).filter((name) => !name.startsWith('.'))).toEqual(['step-10'])

    await openAndClose()
    expect(temporariesIn(checkpoints)).toEqual([])
    expect(await resumeToEnd(ended.id)).toMatchObject({ status: 'completed', error: null })
    expect((await fixture.api.call('runs.get', { id: ended.id })).segments.at(-1)).toMatchObject({
      kind: 'resume',
      fromStep: 10
    })
  })

  it('SIGKILL during a LoRA export: no adapter file in place, and resume completes from the final checkpoint', async () => {
    const ended = await runWithFault('kill:adapter_config.json', { maxSteps: 20, saveEvery: 10 })
    expect(ended.status).toBe('interrupted')
    const outDir = outDirOf(ended.id)
    expect(readdirSync(outDir).filter((name) => name.startsWith('adapter_'))).toEqual([])
    expect(temporariesIn(outDir)).toHaveLength(1)

    await openAndClose()
    expect(temporariesIn(outDir)).toEqual([])
    expect(await resumeToEnd(ended.id)).toMatchObject({ status: 'completed', error: null })
    const detail = await fixture.api.call('runs.get', { id: ended.id })
    expect(detail.segments.at(-1)).toMatchObject({ kind: 'resume', fromStep: 20, totalSteps: 20 })
    expect(readdirSync(outDir)).toEqual(
      expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors'])
    )
  })

  it('SIGKILL during a full model export: no model file in place, and resume writes every file', async () => {
    // config.json is written after the weights; train_config.json of a checkpoint does not match.
    const ended = await runWithFault(`kill:${sep}config.json`, { adapter: 'full', maxSteps: 4, saveEvery: 0 })
    expect(ended.status).toBe('interrupted')
    const outDir = outDirOf(ended.id)
    expect(
      readdirSync(outDir)
        .filter((name) => !name.startsWith('.'))
        .sort()
    ).toEqual(['checkpoints', 'data'])

    expect(await resumeToEnd(ended.id)).toMatchObject({ status: 'completed', error: null })
    expect(readdirSync(outDir)).toEqual(
      expect.arrayContaining(['model.safetensors', 'config.json', 'generation_config.json', 'tokenizer.json'])
    )
    expect(temporariesIn(outDir)).toEqual([])
  })

  it('a full disk while a checkpoint is saved: interrupted, naming the path; resumes once space is free', async () => {
    const ended = await runWithFault('enospc:step-20', { maxSteps: 30, saveEvery: 10 })
    const checkpoints = join(outDirOf(ended.id), 'checkpoints')
    expect(ended.status).toBe('interrupted')
    expect(ended.error).toContain('ENOSPC')
    expect(ended.error).toContain(`${checkpoints}${sep}.step-20.`)
    expect(ended.error).toContain('free space')
    expect(readdirSync(checkpoints)).toEqual(['step-10'])

    expect(await resumeToEnd(ended.id)).toMatchObject({ status: 'completed', error: null })
  })
})

describe('failures whose cause can pass', () => {
  it('are a full disk or quota, and a GPU that is gone; not a failure that would come back', () => {
    const gpu = (code: number, text: string) =>
      `CUDA failure ${code}: ${text} ; GPU=0 ; hostname=box ; file=cuda_call.cc ; line=129 ; expr=cudaDeviceSynchronize();`
    for (const passing of [
      'cannot write /data/run/checkpoints/.step-20.1.0123abcd.tmp/trainable.safetensors: ENOSPC: no space left on device, write',
      "EDQUOT: disk quota exceeded, open '/data/run/x'",
      gpu(999, 'unknown error'),
      gpu(46, 'CUDA-capable device(s) is/are busy or unavailable'),
      gpu(100, 'no CUDA-capable device is detected')
    ]) {
      expect(adviceForPassingFailure(passing), passing).toMatch(/resume the run from its last checkpoint/)
    }
    for (const failing of [
      gpu(2, 'out of memory'),
      'train: step 7: the loss is NaN; training stopped.',
      "ENOENT: no such file or directory, open '/models/gone/model.safetensors'"
    ]) {
      expect(adviceForPassingFailure(failing), failing).toBeNull()
    }
  })
})
