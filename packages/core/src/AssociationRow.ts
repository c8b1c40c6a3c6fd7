/**
 * One output row: one (from, to, association type). The field names are the
 * output columns, in DESIGN.md's order, the same for NDJSON and Parquet.
 */
import { Schema } from "effect"
import type { BatchReadResponse, BatchReadResult } from "./Api.js"
import { Int32 } from "./Api.js"
import type { ObjectId } from "./ObjectId.js"
import type { ObjectType } from "./ObjectType.js"

export const AssociationRow = Schema.Struct({
  from_object_type: Schema.String,
  from_object_id: Schema.String,
  to_object_type: Schema.String,
  to_object_id: Schema.String,
  association_category: Schema.String,
  association_type_id: Int32,
  association_label: Schema.NullOr(Schema.String)
})
export type AssociationRow = typeof AssociationRow.Type

/** The output columns in order, with their types: the one source of the schema of every part. */
export const columns = [
  { name: "from_object_type", type: "string", nullable: false },
  { name: "from_object_id", type: "string", nullable: false },
  { name: "to_object_type", type: "string", nullable: false },
  { name: "to_object_id", type: "string", nullable: false },
  { name: "association_category", type: "string", nullable: false },
  { name: "association_type_id", type: "int32", nullable: false },
  { name: "association_label", type: "string", nullable: true }
] as const satisfies ReadonlyArray<{ name: keyof AssociationRow; type: "string" | "int32"; nullable: boolean }>

export type Column = (typeof columns)[number]

export interface Pair {
  readonly fromType: ObjectType
  readonly toType: ObjectType
}

/**
 * The rows of one `from` object's page of associations, in page order; an
 * association type met twice in the page yields one row.
 */
export const fromResult = (pair: Pair, result: BatchReadResult): Array<AssociationRow> => {
  const rows: Array<AssociationRow> = []
  const fromId = result.from.id
  let seen: Set<string> | undefined
  for (const to of result.to) {
    const types = to.associationTypes
    if (types.length > 1 || seen !== undefined) {
      // Only a to-object with several types (or a to-object met twice) can repeat a row.
      seen ??= new Set()
    }
    for (const t of types) {
      if (seen !== undefined) {
        const key = `${to.toObjectId}\u0000${t.category}\u0000${t.typeId}`
        if (seen.has(key)) continue
        seen.add(key)
      }
      rows.push({
        from_object_type: pair.fromType,
        from_object_id: fromId,
        to_object_type: pair.toType,
        to_object_id: to.toObjectId,
        association_category: t.category,
        association_type_id: t.typeId,
        association_label: t.label
      })
    }
  }
  return rows
}

/**
 * Every row of one batch-read answer, in canonical order: the order of
 * `inputOrder` (the request's inputs), then page order. A result whose `from`
 * id was already met in the answer is skipped, so an answer never yields a
 * row twice. Results for ids missing from `inputOrder` come last, in answer
 * order.
 */
export const flatten = (
  pair: Pair,
  response: Pick<BatchReadResponse, "results">,
  inputOrder?: ReadonlyArray<ObjectId>
): Array<AssociationRow> => {
  const byId = new Map<string, BatchReadResult>()
  for (const result of response.results) {
    if (!byId.has(result.from.id)) byId.set(result.from.id, result)
  }
  const rows: Array<AssociationRow> = []
  const push = (result: BatchReadResult) => {
    for (const row of fromResult(pair, result)) rows.push(row)
  }
  if (inputOrder === undefined) {
    for (const result of byId.values()) push(result)
    return rows
  }
  for (const id of inputOrder) {
    const result = byId.get(id)
    if (result !== undefined) {
      push(result)
      byId.delete(id)
    }
  }
  for (const result of byId.values()) push(result)
  return rows
}

const digits = /^[0-9]+$/

/**
 * Builds NDJSON lines: one JSON object a row, the columns in order, ending in
 * `\n`. Ids of digits need no escaping, and the few distinct types,
 * categories and labels of a chunk are escaped once each.
 */
const lineWriter = () => {
  const quoted = new Map<string, string>()
  const q = (s: string): string => {
    let json = quoted.get(s)
    if (json === undefined) {
      json = JSON.stringify(s)
      quoted.set(s, json)
    }
    return json
  }
  const id = (s: string): string => (digits.test(s) ? `"${s}"` : JSON.stringify(s))
  return (r: AssociationRow): string =>
    `{"from_object_type":${q(r.from_object_type)},"from_object_id":${id(r.from_object_id)},"to_object_type":${
      q(r.to_object_type)
    },"to_object_id":${id(r.to_object_id)},"association_category":${q(r.association_category)},"association_type_id":${
      r.association_type_id | 0
    },"association_label":${r.association_label === null ? "null" : q(r.association_label)}}\n`
}

/** The NDJSON text of a chunk of rows, one line a row (see `encodeNdjsonBytes` for the bytes to write). */
export const encodeNdjson = (rows: ReadonlyArray<AssociationRow>): string => {
  const line = lineWriter()
  let out = ""
  for (const r of rows) out += line(r)
  return out
}

const utf8 = new TextEncoder()

/**
 * The UTF-8 bytes of `encodeNdjson(rows)`, one buffer for the chunk. Each line is encoded into the buffer as it
 * is built: encoding one concatenated string costs twice as much, since a single label beyond Latin-1 makes
 * the whole text two-byte.
 */
export const encodeNdjsonBytes = (rows: ReadonlyArray<AssociationRow>): Uint8Array => {
  const line = lineWriter()
  let bytes = new Uint8Array(Math.max(1024, rows.length * 256))
  let at = 0
  for (const r of rows) {
    const text = line(r)
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (at + text.length * 3 > bytes.length) {
      const larger = new Uint8Array(Math.max(bytes.length * 2, at + text.length * 3))
      larger.set(bytes.subarray(0, at))
      bytes = larger
    }
    at += utf8.encodeInto(text, bytes.subarray(at)).written
  }
  return bytes.subarray(0, at)
}

const decodeRowSync = Schema.decodeUnknownSync(AssociationRow)

/** The rows of NDJSON text written by `encodeNdjson` (blank lines skipped); throws on a line that is not a row. */
export const decodeNdjson = (text: string): Array<AssociationRow> => {
  const rows: Array<AssociationRow> = []
  for (const line of text.split("\n")) {
    if (line.length > 0) rows.push(decodeRowSync(JSON.parse(line)))
  }
  return rows
}
