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

const digits = /^[0-9]*$/

/** A batch of row objects, in their order: consecutive rows of one from object make one group. */
export const fromRows = (rows: Iterable<AssociationRow>): RowBatch => {
  const list = Array.isArray(rows) ? rows as ReadonlyArray<AssociationRow> : [...rows]
  if (list.length === 0) return empty
  const digitIds = list.every((r) => digits.test(r.to_object_id))
  const ids = list.map((r) => digitIds ? r.to_object_id : utf8Encoder.encode(r.to_object_id))
  let size = 0
  for (const id of ids) size += id.length
  const bytes = new Uint8Array(size)
  const at = new Int32Array(3 * list.length)
  const types: Array<AssociationType> = []
  const typeIndex = new Map<string, number>()
  const groups: Array<{ fromType: string; fromId: string; toType: string; start: number; end: number }> = []
  let offset = 0
  for (let r = 0; r < list.length; r++) {
    const row = list[r]!
    const id = ids[r]!
    at[3 * r] = offset
    if (typeof id === "string") for (let i = 0; i < id.length; i++) bytes[offset++] = id.charCodeAt(i)
    else {
      bytes.set(id, offset)
      offset += id.length
    }
    at[3 * r + 1] = offset
    const label = row.association_label
    const key = `${row.association_category}\u0000${row.association_type_id}\u0000${label === null ? "\u0001" : `=${label}`}`
    let t = typeIndex.get(key)
    if (t === undefined) {
      t = types.length
      typeIndex.set(key, t)
      types.push({ category: row.association_category, typeId: row.association_type_id, label })
    }
    at[3 * r + 2] = t
    const last = groups[groups.length - 1]
    if (
      last !== undefined && last.fromId === row.from_object_id && last.fromType === row.from_object_type
      && last.toType === row.to_object_type
    ) {
      last.end = r + 1
    } else {
      groups.push({ fromType: row.from_object_type, fromId: row.from_object_id, toType: row.to_object_type, start: r, end: r + 1 })
    }
  }
  return new RowBatch(bytes, groups, at, types, digitIds)
}
