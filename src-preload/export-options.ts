/**
 * The choices an export offers, as plain lists: the contract's schemas (contract/exports.ts) and
 * the renderer's export dialog both read them, and the renderer must not bundle zod.
 */

/** The dtypes of a merged HF folder, as config.json's torch_dtype names them. */
export const HF_EXPORT_DTYPES = ['float32', 'float16', 'bfloat16'] as const
export type HfExportDtype = (typeof HF_EXPORT_DTYPES)[number]

/** GGUF tensor types an export may ask for (engine/export/gguf.ts writes each). */
export const GGUF_EXPORT_TYPES = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K_M'] as const
export type GgufExportType = (typeof GGUF_EXPORT_TYPES)[number]
