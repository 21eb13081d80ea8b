/**
 * llama.cpp (through node-llama-cpp, CPU only, prebuilt binaries) as the judge of our GGUF files:
 * greedy ids, per-token log-probs and tokenization. One model at a time, small contexts, one
 * thread, everything disposed after each call: CI has two cores shared by two test files.
 */
import { getLlama, LlamaLogLevel, type Llama, type LlamaContextSequence, type Token } from 'node-llama-cpp'

let shared: Promise<Llama> | null = null

function llama(): Promise<Llama> {
  shared ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
  return shared
}

export async function disposeLlama(): Promise<void> {
  if (shared) await (await shared).dispose()
  shared = null
}

async function withSequence<T>(
  modelPath: string,
  contextSize: number,
  use: (sequence: LlamaContextSequence) => Promise<T>
): Promise<T> {
  const model = await (await llama()).loadModel({ modelPath })
  try {
    const context = await model.createContext({ contextSize, threads: 1 })
    try {
      return await use(context.getSequence())
    } finally {
      await context.dispose()
    }
  } finally {
    await model.dispose()
  }
}

/** The `count` ids llama.cpp generates greedily after `promptIds`. */
export async function llamaCppGreedyIds(
  modelPath: string,
  promptIds: readonly number[],
  count: number
): Promise<number[]> {
  return withSequence(modelPath, 256, async (sequence) => {
    const ids: number[] = []
    for await (const token of sequence.evaluate(promptIds as Token[], { temperature: 0 })) {
      ids.push(token)
      if (ids.length >= count) break
    }
    return ids
  })
}

/** log p(ids[t] | ids < t) for t ≥ 1, from llama.cpp's full next-token distributions. */
export async function llamaCppTokenLogprobs(modelPath: string, ids: readonly number[]): Promise<number[]> {
  return withSequence(modelPath, 256, async (sequence) => {
    const unsampled = { temperature: 1, topK: 0, topP: 1, minP: 0 }
    const results = await sequence.controlledEvaluate(
      ids.map((id) => [id as Token, { generateNext: { probabilities: true, options: unsampled } }])
    )
    return ids.slice(1).map((id, t) => Math.log(results[t]?.next.probabilities?.get(id as Token) ?? 0))
  })
}

/** llama.cpp's ids for `text`, special tokens in the text parsed as such, no BOS added. */
export async function llamaCppTokenize(modelPath: string, text: string): Promise<number[]> {
  const model = await (await llama()).loadModel({ modelPath, vocabOnly: true })
  try {
    return model.tokenize(text, true)
  } finally {
    await model.dispose()
  }
}
