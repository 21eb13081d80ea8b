/**
 * S3FT: where the base model's own answer to a training prompt is judged correct, train on it
 * instead of the gold response; plain SFT on the gold elsewhere.
 *
 * Gupta, Nandwani, Yehudai, Khandelwal, Raghu and Joshi, "Selective Self-to-Supervised Fine-Tuning
 * for Generalization in Large Language Models", Findings of NAACL 2025, arXiv:2502.08130: the base
 * model predicts an answer for every training input, a judge (heuristics or an LLM) decides whether
 * it is equivalent to the gold, and the correct predictions replace the gold. The paper also trains
 * on a paraphrase of the gold, made by the model, where its answer is wrong; that step is not here.
 * Generation, judging and the record that makes resume exact: engine/train/own-answers.ts.
 */
import { PythonRegex } from '../eval/tasks/python-regex'
import { sft } from './sft'
import type { Recipe } from './types'

/** Whitespace runs as one space, no leading or trailing space, lower case. */
export function normaliseAnswer(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase()
}

/** The last number written in `text` (thousands commas allowed), or null where there is none. */
export function lastNumber(text: string): number | null {
  const numbers = text.match(/-?\d[\d,]*(?:\.\d+)?/g)
  if (!numbers) return null
  const value = Number(numbers[numbers.length - 1].replaceAll(',', ''))
  return Number.isFinite(value) ? value : null
}

/** lm-eval's GSM8K "strict-match" filter: the number after the dataset's `####` answer mark. */
export const GSM8K_ANSWER_REGEX = '#### (\\-?[0-9\\.\\,]+)'

/**
 * The text a pattern picks from `text`: the first capture group of its first match (the whole match
 * where the pattern has no group), or null where it does not match.
 */
function capturedAnswer(regex: PythonRegex, text: string): string | null {
  const [first] = regex.findall(text)
  if (first === undefined) return null
  return typeof first === 'string' ? first : first[0]
}

/**
 * The user's pattern compiled with RE2 (linear time, so a hostile pattern cannot hang the trainer),
 * kept for the next answer: the judge runs once per training example with the same pattern.
 */
let lastRegex: PythonRegex | null = null
function compiledRegex(source: string): PythonRegex {
  if (lastRegex?.source !== source) lastRegex = new PythonRegex(source)
  return lastRegex
}

/** Whether the model's answer counts as the gold one under the chosen judge. */
export function answersAgree(
  own: string,
  gold: string,
  judge: string,
  answerRegex: string = GSM8K_ANSWER_REGEX
): boolean {
  if (judge === 'numeric') {
    const ownNumber = lastNumber(own)
    return ownNumber !== null && ownNumber === lastNumber(gold)
  }
  if (judge === 'regex') {
    const regex = compiledRegex(answerRegex)
    const ownAnswer = capturedAnswer(regex, own)
    return ownAnswer !== null && ownAnswer === capturedAnswer(regex, gold)
  }
  return normaliseAnswer(own) === normaliseAnswer(gold)
}

export const s3ft: Recipe = {
  name: 's3ft',
  title: 'S3FT (train on the model’s own correct answers)',
  summary:
    'Before training, the base model answers every training prompt (greedy decoding, up to ' +
    'max_new_tokens) and a judge compares its answer with the gold response: `exact` (equal after ' +
    'collapsing whitespace and case), `numeric` (the last number of each is equal) or `regex` (the ' +
    'first capture group of answer_regex is the same text in both; by default the number after ' +
    'GSM8K’s `####`). Where the ' +
    'answer is judged correct the model trains on its own words instead of the gold, which keeps it ' +
    'closer to what it already writes and was found to lose less general ability than SFT. The paper ' +
    'also paraphrases the gold where the model is wrong; here those rows train on the gold as it is. ' +
    'The choice is made once and kept in the run’s checkpoints, so a resumed run does not generate again.',
  paper: {
    title: 'Selective Self-to-Supervised Fine-Tuning for Generalization in Large Language Models',
    authors: 'Sonam Gupta, Yatin Nandwani, Asaf Yehudai, Dinesh Khandelwal, Dinesh Raghu, Sachindra Joshi',
    year: 2025,
    arxiv: '2502.08130',
    url: 'https://arxiv.org/abs/2502.08130'
  },
  group: 'selection',
  requires: ['answer-checker'],
  params: [
    {
      name: 'judge',
      type: 'choice',
      choices: ['exact', 'numeric', 'regex'],
      default: 'exact',
      description:
        'How the model’s answer is compared with the gold: exact text (whitespace and case aside), the last number in each, or what answer_regex captures in each.'
    },
    {
      name: 'answer_regex',
      type: 'text',
      default: GSM8K_ANSWER_REGEX,
      maxLength: 500,
      check: (source) => void new PythonRegex(source),
      description:
        'For the regex judge: a pattern in Python’s syntax (run with RE2, so no look-around or back-references) whose first capture group is the answer.'
    },
    {
      name: 'max_new_tokens',
      type: 'integer',
      default: 256,
      min: 1,
      max: 4096,
      description: 'The longest answer the model may write for a prompt before it is judged.'
    }
  ],
  needs: {},
  loss: sft.loss,
  answer: {
    stage: 'before-training',
    maxNewTokens: (params) => params.max_new_tokens as number,
    accept: (own, gold, params) =>
      answersAgree(own, gold, params.judge as string, params.answer_regex as string)
  }
}
