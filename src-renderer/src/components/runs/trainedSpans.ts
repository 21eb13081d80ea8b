/** A piece of rendered template text, marked when the model is trained on it. */
export interface TextPiece {
  text: string
  trained: boolean
}

/**
 * Cuts `text` at the trained character ranges [start, end). Ranges may come unsorted or overlapping;
 * they are clipped to the text.
 */
export function splitTrainedSpans(
  text: string,
  spans: readonly { start: number; end: number }[]
): TextPiece[] {
  const ranges = spans
    .map(({ start, end }) => [Math.max(0, start), Math.min(text.length, end)] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0])
  const pieces: TextPiece[] = []
  let at = 0
  for (const [start, end] of ranges) {
    if (end <= at) continue
    if (start > at) pieces.push({ text: text.slice(at, start), trained: false })
    pieces.push({ text: text.slice(Math.max(start, at), end), trained: true })
    at = end
  }
  if (at < text.length) pieces.push({ text: text.slice(at), trained: false })
  return pieces
}
