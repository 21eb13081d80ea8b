/**
 * The OpenAI-compatible endpoint, driven by OpenAI's own npm client against a started server: what
 * the client gets must be what models.generate gives for the same weights, prompt and settings.
 */
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeChatMessages, Generator } from '../../src-main/engine/infer/generation'
import type { ChatMessage } from '../../src-main/engine/tokenizer/chat-template'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { defaultModelDir } from '../../src-main/resources'
import { graphCacheDir } from '../../src-main/store/location'
import type { JobSummary } from '../../src-preload/contract'
import { openApi, quickRun, seedTrainingInputs, type TestApi, type TrainingInputs } from '../api/run-fixtures'
import { startTestServer, type TestServer } from './helpers'

/** What the engine's Generator, used directly, answers to `messages` through the chat template, greedily. */
async function referenceChat(
  storeDir: string,
  messages: ChatMessage[],
  maxNewTokens: number
): Promise<{ text: string; promptTokens: number }> {
  const modelDir = defaultModelDir()
  const tokenizer = loadTokenizer(modelDir)
  const generator = await Generator.open({ modelDir }, { cacheDir: graphCacheDir(storeDir) })
  try {
    const promptIds = encodeChatMessages(tokenizer, messages)
    const result = await generator.generate(promptIds, tokenizer, { maxNewTokens, temperature: 0 })
    return { text: result.text, promptTokens: promptIds.length }
  } finally {
    await generator.release()
  }
}

const PROMPT = 'Tell me a story about Bob the bird.'
const GREEDY = { maxNewTokens: 24, temperature: 0 }

