import { describe, expect, it } from 'vitest'
import { recipeInfo } from '../../src-main/api/recipes'
import { listRecipes } from '../../src-main/recipes'
import { runCaptured } from './captured-cli'

describe('finetune-studio recipes', () => {
  it('lists the recipes under their groups, in order, with their citations and parameters', async () => {
    const { code, out } = await runCaptured(['recipes'])
    expect(code).toBe(0)
    const headings = out.split('\n').filter((line) => !line.startsWith(' '))
    expect(headings).toEqual(['SFT variants:', 'Data selection:', 'Preference:', 'RL:'])
    expect(out).toMatch(
      /^SFT variants:\n {2}sft +Supervised fine-tuning\n +standard method, no single paper\n/
    )
    expect(out).toMatch(
      / {2}dft +Dynamic Fine-Tuning \(DFT\)\n +Yongliang Wu et al\. \(2025\), "On the Generalization/
    )
    expect(out).toMatch(/ {2}asft .*\n.*arXiv:2509\.23753\n +--recipe-param kl_weight=… \(default 0\.1\): λ/)
    // The SFT+RL recipes, after grpo in its group.
    expect(out).toMatch(/\n {2}grpo [^]*\n {2}chord [^]*\n {2}prefix-rft [^]*\n {2}seele +SEELE/)
  })

  it('prints what recipes.list gives with --json', async () => {
    const { code, out } = await runCaptured(['recipes', '--json'])
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual(listRecipes().map(recipeInfo))
  })
})
