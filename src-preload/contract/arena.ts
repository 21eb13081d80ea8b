/** The blind arena: two answers to one prompt, a vote, and a leaderboard of the votes. */
import { z } from 'zod'
import { evalTargetRef } from './evaluations'
import { call, device, id, noInput, page } from './shared'

export type ArenaVote = 'left' | 'right' | 'tie' | 'both_bad'

/** An earlier turn of a chat the two answered side by side: the user's words and each side's answer. */
export interface ArenaTurn {
  user: string
  left: string
  right: string
}

/** Two answers to one prompt, shown in random order; who wrote which is revealed after the vote. */
export interface ArenaBattle {
  id: number
  /**
   * The turns before the prompt when the battle was a chat (saved from the Playground side by
   * side), each side's answers on its own side; empty for a single prompt.
   */
  history: ArenaTurn[]
  prompt: string
  left: { output: string; label: string | null }
  right: { output: string; label: string | null }
  vote: ArenaVote | null
  createdAt: string
  votedAt: string | null
}

export interface ArenaStanding {
  /** `base:<id>` or `checkpoint:<id>`. */
  key: string
  label: string
  battles: number
  wins: number
  losses: number
  ties: number
  bothBad: number
  /** (wins + draws / 2) / battles, where ties and "both bad" are draws. */
  winRate: number
  /** Bradley–Terry rating on the Elo scale (1000 = the mean), with a 95 % bootstrap interval. */
  rating: number
  ratingLow: number
  ratingHigh: number
}

export const arenaCalls = {
  'arena.start': call<ArenaBattle>()(
    'Two models or checkpoints answer the same prompt (typed, or drawn from a dataset version); the ' +
      'answers come back as left and right in random order, their authors hidden until the vote.',
    z
      .object({
        a: evalTargetRef,
        b: evalTargetRef,
        prompt: z.string().min(1).max(20_000).optional(),
        datasetVersionId: id.optional(),
        chat: z.boolean().default(true),
        maxNewTokens: z.number().int().min(1).max(4096).default(128),
        temperature: z.number().min(0).max(5).default(0.7),
        seed: z.number().int().min(0).optional(),
        device: device.default('cpu')
      })
      .strict()
      .refine((v) => (v.prompt === undefined) !== (v.datasetVersionId === undefined), {
        message: 'give exactly one of prompt and datasetVersionId'
      })
  ),
  'arena.record': call<ArenaBattle>()(
    'Store two answers already generated (the Playground side by side) as a battle waiting for its ' +
      "vote: the chat turns, the last one the prompt voted on, with each target's answers. Shown in " +
      'random order like any battle, the authors hidden until the vote.',
    z
      .object({
        a: evalTargetRef,
        b: evalTargetRef,
        turns: z
          .array(
            z
              .object({
                user: z.string().min(1).max(1_000_000),
                a: z.string().max(1_000_000),
                b: z.string().max(1_000_000)
              })
              .strict()
          )
          .min(1)
          .max(1000),
        /** How the answers were generated, kept with the battle (sampling settings per side). */
        settings: z.record(z.string(), z.unknown()).default({})
      })
      .strict()
  ),
  'arena.vote': call<ArenaBattle>()(
    'Vote on a battle: the left answer, the right one, a tie, or both bad. Reveals who wrote which.',
    z.object({ id, vote: z.enum(['left', 'right', 'tie', 'both_bad']) }).strict()
  ),
  'arena.battles': call<ArenaBattle[]>()('Arena battles, newest first.', z.object(page).strict()),
  'arena.leaderboard': call<ArenaStanding[]>()(
    'Every model or checkpoint that took part in a voted battle: win rate and Bradley–Terry rating with ' +
      'a 95 % bootstrap interval (ties and "both bad" count as draws).',
    noInput
  ),
  'arena.export': call<{ datasetId: number; versionId: number; pairs: number; skipped: number }>()(
    'Turn the votes with a winner into a preference dataset (prompt, chosen, rejected) and cut a version ' +
      'of it, ready for DPO; ties and "both bad" are skipped.',
    z.object({ name: z.string().trim().min(1).max(200) }).strict()
  )
} as const
