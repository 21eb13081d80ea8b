/**
 * Prompt diversity: every epoch, each example's first user turn is re-phrased with an instruction
 * template drawn from a built-in list (seeded by run, epoch and row), so the model cannot tie the
 * task to one frozen wording of its instructions.
 *
 * Lin, Sang, Wang & Zhang, "Debunk the Myth of SFT Generalization", 2025, arXiv:2510.00237: SFT on
 * frozen instruction templates failed on unseen instruction variants, and prompt diversity during
 * training fixed it. The paper varies task-specific instructions (e.g. action names); this recipe
 * can only vary the wording around the user's text, and the templates are ours.
 */
import { sft } from './sft'
import type { Recipe } from './types'

/** `{prompt}` stands for the original user text. The first template leaves it as it is. */
export const PROMPT_TEMPLATES: readonly string[] = [
  '{prompt}',
  'Question: {prompt}',
  '{prompt}\n\nAnswer the request above.',
  'Task:\n{prompt}',
  'Here is a problem for you.\n\n{prompt}',
  'Please respond to the following.\n{prompt}',
  'Instruction: {prompt}\nResponse:',
  'Read carefully, then answer.\n\n{prompt}'
]

export const promptDiversity: Recipe = {
  name: 'prompt-diversity',
  title: 'Prompt diversity',
  summary:
    'SFT where the wording around each prompt changes every epoch, drawn from a list of instruction ' +
    'templates, so the model learns the task rather than one frozen phrasing. Training on frozen ' +
    'templates was found to be why SFT failed on new instruction variants. The templates are ours; ' +
    'the paper varied task-specific instructions.',
  paper: {
    title: 'Debunk the Myth of SFT Generalization',
    authors: 'Xiaofeng Lin, Hejian Sang, Zhipeng Wang, Xuezhou Zhang',
    year: 2025,
    arxiv: '2510.00237',
    url: 'https://arxiv.org/abs/2510.00237'
  },
  group: 'sft',
  params: [
    {
      name: 'rephrase_rate',
      type: 'number',
      default: 1,
      min: 0,
      max: 1,
      description: 'Share of examples per epoch whose prompt is re-phrased (the rest keep it).'
    }
  ],
  needs: {},
  loss: sft.loss,
  transform: {
    level: 'conversation',
    apply: (conversation, ctx) => {
      const user = conversation.messages.findIndex((message) => message.role === 'user')
      if (user < 0 || ctx.rng.float() >= (ctx.params.rephrase_rate as number)) return conversation
      const template = PROMPT_TEMPLATES[ctx.rng.int(PROMPT_TEMPLATES.length)]
      const messages = [...conversation.messages]
      messages[user] = {
        ...messages[user],
        content: template.replace('{prompt}', () => messages[user].content)
      }
      return { ...conversation, messages }
    }
  }
}
