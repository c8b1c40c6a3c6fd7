/**
 * A CRM object id: a string of digits. Never a JavaScript number: ids pass
 * 2^53 and would silently lose digits.
 */
import { Schema } from "effect"

const pattern = /^[0-9]{1,32}$/

export const ObjectId = Schema.String.pipe(
  Schema.filter((s) => pattern.test(s) ? undefined : `object id must be a string of digits, got ${JSON.stringify(s)}`),
  Schema.brand("@assoc-etl/core/ObjectId")
)
export type ObjectId = typeof ObjectId.Type

export const decode = Schema.decodeUnknown(ObjectId)
export const decodeEither = Schema.decodeUnknownEither(ObjectId)

/** True when `s` has the shape of an object id; the fast path for hot loops. */
export const isObjectId = (s: string): s is ObjectId => pattern.test(s)

/** For values that are known to be valid (constants in code and tests); throws otherwise. */
export const unsafeMake = (s: string): ObjectId => Schema.decodeUnknownSync(ObjectId)(s)