describe('OpenAI-compatible endpoint, through the openai client', () => {
  let studio: TestServer
  let api: TestApi
  let inputs: TrainingInputs
  let client: OpenAI
  let runId = 0

  beforeAll(async () => {
    studio = await startTestServer()
    // A second context on the server's store plays the app that registered the model and trained.
    api = openApi(studio.storeDir)
    inputs = seedTrainingInputs(api)
    const run = await api.call('runs.start', quickRun(inputs, { maxSteps: 10, saveEvery: 10 }))
    const ended = await api.runs.waitForRun(run.id)
    expect(ended.error).toBeNull()
    expect(ended.status).toBe('completed')
    runId = run.id
    client = new OpenAI({ apiKey: studio.server.token, baseURL: `${studio.server.origin}/v1`, maxRetries: 0 })
  }, 120_000)

  afterAll(async () => {
    await api?.dispose()
    await studio?.close()
  })

  /** models.generate's text for the same greedy settings: what every answer below must equal. */
  async function generated(input: Record<string, unknown>): Promise<string> {
    const result = await api.call('models.generate', { ...GREEDY, baseModelId: inputs.baseModelId, ...input })
    expect(result.finishReason).toBe('length')
    return result.text
  }

  it('lists the base model by name, the run checkpoint by run and step, and the run result', async () => {
    const models = await client.models.list()
    const ids = models.data.map((m) => m.id)
    expect(ids).toEqual(['stories260K', `run-${runId}-step-10`, `run-${runId}`])
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'finetune-studio' })
    expect(models.data[0].created).toBeGreaterThan(1_700_000_000)
    expect((await client.models.retrieve(`run-${runId}-step-10`)).id).toBe(`run-${runId}-step-10`)
  })

  it('answers a chat with the chat template, as models.generate does, with usage and ids', async () => {
    const expected = await generated({ prompt: PROMPT, chat: true })
    const answer = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: PROMPT }],
      max_tokens: 24,
      temperature: 0
    })
    expect(answer.choices[0].message).toMatchObject({ role: 'assistant', content: expected })
    expect(answer.choices[0].finish_reason).toBe('length')
    expect(answer.object).toBe('chat.completion')
    expect(answer.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/)
    expect(answer.model).toBe('stories260K')
    expect(Math.abs(answer.created - Date.now() / 1000)).toBeLessThan(120)
    expect(answer.usage!.completion_tokens).toBe(24)
    expect(answer.usage!.prompt_tokens).toBeGreaterThan(5)
    expect(answer.usage!.total_tokens).toBe(answer.usage!.prompt_tokens + 24)
  })

  it('streams a chat: the deltas join into the same text, then finish_reason and usage', async () => {
    const expected = await generated({ prompt: PROMPT, chat: true })
    const stream = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT }] }],
      max_completion_tokens: 24,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const piece of stream) chunks.push(piece)
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
    expect(text).toBe(expected)
    expect(chunks.length).toBeGreaterThan(4)
    expect(chunks[0].choices[0].delta.role).toBe('assistant')
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('length')
    expect(chunks.at(-1)!.choices).toEqual([])
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 24 })
  })

  it('continues a prompt on /v1/completions as models.generate without the chat template, whole and streamed', async () => {
    const expected = await generated({ prompt: 'Once upon a time', chat: false })
    const request = { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 24, temperature: 0 }
    const answer = await client.completions.create(request)
    expect(answer.choices[0]).toMatchObject({ text: expected, finish_reason: 'length', index: 0 })
    expect(answer.object).toBe('text_completion')
    expect(answer.usage).toMatchObject({ completion_tokens: 24 })

    const pieces: string[] = []
    for await (const piece of await client.completions.create({ ...request, stream: true }))
      pieces.push(piece.choices[0]?.text ?? '')
    expect(pieces.join('')).toBe(expected)
  })

  it('renders a multi-turn chat, system and developer turns included, through the chat template', async () => {
    const messages = [
      { role: 'developer', content: 'You tell short stories.' },
      { role: 'user', content: 'Tell me a story about Tom.' },
      { role: 'assistant', content: 'Tom the dragon found a blue kite.' },
      { role: 'user', content: PROMPT }
    ] as const
    const answer = await client.chat.completions.create({
      model: 'stories260K',
      messages: [...messages],
      max_tokens: 24,
      temperature: 0
    })
    const asSystem = messages.map((m) => ({ ...m, role: m.role === 'developer' ? 'system' : m.role }))
    const expected = await referenceChat(studio.storeDir, asSystem, 24)
    expect(answer.choices[0].message.content).toBe(expected.text)
    expect(answer.usage!.prompt_tokens).toBe(expected.promptTokens)
    expect(expected.text.length).toBeGreaterThan(10)
  })

  it("generates from a run's checkpoint and its result by name, as models.generate does from the checkpoint", async () => {
    const [checkpoint] = (await api.call('runs.get', { id: runId })).checkpoints
    const result = await api.call('models.generate', {
      ...GREEDY,
      checkpointId: checkpoint.id,
      prompt: PROMPT
    })
    const request = {
      model: `run-${runId}-step-10`,
      messages: [{ role: 'user' as const, content: PROMPT }],
      max_tokens: 24,
      temperature: 0
    }
    const answer = await client.chat.completions.create(request)
    expect(answer.choices[0].message.content).toBe(result.text)
    // The run's last checkpoint is its final step: the exported result answers the same.
    const fromResult = await client.chat.completions.create({ ...request, model: `run-${runId}` })
    expect(fromResult.choices[0].message.content).toBe(result.text)
  })

  it('stops before a stop string, with finish_reason "stop"', async () => {
    const expected = await generated({ prompt: 'Once upon a time', chat: false })
    const stop = expected.slice(10, 14)
    const answer = await client.completions.create({
      model: 'stories260K',
      prompt: 'Once upon a time',
      max_tokens: 24,
      temperature: 0,
      stop
    })
    expect(answer.choices[0].finish_reason).toBe('stop')
    expect(answer.choices[0].text).toBe(expected.slice(0, expected.indexOf(stop)))
  })

  it('refuses a wrong key with AuthenticationError, an unknown model with NotFoundError', async () => {
    const stranger = new OpenAI({ apiKey: 'wrong', baseURL: `${studio.server.origin}/v1`, maxRetries: 0 })
    await expect(stranger.models.list()).rejects.toBeInstanceOf(AuthenticationError)
    const missing = client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }]
    })
    await expect(missing).rejects.toBeInstanceOf(NotFoundError)
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'model_not_found', param: 'model' })
    await expect(client.models.retrieve('run-999-step-1')).rejects.toBeInstanceOf(NotFoundError)
  })

  it('refuses bad fields with BadRequestError naming the field', async () => {
    const chat = (extra: object) =>
      client.chat.completions.create({
        model: 'stories260K',
        messages: [{ role: 'user', content: 'hi' }],
        ...extra
      } as OpenAI.ChatCompletionCreateParamsNonStreaming)
    for (const [extra, param] of [
      [{ temperature: 9 }, 'temperature'],
      [{ n: 2 }, 'n'],
      [{ max_tokens: 0 }, 'max_tokens'],
      [{ messages: [{ role: 'assistant', content: 'hi' }] }, 'messages'],
      [{ messages: [{ role: 'wizard', content: 'hi' }] }, 'messages.0.role']
    ] as const) {
      const refusal = chat(extra)
      await expect(refusal).rejects.toBeInstanceOf(BadRequestError)
      await expect(refusal).rejects.toMatchObject({ status: 400, param })
    }
    await expect(chat({ n: 2 })).rejects.toThrow(/only n = 1 is supported/)
  })

  it('refuses a prompt that fills the context with context_length_exceeded', async () => {
    const refusal = client.completions.create({
      model: 'stories260K',
      prompt: 'the cat sat on the mat. '.repeat(200),
      temperature: 0
    })
    await expect(refusal).rejects.toMatchObject({
      status: 400,
      code: 'context_length_exceeded',
      param: 'prompt'
    })
    // Streamed, the status has gone out before the job knows: the error comes as the stream's event.
    const streamed = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'the cat sat on the mat. '.repeat(200) }],
      stream: true
    })
    const drain = async () => {
      for await (const piece of streamed) expect(piece).toBeUndefined()
    }
    await expect(drain()).rejects.toMatchObject({ code: 'context_length_exceeded', param: 'messages' })
  })

  it('cancels the generation job when the client hangs up mid-stream', async () => {
    const abort = new AbortController()
    const stream = await client.chat.completions.create(
      {
        model: 'stories260K',
        messages: [{ role: 'user', content: PROMPT }],
        max_tokens: 400,
        temperature: 0,
        stream: true
      },
      { signal: abort.signal }
    )
    // Leaving the loop aborts the request: the client hangs up after the first chunk.
    for await (const first of stream) {
      expect(first.choices[0].delta.role).toBe('assistant')
      break
    }
    abort.abort()
    const jobs = async (): Promise<JobSummary[]> => {
      const res = await fetch(`${studio.server.origin}/api/call/jobs.list`, {
        method: 'POST',
        headers: { authorization: `Bearer ${studio.server.token}`, 'content-type': 'application/json' },
        body: '{}'
      })
      return ((await res.json()) as { value: JobSummary[] }).value
    }
    let last: JobSummary | undefined
    for (let i = 0; i < 100; i++) {
      last = (await jobs())
        .filter((j) => j.kind === 'engine.generate')
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .at(-1)
      if (last?.status !== 'running') break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(last?.status).toBe('cancelled')
    expect(last!.progress!.done).toBeLessThan(400)
  })
})
