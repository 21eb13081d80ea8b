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

  it('reports a listener that throws as an error log line, and the job still completes', async () => {
    const bus = new EventBus()
    const seen = recordEvents(bus)
    const runner = new JobRunner(bus)
    const job = runner.submit(
      'model.inspect',
      { path: STORIES_260K },
      {
        onLog: () => {
          throw new Error('SQLITE_FULL: database or disk is full')
        }
      }
    )
    expect((await runner.wait(job.id)).status).toBe('completed')
    const errors = seen.filter(
      (e) => e.event === 'job.log' && (e.payload as Events['job.log']).level === 'error'
    )
    expect(errors.map((e) => (e.payload as Events['job.log']).message)).toEqual([
      expect.stringContaining('the log listener failed: SQLITE_FULL: database or disk is full')
    ])
    await runner.close()
  })

  it('runs a job in a process of its own, which terminate() kills with SIGKILL', async () => {
    const bus = new EventBus()
    const runner = new JobRunner(bus)
    const done = await runner.wait(
      runner.submit('model.inspect', { path: STORIES_260K }, { isolation: 'process' }).id
    )
    expect(done).toMatchObject({ status: 'completed', result: { architecture: 'LlamaForCausalLM' } })

    const started = new Promise<void>((resolve) =>
      bus.subscribe((event) => event === 'job.progress' && resolve())
    )
    const hashing = runner.submit('model.inspect', { path: big.dir }, { isolation: 'process' })
    await started
    const pid = runner.pid(hashing.id)!
    expect(pid).toBeGreaterThan(0)
    expect(pid).not.toBe(process.pid)
    runner.terminate(hashing.id)
    expect(await runner.wait(hashing.id)).toMatchObject({ status: 'cancelled', error: null })
    expect(runner.exitOf(hashing.id)).toEqual({ code: null, signal: 'SIGKILL' })
    await runner.close()
  })

  it('reports a job process killed from outside as failed, naming the signal', async () => {
    const bus = new EventBus()
    const runner = new JobRunner(bus)
    const started = new Promise<void>((resolve) =>
      bus.subscribe((event) => event === 'job.progress' && resolve())
    )
    const job = runner.submit('model.inspect', { path: big.dir }, { isolation: 'process' })
    await started
    process.kill(runner.pid(job.id)!, 'SIGKILL')
    const failed = await runner.wait(job.id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toBe('job model.inspect: its worker was killed by SIGKILL before finishing')
    await runner.close()
  })

  it('runs jobs of different lanes side by side, one at a time within a lane', async () => {
    const runner = new JobRunner(new EventBus(), 1)
    const a = runner.submit('model.inspect', { path: big.dir }, { lane: 'train:cpu' })
    const b = runner.submit('model.inspect', { path: big.dir }, { lane: 'train:cpu' })
    const c = runner.submit('model.inspect', { path: STORIES_260K })
    expect([a, b, c].map((job) => runner.get(job.id)!.status)).toEqual(['running', 'queued', 'running'])
    expect((await runner.wait(c.id)).status).toBe('completed')
    runner.cancel(b.id)
    runner.cancel(a.id)
    expect((await runner.wait(a.id)).status).toBe('cancelled')
    await runner.close()
  })
})
