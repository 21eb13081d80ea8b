/**
 * A protobuf wire-format reader for tests: decodes one message level into fields, so tests can
 * check what the writer produced without a protobuf library.
 */
export type WireValue =
  { wire: 0; value: bigint } | { wire: 1 | 5; bytes: Uint8Array } | { wire: 2; bytes: Uint8Array }

export function decodeFields(bytes: Uint8Array): Map<number, WireValue[]> {
  const fields = new Map<number, WireValue[]>()
  let pos = 0
  const varint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      const b = bytes[pos++]
      if (b === undefined) throw new Error('decodeFields: truncated varint')
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
    }
  }
  while (pos < bytes.length) {
    const tag = Number(varint())
    const field = tag >>> 3
    const wire = tag & 7
    let value: WireValue
    if (wire === 0) value = { wire: 0, value: varint() }
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4
      value = { wire, bytes: bytes.subarray(pos, pos + n) }
      pos += n
    } else if (wire === 2) {
      const n = Number(varint())
      value = { wire: 2, bytes: bytes.subarray(pos, pos + n) }
      pos += n
      if (pos > bytes.length) throw new Error('decodeFields: truncated length-delimited field')
    } else throw new Error(`decodeFields: unsupported wire type ${wire}`)
    const list = fields.get(field) ?? []
    list.push(value)
    fields.set(field, list)
  }
  return fields
}

export function stringField(fields: Map<number, WireValue[]>, field: number): string[] {
  return (fields.get(field) ?? []).map((v) => new TextDecoder().decode((v as { bytes: Uint8Array }).bytes))
}

export function messageFields(fields: Map<number, WireValue[]>, field: number): Map<number, WireValue[]>[] {
  return (fields.get(field) ?? []).map((v) => decodeFields((v as { bytes: Uint8Array }).bytes))
}

export function varintField(fields: Map<number, WireValue[]>, field: number): bigint[] {
  return (fields.get(field) ?? []).map((v) => (v as { value: bigint }).value)
}

/** A packed run of varints, as int64. */
export function packedVarints(bytes: Uint8Array): bigint[] {
  const out: bigint[] = []
  let pos = 0
  while (pos < bytes.length) {
    let result = 0n
    let shift = 0n
    for (;;) {
      const b = bytes[pos++]
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) break
      shift += 7n
    }
    out.push(BigInt.asIntN(64, result))
  }
  return out
}
