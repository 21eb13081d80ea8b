import type { RewardInfo } from '../../src-preload/contract'
import { listRewards, RewardSpecError, scoreRows, type RewardFunction } from '../rewards'
import { ApiError } from './errors'
import type { Handlers } from './handlers'
import { paramInfo } from './recipes'

/** A reward declaration as the contract shows it: plain data, without its scoring. */
export function rewardInfo(reward: RewardFunction): RewardInfo {
  return {
    name: reward.name,
    title: reward.title,
    description: reward.description,
    paper: reward.paper && { ...reward.paper },
    params: reward.params.map(paramInfo)
  }
}

export const rewardHandlers: Pick<Handlers, 'rewards.list' | 'rewards.score'> = {
  'rewards.list': () => listRewards().map(rewardInfo),
  'rewards.score': async ({ spec, rows }) => {
    try {
      return await scoreRows(spec, rows)
    } catch (error) {
      if (error instanceof RewardSpecError) throw new ApiError('invalid_input', error.message)
      throw error
    }
  }
}
