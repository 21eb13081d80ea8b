/**
 * THE registration list of gradient rules (tfjs's register_all_gradients). An op added to the
 * engine gets a builder in ops/<op>.ts, a rule in <op>_grad.ts beside this file, and one line in
 * OP_DEFS; registering an op twice throws with its name.
 */
import { createOpRegistry, type OpDef, type OpRegistry } from '../registry'
import { addGrad } from './add_grad'
import { castGrad } from './cast_grad'
import { concatGrad } from './concat_grad'
import { cosGrad } from './cos_grad'
import { divGrad } from './div_grad'
import { expGrad } from './exp_grad'
import { expandGrad } from './expand_grad'
import { gatherElementsGrad } from './gather_elements_grad'
import { gatherGrad } from './gather_grad'
import { gemmGrad } from './gemm_grad'
import { identityGrad, stopGradientGrad } from './identity_grad'
import { logGrad } from './log_grad'
import { logSoftmaxGrad } from './log_softmax_grad'
import { andGrad, equalGrad, greaterGrad, lessGrad, notGrad } from './logical_grad'
import { matmulGrad } from './matmul_grad'
import { maxGrad } from './max_grad'
import { minGrad } from './min_grad'
import { mulGrad } from './mul_grad'
import { negGrad } from './neg_grad'
import { padGrad } from './pad_grad'
import { powGrad } from './pow_grad'
import { reciprocalGrad } from './reciprocal_grad'
import { reduceMaxGrad } from './reduce_max_grad'
import { reduceMeanGrad } from './reduce_mean_grad'
import { reduceSumGrad } from './reduce_sum_grad'
import { reluGrad } from './relu_grad'
import { reshapeGrad } from './reshape_grad'
import { constantOfShapeGrad, nonZeroGrad, rangeGrad, shapeGrad, sizeGrad } from './shape_ops_grad'
import { sigmoidGrad } from './sigmoid_grad'
import { sinGrad } from './sin_grad'
import { sliceGrad } from './slice_grad'
import { softmaxGrad } from './softmax_grad'
import { splitGrad } from './split_grad'
import { sqrtGrad } from './sqrt_grad'
import { squeezeGrad } from './squeeze_grad'
import { subGrad } from './sub_grad'
import { sumGrad } from './sum_grad'
import { tanhGrad } from './tanh_grad'
import { transposeGrad } from './transpose_grad'
import { triluGrad } from './trilu_grad'
import { unsqueezeGrad } from './unsqueeze_grad'
import { whereGrad } from './where_grad'

// ScatterND has a builder but deliberately no rule: it only appears inside gradients, and a
// loss that depends on it makes gradients() throw instead of silently dropping a term.
export const OP_DEFS: readonly OpDef[] = [
  // elementwise arithmetic
  addGrad,
  subGrad,
  mulGrad,
  divGrad,
  negGrad,
  powGrad,
  sqrtGrad,
  reciprocalGrad,
  expGrad,
  logGrad,
  sigmoidGrad,
  tanhGrad,
  reluGrad,
  sinGrad,
  cosGrad,
  maxGrad,
  minGrad,
  sumGrad,
  // linear algebra and reductions
  matmulGrad,
  gemmGrad,
  reduceSumGrad,
  reduceMeanGrad,
  reduceMaxGrad,
  softmaxGrad,
  logSoftmaxGrad,
  // indexing and layout
  gatherGrad,
  gatherElementsGrad,
  reshapeGrad,
  transposeGrad,
  sliceGrad,
  padGrad,
  concatGrad,
  splitGrad,
  expandGrad,
  unsqueezeGrad,
  squeezeGrad,
  whereGrad,
  castGrad,
  identityGrad,
  stopGradientGrad,
  triluGrad,
  // no gradient flows through these
  equalGrad,
  lessGrad,
  greaterGrad,
  notGrad,
  andGrad,
  shapeGrad,
  sizeGrad,
  constantOfShapeGrad,
  rangeGrad,
  nonZeroGrad
]

export const OP_REGISTRY: OpRegistry = createOpRegistry(OP_DEFS)
