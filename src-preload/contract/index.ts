/**
 * THE API of Finetune Studio. Every call the renderer (or a browser, or the CLI) can make is
 * declared once, in the file of its domain beside this one: its name, a zod schema for its input
 * (renderer input is untrusted and is parsed in main before any handler sees it) and the type of
 * its output. This index gathers them into `calls`, and declares the shapes every client sees: the
 * call types, the error and the client. Events that main pushes to every client are in events.ts.
 *
 * Three doors serve this contract — Electron IPC (src-main/ipc), the headless HTTP + WebSocket
 * server (src-main/server) and the CLI (src-main/cli.ts) — all onto the same handlers in
 * src-main/api. These files are imported by main and renderer, so they may import nothing but zod,
 * each other, and the plain name list the preload uses.
 */
import type { z } from 'zod'
import { CALL_NAMES } from '../call-names'
import { arenaCalls } from './arena'
import { datasetQualityCalls } from './dataset-quality'
import { datasetCalls } from './datasets'
import { evaluationCalls } from './evaluations'
import type { EventName, Events } from './events'
import { exportCalls } from './exports'
import { jobCalls } from './jobs'
import { modelLibraryCalls } from './model-library'
import { modelCalls } from './models'
import { recipeCalls } from './recipes'
import { rewardCalls } from './rewards'
import { runCalls } from './runs'
import { sampleCalls } from './samples'
import { systemCalls } from './system'

export * from './arena'
export * from './conversation'
export * from './dataset-quality'
export * from './datasets'
export * from './evaluations'
export * from './events'
export * from './exports'
export * from './jobs'
export * from './model-library'
export * from './models'
export * from './recipes'
export * from './rewards'
export * from './runs'
export * from './samples'
export * from './system'
export type { CallSpec, Device, Split } from './shared'

export const calls = {
  ...systemCalls,
  ...datasetCalls,
  ...sampleCalls,
  ...datasetQualityCalls,
  ...modelCalls,
  ...modelLibraryCalls,
  ...runCalls,
  ...recipeCalls,
  ...rewardCalls,
  ...evaluationCalls,
  ...arenaCalls,
  ...exportCalls,
  ...jobCalls
} as const

export type Calls = typeof calls
export type CallName = keyof Calls
export type CallInput<K extends CallName> = z.input<Calls[K]['input']>
export type ParsedInput<K extends CallName> = z.output<Calls[K]['input']>
export type CallOutput<K extends CallName> = NonNullable<Calls[K]['output']>
export const callNames: readonly CallName[] = CALL_NAMES

// Compile-time proof that call-names.ts lists exactly the calls declared in the domain files.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const _namesMatch: Same<CallName, (typeof CALL_NAMES)[number]> = true
void _namesMatch

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(calls, name)
}

// ---------------------------------------------------------------------------------------------
// Errors and the client-side shape every door provides
// ---------------------------------------------------------------------------------------------

/** How an error crosses any door: shown to the user as it is. */
export interface ApiErrorShape {
  code: 'invalid_input' | 'not_found' | 'conflict' | 'unauthorized' | 'unknown_call' | 'failed' | 'internal'
  message: string
  details?: unknown
}

export interface StudioClient {
  call<K extends CallName>(name: K, input: CallInput<K>): Promise<CallOutput<K>>
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
}

/** What the preload script exposes on `window.finetuneStudio`: one named method per call. */
export type PreloadApi = {
  [K in CallName]: (
    input: CallInput<K>
  ) => Promise<{ ok: true; value: CallOutput<K> } | { ok: false; error: ApiErrorShape }>
} & {
  onEvent(listener: (event: EventName, payload: unknown) => void): () => void
  /** Where a File the user picked or dropped lies on disk (Electron's webUtils.getPathForFile). */
  pathForFile(file: File): string
}
