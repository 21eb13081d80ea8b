/**
 * The poft recipe against PyTorch (reference/make_golden_poft.py): 5 AdamW steps on one SFT batch,
 * LoRA from the golden adapter and full fine-tuning, with the released code's β = 1, γ = 0 and with
 * a margin, on the random-weight Llama (untied) and Qwen2 (tied) models. The reference scores are
 * the frozen base model's, computed in the same step.
 */
import { describeGoldenMetricRuns } from './golden-batch'

describeGoldenMetricRuns({
  recipe: 'poft',
  metrics: ['scores/target', 'scores/reference', 'scores/accuracies'],
  floor: 1,
  // rows whose scores tie (full fine-tuning at step 0) may fall either side in float32
  skip: (metric, run, k) => metric === 'scores/accuracies' && k === 0 && run.method === 'full'
})
