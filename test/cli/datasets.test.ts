import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SHARED_DIR, tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

const cli = (...argv: string[]) => runCaptured(argv)

const GSM8K_TRAIN = join(SHARED_DIR, 'datasets', 'gsm8k', 'train.jsonl')
const CHAT_DEMOS = join(SHARED_DIR, 'datasets', 'chat-demos')

describe('finetune-studio datasets …', () => {
  const dir = tempDir()
  const store = ['--store', join(dir.dir, 'store')]
  afterAll(() => dir.cleanup())

  it('previews a file: detected format, mapping and normalised rows', async () => {
    const { code, out } = await cli('datasets', 'preview', GSM8K_TRAIN, '--limit', '1', ...store)
    expect(code).toBe(0)
    expect(out).toMatch(/^file type: jsonl$/m)
    expect(out).toMatch(/^mapping: +prompt-completion \(prompt=question completion=answer\)$/m)
    expect(out).toMatch(/^ {2}user: Natalia sold clips/m)
  })

  it('imports GSM8K with question/answer mapped, then shows, splits, cuts and exports it', async () => {
    const imported = await cli(
      'datasets',
      'import',
      GSM8K_TRAIN,
      '--name',
      'gsm8k',
      '--format',
      'prompt-completion',
      '--map',
      'prompt=question',
      '--map',
      'completion=answer',
      '--tag',
      'math',
      ...store
    )
    expect(imported.err).toBe('')
    expect(imported.out).toBe(
      'imported 7473 samples into dataset 1 (gsm8k) as prompt-completion (prompt=question completion=answer) from jsonl'
    )
    const found = await cli('datasets', 'samples', '1', '--search', 'natalia clips', '--limit', '2', ...store)
    expect(found.out.split('\n')[0]).toBe('1 sample match')
    expect(found.out).toMatch(/^\d+ +train +math +2 +Natalia sold clips to 48 of her friends/m)
    const badOffset = await cli('datasets', 'samples', '1', '--offset=-1', ...store)
    expect(badOffset.err).toMatch(/--offset must be an integer of at least 0, got "-1"/)
    const split = await cli('datasets', 'split', '1', '--seed', '3', ...store)
    expect(split.out).toBe('train 5979, validation 747, test 747 (1494 samples changed split)')
    const validation = await cli(
      'datasets',
      'samples',
      '1',
      '--split',
      'validation',
      '--limit',
      '1',
      '--json',
      ...store
    )
    expect(JSON.parse(validation.out)).toMatchObject({
      total: 747,
      totalExact: true,
      rows: [{ split: 'validation' }]
    })
    const shown = await cli('datasets', 'show', '1', ...store)
    expect(shown.out).toMatch(/^samples: +7473 \(train 5979, validation 747, test 747\)/m)
    expect(shown.out).toMatch(/^tags: +math 7473$/m)
    const cut = await cli('datasets', 'cut', '1', '--note', 'first', ...store)
    expect(cut.out).toMatch(/^cut version 1 \(id \d+\): 7473 samples, [0-9a-f]{64}$/)
    const out = join(dir.dir, 'gsm8k-val.jsonl')
    const exported = await cli(
      'datasets',
      'export',
      out,
      '--dataset',
      '1',
      '--split',
      'validation',
      '--format',
      'alpaca',
      ...store
    )
    expect(exported.out).toBe(`wrote 747 samples to ${out}`)
    const first = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]) as Record<string, string>
    expect(Object.keys(first)).toEqual(['instruction', 'input', 'output'])
    const again = await cli('datasets', 'export', out, '--version', '1', ...store)
    expect(again.code).toBe(1)
    expect(again.err).toMatch(/exists; pass overwrite to replace it/)
  })

  it('imports every chat-demos file with the detected format', async () => {
    for (const [file, samples] of [
      ['alpaca_en_demo.json', 999],
      ['dpo_en_demo.json', 300],
      ['fastchat_dummy_conversation.json', 500],
      ['glaive_toolcall_en_demo.json', 300],
      ['v1_sft_demo.jsonl', 500]
    ] as const) {
      const { code, out } = await cli('datasets', 'import', join(CHAT_DEMOS, file), ...store)
      expect(code, file).toBe(0)
      expect(out).toMatch(
        new RegExp(`^imported ${samples} samples into dataset \\d+ \\(${file.replace(/\..*$/, '')}\\)`)
      )
    }
    const list = await cli('datasets', 'list', ...store)
    expect(list.out).toMatch(/glaive_toolcall_en_demo +300/)
  })

  it('lists broken lines with their numbers: abort by default, import the rest with --skip-bad-rows', async () => {
    const file = join(dir.dir, 'broken.jsonl')
    const good = (text: string) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: text }
        ]
      })
    writeFileSync(file, [good('a'), '{oops', good('b'), '{"messages": []}', good('c')].join('\n'))
    const aborted = await cli('datasets', 'import', file, ...store)
    expect(aborted.code).toBe(1)
    expect(aborted.err.split('\n')).toEqual([
      'bad rows (nothing was imported; --skip-bad-rows imports the rest):',
      expect.stringMatching(/^ {2}line 2: not valid JSON/),
      '  line 4: "messages" is empty',
      expect.stringMatching(
        /^finetune-studio datasets import: datasets\.import: line 2 of broken\.jsonl: .*\(and 1 more bad lines\); nothing was imported$/
      )
    ])
    expect((await cli('datasets', 'list', ...store)).out).not.toMatch(/broken/)
    const skipped = await cli('datasets', 'import', file, '--skip-bad-rows', ...store)
    expect(skipped.code).toBe(0)
    expect(skipped.out).toMatch(/^imported 3 samples into dataset \d+ \(broken\)/)
    expect(skipped.err).toMatch(
      /^skipped 2 bad rows:\n {2}line 2: not valid JSON.*\n {2}line 4: "messages" is empty$/
    )
  })

  it('fails an import whose every row is bad even with --skip-bad-rows, creating no dataset', async () => {
    const file = join(dir.dir, 'all-bad.jsonl')
    writeFileSync(file, '{"messages": []}\n{oops\n')
    const imported = await cli('datasets', 'import', file, '--skip-bad-rows', ...store)
    expect(imported.code).toBe(1)
    expect(imported.err.split('\n')).toEqual([
      'bad rows (every row is bad; nothing was imported):',
      '  line 1: "messages" is empty',
      expect.stringMatching(/^ {2}line 2: not valid JSON/),
      'finetune-studio datasets import: datasets.import: all-bad.jsonl has no row to import: all 2 rows are bad ' +
        '(the first, line 1: "messages" is empty); nothing was imported'
    ])
    expect((await cli('datasets', 'list', ...store)).out).not.toMatch(/all-bad/)
  })

  it('warns of text that was not UTF-8, with its lines', async () => {
    const file = join(dir.dir, 'latin1.jsonl')
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('{"prompt": "caf'),
        Buffer.from([0xe9]),
        Buffer.from('", "completion": "ok"}\n')
      ])
    )
    const imported = await cli('datasets', 'import', file, ...store)
    expect(imported.code).toBe(0)
    expect(imported.err).toBe(
      'warning: latin1.jsonl: 1 invalid UTF-8 sequence on line 1 was read as U+FFFD (\uFFFD); ' +
        'to keep the original characters, save the file as UTF-8 and import it again'
    )
  })

  it('refuses a mapping without a format, and a file it cannot read, with one clear line', async () => {
    const noFormat = await cli('datasets', 'import', GSM8K_TRAIN, '--map', 'prompt=question', ...store)
    expect(noFormat.code).toBe(2)
    expect(noFormat.err).toMatch(/--map and --template need --format/)
    const csv = join(dir.dir, 'odd.csv')
    writeFileSync(csv, 'stem,choices\nx,y\n')
    const unknown = await cli('datasets', 'import', csv, ...store)
    expect(unknown.code).toBe(1)
    expect(unknown.err).toMatch(
      /cannot tell the format of odd\.csv: no known format fits the columns "stem", "choices"/
    )
  })
})
