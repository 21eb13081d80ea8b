/**
 * The arena: two models or checkpoints answer one prompt, the answers are shown in random order
 * without their authors, and a person votes. Votes feed a leaderboard (win rates and Bradley–Terry
 * ratings) and can become a preference dataset (chosen / rejected) for DPO.
 */
import { randomInt } from 'node:crypto'
import type {
  ArenaStanding,
  Conversation,
  ConversationMessage,
  EvalTargetRef,
  ParsedInput
} from '../../src-preload/contract'
import { rate, type PairOutcome } from '../eval/bradley-terry'
import { toArenaBattle, type ArenaContender, type BattleRecord } from '../store/repos/arena'
import { inTransaction } from '../store/repos/sql'
import { resolveEvalTarget } from './eval-launcher'
import { ApiError, notFound } from './errors'
import { generate } from './generate'
import type { Handlers, RequestContext } from './handlers'

const OPERATION = 'arena.start'

/** The first user turn of a random sample of the dataset version: what the arena asks. */
function promptFromVersion(
  ctx: RequestContext,
  versionId: number
): { prompt: string; sampleId: number | null } {
  if (!ctx.store.datasets.getVersion(versionId)) throw notFound('dataset version', versionId)
  const samples = ctx.store.datasets
    .versionSamples(versionId)
    .filter((sample) =>
      sample.conversation.messages.some((m) => m.role === 'user' && m.content.trim() !== '')
    )
  if (samples.length === 0) {
    throw new ApiError(
      'invalid_input',
      `${OPERATION}: dataset version ${versionId} has no sample with a user turn`
    )
  }
  const sample = samples[randomInt(samples.length)]
  const user = sample.conversation.messages.find((m) => m.role === 'user' && m.content.trim() !== '')!
  return { prompt: user.content, sampleId: sample.sampleId }
}

async function answer(
  ctx: RequestContext,
  target: EvalTargetRef,
  prompt: string,
  input: ParsedInput<'arena.start'>,
  seed: number
): Promise<string> {
  const { text } = await generate(ctx, {
    ...target,
    prompt,
    chat: input.chat,
    maxNewTokens: input.maxNewTokens,
    temperature: input.temperature,
    seed
  })
  return text.trim()
}

/** The two contenders as a battle records them; the same target twice is refused. */
function contenders(
  ctx: RequestContext,
  operation: string,
  refs: { a: EvalTargetRef; b: EvalTargetRef }
): { a: ArenaContender; b: ArenaContender } {
  const a = resolveEvalTarget(ctx, operation, refs.a)
  const b = resolveEvalTarget(ctx, operation, refs.b)
  if (a.key === b.key)
    throw new ApiError('invalid_input', `${operation}: a and b are the same (${a.weights.label})`)
  return { a: { key: a.key, label: a.weights.label }, b: { key: b.key, label: b.weights.label } }
}

async function startBattle(ctx: RequestContext, input: ParsedInput<'arena.start'>) {
  const { a, b } = contenders(ctx, OPERATION, input)
  const drawn = input.prompt === undefined ? promptFromVersion(ctx, input.datasetVersionId!) : null
  const prompt = input.prompt ?? drawn!.prompt
  const seed = input.seed ?? randomInt(2 ** 31)
  const outputA = await answer(ctx, input.a, prompt, input, seed)
  const outputB = await answer(ctx, input.b, prompt, input, seed)
  const battle = ctx.store.arena.create({
    prompt,
    a,
    b,
    outputA,
    outputB,
    aOnLeft: randomInt(2) === 1,
    settings: {
      chat: input.chat,
      maxNewTokens: input.maxNewTokens,
      temperature: input.temperature,
      seed,
      ...(drawn ? { datasetVersionId: input.datasetVersionId, sampleId: drawn.sampleId } : {})
    }
  })
  return toArenaBattle(battle)
}

/**
 * A chat two targets answered side by side (the Playground): its last turn is the battle's prompt
 * and answers, the turns before it the history the voter reads first.
 */
function recordBattle(ctx: RequestContext, input: ParsedInput<'arena.record'>) {
  const { a, b } = contenders(ctx, 'arena.record', input)
  const last = input.turns.at(-1)!
  const battle = ctx.store.arena.create({
    prompt: last.user,
    a,
    b,
    outputA: last.a,
    outputB: last.b,
    aOnLeft: randomInt(2) === 1,
    settings: { source: 'playground', generation: input.settings },
    history: input.turns.slice(0, -1)
  })
  return toArenaBattle(battle)
}

