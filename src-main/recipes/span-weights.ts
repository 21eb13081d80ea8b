/**
 * Span weights: the assistant turns that call tools train with a larger weight than the others, so
 * the tokens that decide a tool call (its name and arguments) weigh more in the loss. The weight
 * goes through the data's token weights (a message's loss_weight), so SFT's weighted token mean
 * does the rest.
 *
 * Inspired by the key-token prioritisation of Ye et al., "TL-Training: A Task-Feature-Based
 * Framework for Training Large Language Models in Tool Use", 2024 (Findings of EMNLP 2025),
 * arXiv:2412.15495. TL-Training adjusts token weights dynamically during training; this recipe
 * uses a fixed weight per span, and its default (2) is our choice, not a constant of the paper.
 */
import { sft } from './sft'
import type { Recipe } from './types'

export const spanWeights: Recipe = {
  name: 'span-weights',
  title: 'Span weights (tool calls)',
  summary:
    'SFT where assistant turns that call tools weigh more (or less) in the loss than the other turns. ' +
    'Useful for tool-use data, where the few tokens of a call decide whether it works. A fixed ' +
    'version of the key-token weighting of TL-Training, which adapts the weights during training; ' +
    'the default weight 2 is our choice.',
  paper: {
    title: 'TL-Training: A Task-Feature-Based Framework for Training Large Language Models in Tool Use',
    authors:
      'Junjie Ye, Yilong Wu, Sixian Li, Yuming Yang, Zhiheng Xi, Tao Gui, Qi Zhang, Xuanjing Huang, ' +
      'Peng Wang, Zhongchao Shi, Jianping Fan, Zhengyin Du',
    year: 2024,
    arxiv: '2412.15495',
    url: 'https://arxiv.org/abs/2412.15495'
  },
  group: 'sft',
  params: [
    {
      name: 'tool_call_weight',
      type: 'number',
      default: 2,
      min: 0,
      max: 100,
      description: "Weight of an assistant turn that calls tools, times the turn's own loss_weight."
    }
  ],
  needs: {},
  loss: sft.loss,
  transform: {
    level: 'conversation',
    apply: (conversation, ctx) => ({
      ...conversation,
      messages: conversation.messages.map((message) =>
        message.role === 'assistant' && Array.isArray(message.tool_calls) && message.tool_calls.length > 0
          ? { ...message, loss_weight: (message.loss_weight ?? 1) * (ctx.params.tool_call_weight as number) }
          : message
      )
    })
  }
}
