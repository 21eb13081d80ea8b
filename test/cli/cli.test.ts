import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { commands } from '../../src-main/cli/index'
import { APP_VERSION } from '../../src-main/version'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

const cli = (...argv: string[]) => runCaptured(argv)

describe('finetune-studio CLI', () => {
  const store = tempDir()
  afterAll(() => store.cleanup())

  it('keeps its version equal to package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    expect(APP_VERSION).toBe(pkg.version)
    expect((await cli('--version')).out).toBe(pkg.version)
  })

  it('lists every command in the top-level help', async () => {
    const { code, out } = await cli('--help')
    expect(code).toBe(0)
    for (const command of commands) expect(out).toContain(command.words.join(' '))
  })

  it('has --help on every command, naming its options and the global --store', async () => {
    for (const command of commands) {
      const { code, out } = await cli(...command.words, '--help')
      expect(code, command.words.join(' ')).toBe(0)
      expect(out).toContain(`usage: finetune-studio ${command.words.join(' ')}`)
      expect(out).toContain('--store DIR')
      for (const option of Object.keys(command.options ?? {})) expect(out).toContain(`--${option}`)
    }
  })

  it('fails with one line and a non-zero code on unknown commands, bad flags and missing arguments', async () => {
    const unknown = await cli('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.err).toMatch(/unknown command "frobnicate"/)

    const badFlag = await cli('datasets', 'list', '--nope', '--store', store.dir)
    expect(badFlag.code).toBe(2)
    expect(badFlag.err.split('\n')[0]).toMatch(/^finetune-studio datasets list: .*--nope/)

    const missing = await cli('runs', 'show', '--store', store.dir)
    expect(missing.code).toBe(2)
  })

  it('creates and lists datasets as text and JSON in the store given by --store', async () => {
    expect((await cli('datasets', 'list', '--store', store.dir)).out).toBe('no datasets yet')
    const created = await cli(
      'datasets',
      'create',
      'gsm8k-mini',
      '--description',
      'math',
      '--store',
      store.dir
    )
    expect(created).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^created dataset \d+ \(gsm8k-mini\)$/)
    })

    const again = await cli('datasets', 'create', 'gsm8k-mini', '--store', store.dir)
    expect(again.code).toBe(1)
    expect(again.err.split('\n')).toHaveLength(1)
    expect(again.err).toContain('gsm8k-mini')

    const listed = await cli('datasets', 'list', '--json', '--store', store.dir)
    expect(JSON.parse(listed.out)).toMatchObject([
      { name: 'gsm8k-mini', description: 'math', versionCount: 0 }
    ])
  })

  it('uses FINETUNE_STUDIO_HOME when --store is absent', async () => {
    const home = tempDir()
    const previous = process.env.FINETUNE_STUDIO_HOME
    process.env.FINETUNE_STUDIO_HOME = home.dir
    try {
      const info = JSON.parse((await cli('info', '--json')).out) as { storePath: string; transport: string }
      expect(info).toMatchObject({ storePath: home.dir, transport: 'direct' })
    } finally {
      if (previous === undefined) delete process.env.FINETUNE_STUDIO_HOME
      else process.env.FINETUNE_STUDIO_HOME = previous
      home.cleanup()
    }
  })

  it('registers a real model folder through a job and lists it', async () => {
    const registered = await cli('models', 'register', STORIES_260K, '--store', store.dir, '--json')
    expect(registered.code, registered.err).toBe(0)
    expect(JSON.parse(registered.out)).toMatchObject({
      name: 'stories260K',
      architecture: 'LlamaForCausalLM',
      dtype: 'F32'
    })
    const listed = await cli('models', 'list', '--store', store.dir)
    expect(listed.out).toMatch(/stories260K\s+LlamaForCausalLM\s+260\.0K\s+F32/)

    const notAModel = await cli('models', 'register', store.dir, '--store', store.dir)
    expect(notAModel.code).toBe(1)
    expect(notAModel.err).toContain('has no config.json')
  })

  it('shows a clear error for a run that does not exist', async () => {
    const { code, err } = await cli('runs', 'show', '42', '--store', store.dir)
    expect(code).toBe(1)
    expect(err).toBe('finetune-studio runs show: run 42 does not exist')
  })
})
