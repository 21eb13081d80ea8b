import type { RewardInfo } from '../../src-preload/contract'
import { listRewards, scoreRows, type RewardFunction } from '../rewards'
import type { Handlers } from './handlers'
import { paramInfo } from './recipes'
import { testRewards, withSpecChecked } from './rewards-test'

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

export const rewardHandlers: Pick<Handlers, 'rewards.list' | 'rewards.score' | 'rewards.test'> = {
  'rewards.list': () => listRewards().map(rewardInfo),
  'rewards.score': ({ spec, rows }) => withSpecChecked(() => scoreRows(spec, rows)),
  'rewards.test': (input, ctx) => testRewards(ctx, input)
}
