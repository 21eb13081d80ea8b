import type { EngineGenerateInput, EngineGenerateOutput } from '../../jobs/kinds/engine-generate'
import { UsageError, type Command } from '../command'
import { ENGINE_OPTIONS, engineJobInput, optionalNumber, runEngineJob } from './engine-job'

export const generateCommand: Command = {
  words: ['generate'],
  summary: 'Generate text after a prompt; prints only the generated text, as it comes.',
  details: '--prompt "" starts from the BOS token alone. --temperature 0 is greedy decoding.',
  options: {
    ...ENGINE_OPTIONS,
    prompt: { type: 'string', valueName: 'TEXT', description: 'the text to continue' },
    'max-new-tokens': {
      type: 'string',
      valueName: 'N',
      description: 'stop after N new tokens',
      default: '128'
    },
    temperature: {
      type: 'string',
      valueName: 'T',
      description: 'sampling temperature, 0 = greedy',
      default: '1'
    },
    'top-p': {
      type: 'string',
      valueName: 'P',
      description: 'sample from the smallest set of tokens with mass ≥ P'
    },
    'top-k': { type: 'string', valueName: 'K', description: 'sample from the K most likely tokens' },
    seed: {
      type: 'string',
      valueName: 'S',
      description: 'seed of the sampler (same seed, same text)',
      default: '0'
    },
    stop: { type: 'string', valueName: 'TEXT', description: 'stop before this text appears' },
    chat: { type: 'boolean', description: "send the prompt as a user turn of the model's chat template" }
  },
  async run(args, io) {
    const prompt = args.values.prompt
    if (typeof prompt !== 'string') throw new UsageError('--prompt TEXT is required ("" starts from BOS)')
    const stop = args.values.stop
    const input: EngineGenerateInput = {
      ...engineJobInput(args),
      prompt,
      maxNewTokens: optionalNumber(args, 'max-new-tokens', { integer: true, min: 0 })!,
      temperature: optionalNumber(args, 'temperature', { min: 0 })!,
      topP: optionalNumber(args, 'top-p', { min: Number.MIN_VALUE, max: 1 }),
      topK: optionalNumber(args, 'top-k', { integer: true, min: 0 }),
      seed: optionalNumber(args, 'seed', { integer: true }),
      stopStrings: typeof stop === 'string' && stop !== '' ? [stop] : [],
      chat: args.values.chat === true
    }
    const write = io.write?.bind(io)
    const result = await runEngineJob<EngineGenerateOutput>('engine.generate', input, { onOutput: write })
    if (!write) io.out(result.text)
    else if (process.stdout.isTTY && !result.text.endsWith('\n')) write('\n')
  }
}
