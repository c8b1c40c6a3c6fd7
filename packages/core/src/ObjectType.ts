/**
 * A CRM object type as it appears in a URL path: a name such as
 * `contacts` or `line_items`, or an object type id such as `0-1` or
 * `2-12345` (custom objects). Anything else is refused before it can reach
 * a URL.
 */
import { Schema } from "effect"

const namePattern = /^[a-z][a-z0-9_]{0,63}$/
const idPattern = /^[0-9]{1,4}-[0-9]{1,18}$/

export const ObjectType = Schema.String.pipe(
  Schema.filter((s) =>
    namePattern.test(s) || idPattern.test(s)
      ? undefined
      : `object type must be a name like "contacts" or an id like "0-1" or "2-12345", got ${JSON.stringify(s)}`
  ),
  Schema.brand("@assoc-etl/core/ObjectType")
)
export type ObjectType = typeof ObjectType.Type

export const decode = Schema.decodeUnknown(ObjectType)
export const decodeEither = Schema.decodeUnknownEither(ObjectType)

/** For values that are known to be valid (constants in code and tests); throws otherwise. */
export const unsafeMake = (s: string): ObjectType => Schema.decodeUnknownSync(ObjectType)(s)
