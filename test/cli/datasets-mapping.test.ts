/**
 * The command line's side of column mapping: `datasets preview` says per field what auto-mapping
 * chose and why, with the alternatives; `--map` reaches nested columns and `--template` composes a
 * field, on ARC's real rows (`question: {stem, choices}`).
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SHARED_DIR, tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

const cli = (...argv: string[]) => runCaptured(argv)
const ARC = join(SHARED_DIR, 'datasets', 'arc', 'arc_easy_dev.jsonl')

describe('finetune-studio datasets … with nested columns', () => {
  const dir = tempDir()
  const store = ['--store', join(dir.dir, 'store')]
  afterAll(() => dir.cleanup())

  it('previews the detected multiple-choice mapping with its why and alternatives', async () => {
    const preview = await cli('datasets', 'preview', ARC, '--limit', '1', ...store)
    expect(preview.code).toBe(0)
    expect(preview.out).toMatch(/^field: {5}prompt ← template /m)
    expect(preview.out).toMatch(/^field: {5}completion ← template .*\n {11}or "answerKey": /m)
  })

  it('imports with a nested column and a template, and refuses one column for two fields', async () => {
    const imported = await cli(
      'datasets',
      'import',
      ARC,
      '--name',
      'arc',
      '--format',
      'prompt-completion',
      '--map',
      'prompt=question.stem',
      '--template',
      'completion={% for c in question.choices %}{% if c.label == answerKey %}{{ c.text }}{% endif %}{% endfor %}',
      ...store
    )
    expect(imported.err).toBe('')
    expect(imported.out).toMatch(
      /^imported 570 samples into dataset 1 \(arc\) as prompt-completion \(prompt=question.stem completion=template /
    )
    const twice = await cli(
      'datasets',
      'preview',
      ARC,
      '--format',
      'prompt-completion',
      '--map',
      'prompt=id',
      '--map',
      'completion=id',
      ...store
    )
    expect(twice.out).toContain('column "id" is mapped to both "prompt" and "completion"')
  })
})
