/**
 * The object types of a path: HubSpot's ids of the standard types (`0-1` is `contacts`, and back: `typeIdOf`),
 * the 400 answer for a type that is malformed or not in the portal, and the scopes a call needs, with the 403
 * answer naming those not granted.
 */
import { ObjectType } from "@assoc-etl/core"
import { Either } from "effect"
import type { Answer, ErrorAnswers } from "./answers.js"
import type { ResolvedOptions } from "./options.js"

const objectTypeIds: Readonly<Record<string, string>> = {
  "0-1": "contacts",
  "0-2": "companies",
  "0-3": "deals",
  "0-5": "tickets",
  "0-7": "products",
  "0-8": "line_items"
}

const typeIdsByName: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(objectTypeIds).map(([id, name]) => [name, id])
)

/**
 * HubSpot's id of a type (`"0-1"` for `contacts`), as answers name it in `fromObjectTypeId`/`toObjectTypeId`; a
 * custom type's id (`"2-12345"`), or a name without a known id, as it is.
 */
export const typeIdOf = (type: string): string => typeIdsByName[type] ?? type

/** The scope HubSpot asks for to read objects of a type. */
export const scopeOf = (type: string): string => {
  const name = objectTypeIds[type] ?? type
  return /^2-[0-9]+$/.test(name) ? "crm.objects.custom.read" : `crm.objects.${name}.read`
}

const singularNames: Readonly<Record<string, string>> = {
  contacts: "contact",
  companies: "company",
  deals: "deal",
  tickets: "ticket",
  products: "product",
  line_items: "line_item"
}

/** The singular name HubSpot's messages use for a type (`"contact"`); a custom type's id as it is. */
export const singularOf = (type: string): string => {
  const name = objectTypeIds[type] ?? type
  return singularNames[name] ?? name
}

export interface ObjectTypes {
  /** The portal's name of a path's object type, or the 400 answer. */
  readonly resolve: (raw: string) => Either.Either<string, Answer>
  /** The 403 answer when a scope to read one of `types` was not granted. */
  readonly checkScopes: (types: ReadonlyArray<string>) => Answer | undefined
}

export const make = (options: Pick<ResolvedOptions, "types" | "scopes">, errors: ErrorAnswers): ObjectTypes => ({
  resolve: (raw) => {
    if (Either.isLeft(ObjectType.decodeEither(raw))) {
      return Either.left(errors.validation(`Invalid object type: ${JSON.stringify(raw)}`))
    }
    const name = objectTypeIds[raw] ?? raw
    return options.types.includes(name)
      ? Either.right(name)
      : Either.left(errors.validation(`Unable to infer object type from: ${raw}`))
  },
  checkScopes: (types) => {
    const missing = [...new Set(types.map(scopeOf))].filter((s) => !options.scopes.includes(s))
    return missing.length === 0 ? undefined : errors.error(
      403,
      "MISSING_SCOPES",
      "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: " +
        "https://developers.hubspot.com/scopes.",
      {
        errors: [{
          message: "One or more of the following scopes are required.",
          context: { requiredGranularScopes: missing }
        }]
      }
    )
  }
})
