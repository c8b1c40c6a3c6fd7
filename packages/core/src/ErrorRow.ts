/**
 * One input the API refused (an unknown id, say): a line of `errors.ndjson`.
 * Refusals are data, not failures of the run: nothing is dropped silently.
 */
import { Schema } from "effect"
import type { BatchReadError } from "./Api.js"
import type { Pair } from "./AssociationRow.js"

export const ErrorRow = Schema.Struct({
  from_object_type: Schema.String,
  to_object_type: Schema.String,
  /** The refused id; `null` when HubSpot's error names none. */
  object_id: Schema.NullOr(Schema.String),
  category: Schema.String,
  sub_category: Schema.NullOr(Schema.String),
  message: Schema.String
})
export type ErrorRow = typeof ErrorRow.Type

const subCategoryText = (u: unknown): string | null =>
  u === undefined || u === null ? null : typeof u === "string" ? u : JSON.stringify(u)

/** The ids one error names, from its `context` (`fromObjectId`, `ids`, ...), in order, without repeats. */
export const idsOf = (error: BatchReadError): ReadonlyArray<string> => {
  const ids = new Set<string>()
  for (const values of Object.values(error.context ?? {})) {
    for (const v of values) ids.add(v)
  }
  return [...ids]
}

/** One row per id the error names, or one row with a `null` id when it names none. */
export const fromError = (pair: Pair, error: BatchReadError): Array<ErrorRow> => {
  const base = {
    from_object_type: pair.fromType,
    to_object_type: pair.toType,
    category: error.category,
    sub_category: subCategoryText(error.subCategory),
    message: error.message
  }
  const ids = idsOf(error)
  return ids.length === 0 ? [{ ...base, object_id: null }] : ids.map((id) => ({ ...base, object_id: id }))
}

/** An input refused before it reached HubSpot (a bad line of an id file, say). */
export const invalidInput = (pair: Pair, objectId: string | null, message: string): ErrorRow => ({
  from_object_type: pair.fromType,
  to_object_type: pair.toType,
  object_id: objectId,
  category: "INVALID_INPUT",
  sub_category: null,
  message
})
