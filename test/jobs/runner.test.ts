import { copyFileSync, closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventBus } from '../../src-main/api/events'
import { JobRunner } from '../../src-main/jobs/runner'
import type { Events } from '../../src-preload/contract'
import { STORIES_260K, tempDir } from '../helpers/temp'

/** A model folder whose single tensor is big enough that hashing it keeps a core busy for a while. */
function writeBigModel(dir: string, floats: number): void {
  copyFileSync(join(STORIES_260K, 'config.json'), join(dir, 'config.json'))
  const header = Buffer.from(
    JSON.stringify({
      'model.big.weight': { dtype: 'F32', shape: [floats], data_offsets: [0, floats * 4] }
    }).padEnd(128, ' ')
  )
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(header.length))
  const fd = openSync(join(dir, 'model.safetensors'), 'w')
  writeSync(fd, length)
  writeSync(fd, header)
  ftruncateSync(fd, 8 + header.length + floats * 4)
  closeSync(fd)
}

function recordEvents(bus: EventBus) {
  const seen: { event: keyof Events; payload: Events[keyof Events] }[] = []
  bus.subscribe((event, payload) => seen.push({ event, payload }))
  return seen
}

describe('job runner', () => {
  const big = tempDir()
  beforeAll(() => writeBigModel(big.dir, 96 << 20))
  afterAll(() => big.cleanup())

  it('runs a CPU-heavy job in a worker while the main thread keeps ticking', async () => {
    const bus = new EventBus()
    const events = recordEvents(bus)
    const runner = new JobRunner(bus)
    let ticks = 0
    let ticksWhileWorking = 0
    let working = false
    bus.subscribe((event) => {
      if (event === 'job.progress') working = true
    })
    const timer = setInterval(() => {
      ticks++
      if (working) ticksWhileWorking++
    }, 5)
    const job = runner.submit('model.inspect', { path: big.dir })
    const done = await runner.wait(job.id)
    clearInterval(timer)
    await runner.close()

    expect(done.status).toBe('completed')
    expect(done.result).toMatchObject({
      architecture: 'LlamaForCausalLM',
      parameterCount: 96 << 20,
      dtype: 'F32'
    })
    const progress = events
      .filter((e) => e.event === 'job.progress')
      .map((e) => e.payload as Events['job.progress'])
    expect(progress.length).toBeGreaterThan(10)
    expect(progress.at(-1)).toMatchObject({ done: progress.at(-1)!.total })
    expect(ticks).toBeGreaterThan(0)
    expect(ticksWhileWorking).toBeGreaterThan(5)
    expect(
      events.filter((e) => e.event === 'job.status').map((e) => (e.payload as Events['job.status']).status)
    ).toEqual(['queued', 'running', 'completed'])
  })

  it('queues jobs one at a time and cancels a queued and a running job', async () => {
    const bus = new EventBus()
    const runner = new JobRunner(bus, 1)
    const first = runner.submit('model.inspect', { path: big.dir })
    const second = runner.submit('model.inspect', { path: big.dir })
    expect(runner.get(second.id)!.status).toBe('queued')
    expect(runner.cancel(second.id)!.status).toBe('cancelled')
    await new Promise<void>((resolve) => bus.subscribe((event) => event === 'job.progress' && resolve()))
    runner.cancel(first.id)
    expect((await runner.wait(first.id)).status).toBe('cancelled')
    expect((await runner.wait(second.id)).status).toBe('cancelled')
    await runner.close()
  })

  it('reports a failing job as failed with its reason, and runs the result hook on success', async () => {
    const broken = tempDir()
    writeFileSync(join(broken.dir, 'config.json'), '{"architectures": ["GPT2LMHeadModel"]}')
    const runner = new JobRunner(new EventBus())
    const failed = await runner.wait(runner.submit('model.inspect', { path: broken.dir }).id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/GPT2LMHeadModel/)

    const hooked = runner.submit(
      'model.inspect',
      { path: STORIES_260K },
      { onResult: () => ({ stored: true }) }
    )
    expect((await runner.wait(hooked.id)).result).toEqual({ stored: true })
    await runner.close()
    broken.cleanup()
  })
})
