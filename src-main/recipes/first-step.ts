/**
 * First-step training: only the first reasoning step of each response is trained. Every trained
 * span of an example (an assistant turn) keeps its labels up to and including the first step
 * delimiter that follows some text; the labels after it are cleared, and tokens after the last
 * trained one are cut off (nothing left predicts them), which is where the method saves compute.
 *
 * Wang & Zhang, "From Implicit to Explicit: Token-Efficient Logical Supervision for Mathematical
 * Reasoning in LLMs" (First-Step Logical Reasoning, FSLR), 2026, arXiv:2601.03682.
 *
 * Token level, not conversation level: cutting the response text would end the turn after the
 * first step and train its end-of-turn token, teaching the model to stop there; clearing labels
 * keeps the rest of the response out of the loss without teaching that. The step boundary is found
 * by decoding growing prefixes of the span (binary search: "the decoded prefix holds a delimiter"
 * only turns from false to true), so a token that straddles the delimiter stays trained. How the
 * paper delimits its first step (its data marks a planning step) is not reproduced: the delimiter
 * is a parameter.
 */
import { IGNORE_INDEX } from '../engine/tokenizer/labels'
import type { TextTokenizer } from '../engine/tokenizer/tokenizer'
import { sft } from './sft'
import type { Recipe } from './types'

/** The step delimiters a user can pick, by name. */
export const STEP_DELIMITERS: Readonly<Record<string, string>> = { 'blank-line': '\n\n', line: '\n' }

export const firstStep: Recipe = {
  name: 'first-step',
  title: 'First-step training (FSLR)',
  summary:
    'SFT on the first reasoning step of each response only: the rest of the response is not trained ' +
    'and, when nothing after it is, not even read. The first step (which quantities to use, which ' +
    'operation to apply) carries the logical planning; the paper reports better math accuracy than ' +
    'training on whole solutions, at a fraction of the tokens. Steps are split at a blank line by ' +
    "default; the paper's own step marking is not reproduced.",
  paper: {
    title:
      'From Implicit to Explicit: Token-Efficient Logical Supervision for Mathematical Reasoning in LLMs',
    authors: 'Shaojie Wang, Liang Zhang',
    year: 2026,
    arxiv: '2601.03682',
    url: 'https://arxiv.org/abs/2601.03682'
  },
  group: 'sft',
  requires: ['reasoning-steps'],
  params: [
    {
      name: 'delimiter',
      type: 'choice',
      choices: Object.keys(STEP_DELIMITERS),
      default: 'blank-line',
      description: 'What ends a step: a blank line, or any line break.'
    }
  ],
  needs: {},
  loss: sft.loss,
  transform: {
    level: 'token',
    apply: (example, ctx) => {
      if (!ctx.tokenizer) throw new Error('first-step needs the model tokenizer to find reasoning steps')
      const delimiter = STEP_DELIMITERS[ctx.params.delimiter as string]
      const labels = Int32Array.from(example.labels)
      const weights = Float32Array.from(example.weights)
      for (const [start, end] of trainedSpans(labels)) {
        const stepEnd = firstStepEnd(ctx.tokenizer, example.inputIds.subarray(start, end), delimiter)
        labels.fill(IGNORE_INDEX, start + stepEnd, end)
        weights.fill(0, start + stepEnd, end)
      }
      let kept = labels.length
      while (kept > 1 && labels[kept - 1] === IGNORE_INDEX) kept--
      return {
        inputIds: example.inputIds.slice(0, kept),
        labels: labels.slice(0, kept),
        weights: weights.slice(0, kept)
      }
    }
  }
}

/** [start, end) of every run of trained tokens. */
function trainedSpans(labels: Int32Array): [number, number][] {
  const spans: [number, number][] = []
  for (let t = 0; t < labels.length; t++) {
    if (labels[t] === IGNORE_INDEX) continue
    const start = t
    while (t < labels.length && labels[t] !== IGNORE_INDEX) t++
    spans.push([start, t])
  }
  return spans
}

/** How many tokens of `ids` make up the first step: all of them when no delimiter follows text. */
function firstStepEnd(tokenizer: TextTokenizer, ids: Int32Array, delimiter: string): number {
  const endsStep = (count: number) =>
    tokenizer
      .decode([...ids.subarray(0, count)], { skipSpecialTokens: true })
      .trimStart()
      .includes(delimiter)
  let low = 1
  let high = ids.length
  if (!endsStep(high)) return ids.length
  while (low < high) {
    const middle = Math.floor((low + high) / 2)
    if (endsStep(middle)) high = middle
    else low = middle + 1
  }
  return low
}
