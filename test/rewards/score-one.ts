import { resolveRewardSpec, RewardSession, scoreWithSpec, type RewardInput } from '../../src-main/rewards'

/** One reward's value and reason for one completion, scored as a spec of that single term scores it. */
export async function scoreOne(
  reward: string,
  row: Partial<RewardInput> & { completion: string },
  params: Record<string, unknown> = {}
): Promise<{ value: number; reason?: string }> {
  const terms = await resolveRewardSpec({ terms: [{ reward, weight: 1, params }] })
  const session = new RewardSession()
  try {
    const input: RewardInput = { prompt: '', reference: null, metadata: {}, ...row }
    const { terms: scored } = await scoreWithSpec(terms, input, session)
    return { value: scored[0].value, ...(scored[0].reason === undefined ? {} : { reason: scored[0].reason }) }
  } finally {
    session.close()
  }
}
