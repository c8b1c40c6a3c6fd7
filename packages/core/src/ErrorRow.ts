/**
 * One input that was refused (an unknown id, a bad line of an id file): a
 * line of `errors.ndjson`. Refusals are data, not failures of the run:
 * nothing is dropped silently.
 */
import { Schema } from "effect"
import type { Pair } from "./AssociationRow.js"

export const ErrorRow = Schema.Struct({
  from_object_type: Schema.String,
  to_object_type: Schema.String,
  /** The refused id; `null` when the refusal names none. */
  object_id: Schema.NullOr(Schema.String),
  category: Schema.String,
  sub_category: Schema.NullOr(Schema.String),
  message: Schema.String
})
export type ErrorRow = typeof ErrorRow.Type

/** An input refused before it was sent (a bad line of an id file, say). */
export const invalidInput = (pair: Pair, objectId: string | null, message: string): ErrorRow => ({
  from_object_type: pair.fromType,
  to_object_type: pair.toType,
  object_id: objectId,
  category: "INVALID_INPUT",
  sub_category: null,
  message
})

/** The NDJSON lines of error rows, the fields in the schema's order. */
export const encodeNdjson = (errors: ReadonlyArray<ErrorRow>): string => {
  let out = ""
  for (const e of errors) {
    out += `${
      JSON.stringify({
        from_object_type: e.from_object_type,
        to_object_type: e.to_object_type,
        object_id: e.object_id,
        category: e.category,
        sub_category: e.sub_category,
        message: e.message
      })
    }\n`
  }
  return out
}
