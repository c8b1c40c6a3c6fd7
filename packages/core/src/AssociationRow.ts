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
 * The NDJSON text of a chunk of rows: one JSON object a line, the columns in
 * order, each line ending in `\n`. One string for the whole chunk, so the
 * caller writes it at once. Ids of digits need no escaping, and the few
 * distinct types, categories and labels of a chunk are escaped once each.
 */
export const encodeNdjson = (rows: ReadonlyArray<AssociationRow>): string => {
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
  let out = ""
  for (const r of rows) {
    out += `{"from_object_type":${q(r.from_object_type)},"from_object_id":${id(r.from_object_id)},"to_object_type":${
      q(r.to_object_type)
    },"to_object_id":${id(r.to_object_id)},"association_category":${q(r.association_category)},"association_type_id":${
      r.association_type_id | 0
    },"association_label":${r.association_label === null ? "null" : q(r.association_label)}}\n`
  }
  return out
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
