import { ref, watch, type Ref } from 'vue'

const STORAGE_KEY = 'finetuneStudio.lossSmoothing'
/** TensorBoard's default. */
export const DEFAULT_SMOOTHING = 0.6
export const MAX_SMOOTHING = 0.99

let shared: Ref<number> | null = null

function readStored(): number {
  const stored = globalThis.localStorage?.getItem(STORAGE_KEY) ?? null
  const value = stored === null ? NaN : Number(stored)
  return value >= 0 && value <= MAX_SMOOTHING ? value : DEFAULT_SMOOTHING
}

/** The smoothing weight of loss curves: one setting for every chart, remembered across sessions. */
export function useSmoothingWeight(): Ref<number> {
  if (!shared) {
    const weight = ref(readStored())
    watch(weight, (value) => globalThis.localStorage?.setItem(STORAGE_KEY, String(value)))
    shared = weight
  }
  return shared
}
