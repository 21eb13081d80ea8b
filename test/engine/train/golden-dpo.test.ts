/**
 * The dpo recipe against PyTorch (reference/make_golden_preference.py): 5 AdamW steps on a batch of
 * two preference pairs, LoRA from the golden adapter and full fine-tuning, each loss type, on the
 * random-weight Llama (untied) and Qwen2 (tied) models.
 */
import { describeGoldenMetricRuns } from './golden-batch'

describeGoldenMetricRuns({
  recipe: 'dpo',
  metrics: ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies'],
  // within 1e-4 of |expected|, or of 0.01 for values near 0 (a reward of 0 at step 0)
  floor: 1e-2,
  // a pair whose rewards tie (full fine-tuning at step 0) may fall either side in float32
  skip: (metric, run, k) => metric === 'rewards/accuracies' && Math.abs(run['rewards/margins'][k]) < 1e-3
})
