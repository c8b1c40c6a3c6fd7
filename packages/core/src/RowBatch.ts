/**
 * A batch of rows as columns over one buffer: what a stage hands to a sink,
 * one answer at a time. A batch read from an answer's bytes keeps its to ids
 * as places in those bytes (no string, no row object each), and an encoder
 * reads the columns it needs; `toArray` and iteration make row objects for
 * code that wants them.
 *
 * The layout: rows are in groups, one group a from object, in the batch's
 * order. Row `r` has the to id `bytes[rows[3r], rows[3r + 1])` and the
 * association type `types[rows[3r + 2]]`; group `g` holds rows
 * `groups[g].start` to `groups[g].end - 1` (groups need not be adjacent in
 * `rows`). When `digitIds`, every to id is ASCII digits; otherwise to ids are
 * UTF-8 text.
 */
import type { AssociationRow, AssociationType } from "./AssociationRow.js"

export interface Group {
  readonly fromType: string
  readonly fromId: string
  readonly toType: string
  /** The first row of the group. */
  readonly start: number
  /** One past its last row. */
  readonly end: number
}

export class RowBatch implements Iterable<AssociationRow> {
  readonly length: number

  constructor(
    readonly bytes: Uint8Array,
    readonly groups: ReadonlyArray<Group>,
    readonly rows: Int32Array,
    readonly types: ReadonlyArray<AssociationType>,
    readonly digitIds: boolean
  ) {
    let n = 0
    for (const g of groups) n += g.end - g.start
    this.length = n
  }

  /** The to id of row `r`. */
  toId(r: number): string {
    const start = this.rows[3 * r]!
    const end = this.rows[3 * r + 1]!
    return this.digitIds ? latin1(this.bytes, start, end) : utf8.decode(this.bytes.subarray(start, end))
  }

  /** The rows as objects, in order. */
  toArray(): Array<AssociationRow> {
    const out: Array<AssociationRow> = []
    for (const row of this) out.push(row)
    return out
  }

  *[Symbol.iterator](): Iterator<AssociationRow> {
    for (const g of this.groups) {
      for (let r = g.start; r < g.end; r++) {
        const t = this.types[this.rows[3 * r + 2]!]!
        yield {
          from_object_type: g.fromType,
          from_object_id: g.fromId,
          to_object_type: g.toType,
          to_object_id: this.toId(r),
          association_category: t.category,
          association_type_id: t.typeId,
          association_label: t.label
        }
      }
    }
  }
}

const utf8 = new TextDecoder()
const utf8Encoder = new TextEncoder()

/** The text of `bytes[start, end)`, one character a byte: for ids already known to be ASCII. */
export const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as Array<number>)

export const empty: RowBatch = new RowBatch(new Uint8Array(0), [], new Int32Array(0), [], true)

/** Whether every to id is ASCII digits, and their total length (then also their bytes' length). */
const digitIdsLength = (rows: ReadonlyArray<AssociationRow>): number | undefined => {
  let size = 0
  for (const r of rows) {
    const id = r.to_object_id
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i)
      if (c < 48 || c > 57) return undefined
    }
    size += id.length
  }
  return size
}

/** A batch of row objects, in their order: consecutive rows of one from object make one group. */
export const fromRows = (rows: Iterable<AssociationRow>): RowBatch => {
  const list = Array.isArray(rows) ? rows as ReadonlyArray<AssociationRow> : [...rows]
  if (list.length === 0) return empty
  const digitSize = digitIdsLength(list)
  const encoded = digitSize === undefined ? list.map((r) => utf8Encoder.encode(r.to_object_id)) : undefined
  const bytes = new Uint8Array(digitSize ?? encoded!.reduce((n, id) => n + id.length, 0))
  const at = new Int32Array(3 * list.length)
  const types: Array<AssociationType> = []
  /** Per type id, the types met with it (nearly always one): no key string a row. */
  const byTypeId = new Map<number, Array<number>>()
  const groups: Array<{ fromType: string; fromId: string; toType: string; start: number; end: number }> = []
  let offset = 0
  let last: AssociationRow | undefined
  let lastType = 0
  for (let r = 0; r < list.length; r++) {
    const row = list[r]!
    at[3 * r] = offset
    if (encoded === undefined) {
      const id = row.to_object_id
      for (let i = 0; i < id.length; i++) bytes[offset++] = id.charCodeAt(i)
    } else {
      bytes.set(encoded[r]!, offset)
      offset += encoded[r]!.length
    }
    at[3 * r + 1] = offset
    const { association_category: category, association_label: label, association_type_id: typeId } = row
    if (
      last === undefined || last.association_type_id !== typeId || last.association_category !== category
      || last.association_label !== label
    ) {
      let met = byTypeId.get(typeId)
      if (met === undefined) byTypeId.set(typeId, met = [])
      const found = met.find((t) => types[t]!.category === category && types[t]!.label === label)
      if (found === undefined) {
        lastType = types.length
        met.push(lastType)
        types.push({ category, typeId, label })
      } else {
        lastType = found
      }
    }
    at[3 * r + 2] = lastType
    const group = groups[groups.length - 1]
    if (
      group !== undefined && group.fromId === row.from_object_id && group.fromType === row.from_object_type
      && group.toType === row.to_object_type
    ) {
      group.end = r + 1
    } else {
      groups.push({ fromType: row.from_object_type, fromId: row.from_object_id, toType: row.to_object_type, start: r, end: r + 1 })
    }
    last = row
  }
  return new RowBatch(bytes, groups, at, types, encoded === undefined)
}
