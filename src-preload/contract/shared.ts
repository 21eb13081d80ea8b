/**
 * Building blocks of the contract's inputs that several domains use, and the way a call is
 * declared. index.ts does not re-export the schema values here: they are the domains' material,
 * not part of the API.
 */
import { z } from 'zod'

/** A declared call: the input schema is a value, the output is a phantom type. */
export interface CallSpec<I extends z.ZodType, O> {
  input: I
  summary: string
  /** Never read at run time; carries the output type. */
  output?: O
}

export function call<O>() {
  return <I extends z.ZodType>(summary: string, input: I): CallSpec<I, O> => ({ input, summary })
}

export const noInput = z.object({}).strict()
export const id = z.number().int().positive()
export const page = {
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0)
}

export type Device = 'cpu' | 'cuda'
export const device = z.enum(['cpu', 'cuda'])

export type Split = 'train' | 'validation' | 'test'
export const split = z.enum(['train', 'validation', 'test'])
export const sampleId = id
export const tagList = z.array(z.string().trim().min(1).max(100)).max(100)
export const editor = {
  /** Who made the change, for the sample's history. */
  author: z.string().max(200).default('user'),
  note: z.string().max(2000).default('')
}
