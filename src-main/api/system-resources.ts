/**
 * `system.resources`: CPU and memory of this machine and process, the memory of the training
 * processes this process owns, and, where `nvidia-smi` exists, every GPU's memory and utilisation.
 *
 * CPU percentages are measured between two calls (the first call measures over a short sample), so
 * a UI polling every few seconds sees the load of the last interval.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, freemem, totalmem } from 'node:os'
import type { SystemResources } from '../../src-preload/contract'

const FIRST_SAMPLE_MS = 200
const NVIDIA_SMI_TIMEOUT_MS = 3_000
export const NVIDIA_SMI_QUERY = [
  '--query-gpu=index,name,memory.used,memory.total,utilization.gpu',
  '--format=csv,noheader,nounits'
]

interface CpuSample {
  at: number
  idle: number
  total: number
  process: number
}

function sampleCpu(): CpuSample {
  let idle = 0
  let total = 0
  for (const cpu of cpus()) {
    const t = cpu.times
    idle += t.idle
    total += t.user + t.nice + t.sys + t.idle + t.irq
  }
  const usage = process.cpuUsage()
  return { at: performance.now(), idle, total, process: (usage.user + usage.system) / 1000 }
}

let lastSample: CpuSample | null = null

async function cpuPercentages(): Promise<{ machinePercent: number; processPercent: number }> {
  if (!lastSample) {
    lastSample = sampleCpu()
    await new Promise((resolve) => setTimeout(resolve, FIRST_SAMPLE_MS))
  }
  const now = sampleCpu()
  const before = lastSample
  lastSample = now
  const total = now.total - before.total
  const wallMs = now.at - before.at
  return {
    machinePercent: total > 0 ? clampPercent(100 * (1 - (now.idle - before.idle) / total)) : 0,
    // Of one core: 200 means two cores busy, as `top` shows it.
    processPercent: wallMs > 0 ? Math.max(0, (100 * (now.process - before.process)) / wallMs) : 0
  }
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value))
}

/** Resident memory of a process from /proc (Linux); 0 where that cannot be read. */
function residentBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** Parses `nvidia-smi --query-gpu=index,name,memory.used,memory.total,utilization.gpu --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): NonNullable<SystemResources['gpus']> {
  const mib = 1024 * 1024
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const fields = line.split(',').map((field) => field.trim())
      if (fields.length < 5) throw new Error(`nvidia-smi: expected 5 fields, got ${JSON.stringify(line)}`)
      const [index, name, used, total, utilization] = fields
      const number = (text: string) => (/^\d+(\.\d+)?$/.test(text) ? Number(text) : 0)
      return {
        index: number(index),
        name,
        memoryUsedBytes: number(used) * mib,
        memoryTotalBytes: number(total) * mib,
        utilizationPercent: number(utilization)
      }
    })
}

/** GPUs as nvidia-smi reports them; gpus null when the command does not exist. */
export function queryGpus(command = 'nvidia-smi'): Promise<Pick<SystemResources, 'gpus' | 'gpuError'>> {
  return new Promise((resolve) => {
    execFile(command, NVIDIA_SMI_QUERY, { timeout: NVIDIA_SMI_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT')
        return resolve({ gpus: null, gpuError: null })
      if (error) {
        const why = stderr.trim().split('\n')[0] || error.message
        return resolve({ gpus: [], gpuError: `nvidia-smi failed: ${why}` })
      }
      try {
        resolve({ gpus: parseNvidiaSmi(stdout), gpuError: null })
      } catch (parseError) {
        resolve({ gpus: [], gpuError: (parseError as Error).message })
      }
    })
  })
}

export async function systemResources(trainingPids: readonly number[]): Promise<SystemResources> {
  const [cpu, gpu] = await Promise.all([cpuPercentages(), queryGpus()])
  const total = totalmem()
  return {
    at: new Date().toISOString(),
    cpu: { cores: cpus().length, model: cpus()[0]?.model ?? 'unknown', ...cpu },
    memory: {
      machineTotalBytes: total,
      machineUsedBytes: total - freemem(),
      processRssBytes: process.memoryUsage.rss(),
      trainingRssBytes: trainingPids.reduce((sum, pid) => sum + residentBytes(pid), 0)
    },
    ...gpu
  }
}