function outcome(battle: BattleRecord): PairOutcome {
  const scoreA = battle.vote === 'a' ? 1 : battle.vote === 'b' ? 0 : 0.5
  return { a: battle.a.key, b: battle.b.key, scoreA }
}

export function leaderboard(ctx: RequestContext): ArenaStanding[] {
  const battles = ctx.store.arena.voted()
  const standings = new Map<string, ArenaStanding>()
  const standing = (key: string, label: string): ArenaStanding => {
    const existing = standings.get(key)
    if (existing) {
      existing.label = label // the newest label it answered under
      return existing
    }
    const fresh = {
      key,
      label,
      battles: 0,
      wins: 0,
      losses: 0,
      ties: 0,
      bothBad: 0,
      winRate: 0,
      rating: 0,
      ratingLow: 0,
      ratingHigh: 0
    }
    standings.set(key, fresh)
    return fresh
  }
  for (const battle of battles) {
    const a = standing(battle.a.key, battle.a.label)
    const b = standing(battle.b.key, battle.b.label)
    a.battles++
    b.battles++
    const [winner, loser] = battle.vote === 'a' ? [a, b] : battle.vote === 'b' ? [b, a] : [null, null]
    if (winner && loser) {
      winner.wins++
      loser.losses++
    } else if (battle.vote === 'tie') {
      a.ties++
      b.ties++
    } else {
      a.bothBad++
      b.bothBad++
    }
  }
  const players = [...standings.keys()]
  const ratings = rate(players, battles.map(outcome))
  ratings.forEach(({ player, rating, low, high }) => {
    const s = standings.get(player)!
    s.winRate = (s.wins + (s.ties + s.bothBad) / 2) / s.battles
    Object.assign(s, { rating, ratingLow: low, ratingHigh: high })
  })
  return [...standings.values()].sort((x, y) => y.rating - x.rating)
}

/** Every vote with a winner as a preference sample: the prompt, the winner's answer, the loser's. */
function exportVotes(ctx: RequestContext, name: string) {
  const battles = ctx.store.arena.voted()
  const decided = battles.filter((battle) => battle.vote === 'a' || battle.vote === 'b')
  if (decided.length === 0) {
    throw new ApiError(
      'invalid_input',
      'arena.export: no vote picks a winner yet (ties and "both bad" are skipped)'
    )
  }
  const samples = decided.map((battle) => {
    const aWon = battle.vote === 'a'
    // A chat battle's earlier turns come first, with the winner's answers: the context it won in.
    const context = battle.history.flatMap((turn): ConversationMessage[] => [
      { role: 'user', content: turn.user },
      { role: 'assistant', content: aWon ? turn.a : turn.b }
    ])
    const conversation: Conversation = {
      messages: [
        ...context,
        { role: 'user', content: battle.prompt },
        { role: 'assistant', content: aWon ? battle.outputA : battle.outputB }
      ],
      rejected: [{ role: 'assistant', content: aWon ? battle.outputB : battle.outputA }],
      metadata: {
        arena_battle: battle.id,
        chosen_by: (aWon ? battle.a : battle.b).label,
        rejected_by: (aWon ? battle.b : battle.a).label
      }
    }
    return { conversation, tags: ['arena'] }
  })
  return inTransaction(ctx.store.db, () => {
    const dataset = ctx.store.datasets.create({
      name,
      description: `Preference pairs from ${decided.length} arena votes (chosen: the answer voted better).`
    })
    ctx.store.datasets.addSamples(dataset.id, samples, { note: 'exported from arena votes' })
    const version = ctx.store.datasets.cutVersion(dataset.id, `${decided.length} arena votes`)
    return {
      datasetId: dataset.id,
      versionId: version.id,
      pairs: decided.length,
      skipped: battles.length - decided.length
    }
  })()
}

export const arenaHandlers: Pick<
  Handlers,
  'arena.start' | 'arena.record' | 'arena.vote' | 'arena.battles' | 'arena.leaderboard' | 'arena.export'
> = {
  'arena.start': (input, ctx) => startBattle(ctx, input),
  'arena.record': (input, ctx) => recordBattle(ctx, input),
  'arena.vote': (input, ctx) => {
    const battle = ctx.store.arena.vote(input.id, input.vote)
    if (!battle) throw notFound('arena battle', input.id)
    return toArenaBattle(battle)
  },
  'arena.battles': (input, ctx) => ctx.store.arena.list(input).map(toArenaBattle),
  'arena.leaderboard': (_input, ctx) => leaderboard(ctx),
  'arena.export': (input, ctx) => exportVotes(ctx, input.name)
}
