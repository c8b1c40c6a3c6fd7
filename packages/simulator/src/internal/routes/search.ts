/**
 * The search handler: filters on the modification time (under the type's own property name, `modifiedProperty`)
 * and on the id (`hs_object_id`, compared as a number, as HubSpot compares a number property: keyset paging by
 * id needs `LT` the last id seen), sorts by either, pages by offset up to `maxSearchResults`. The orders by id
 * (both ways) and by modification time are made once a type.
 */
import { AssociationsApi as Api } from "@assoc-etl/hubspot"
import { Either, Schema } from "effect"
import * as SimulatedPortal from "../../SimulatedPortal.js"
import type { Answer, ErrorAnswers } from "../answers.js"
import { json } from "../answers.js"
import { modifiedProperty, objectJson } from "./objects.js"

/** The answer to a search request, for the type as the portal names it. */
export type Search = (type: string, text: string) => Answer

interface Modified {
  readonly id: string
  readonly modified: number
}

const compareIds = SimulatedPortal.compareObjectIds

const decodeSearchRequest = Schema.decodeUnknownEither(Api.SearchRequest)

/** The property HubSpot gives every object its id in; searched as a number. */
const idProperty = "hs_object_id"

/** An id filter's value as the id it names (digits, leading zeros dropped), else undefined. */
const idOf = (value: string | undefined): string | undefined =>
  value !== undefined && /^[0-9]{1,32}$/.test(value.trim()) ? value.trim().replace(/^0+(?=.)/, "") : undefined

/**
 * One filter as a test of an object, or why it is refused: `parse` reads its value, `read` the object's, and
 * `compare` orders the two (ids as numbers, times as millis).
 */
const filterTest = <A>(
  f: Api.SearchFilter,
  parse: (value: string | undefined) => A | undefined,
  read: (o: Modified) => A,
  compare: (a: A, b: A) => number
): Either.Either<(o: Modified) => boolean, string> => {
  if (f.operator === "HAS_PROPERTY") return Either.right(() => true)
  const x = parse(f.value)
  if (x === undefined) return Either.left(`Invalid filter value for ${f.propertyName}: ${JSON.stringify(f.value)}`)
  const at = (o: Modified) => compare(read(o), x)
  switch (f.operator) {
    case "GTE":
      return Either.right((o) => at(o) >= 0)
    case "GT":
      return Either.right((o) => at(o) > 0)
    case "LT":
      return Either.right((o) => at(o) < 0)
    case "LTE":
      return Either.right((o) => at(o) <= 0)
    case "EQ":
      return Either.right((o) => at(o) === 0)
    case "NEQ":
      return Either.right((o) => at(o) !== 0)
    case "BETWEEN": {
      const high = parse(f.highValue)
      if (high === undefined) return Either.left(`BETWEEN needs a highValue for ${f.propertyName}`)
      return Either.right((o) => at(o) >= 0 && compare(read(o), high) <= 0)
    }
  }
}

const millisOf = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  if (/^-?[0-9]+$/.test(value)) return Number(value)
  const parsed = Date.parse(value)
  return Number.isNaN(parsed) ? undefined : parsed
}

export const make = (portal: SimulatedPortal.SimulatedPortal, errors: ErrorAnswers): Search => {
  const validation = errors.validation

  const byModified = new Map<string, ReadonlyArray<Modified>>()
  const modifiedOrder = (type: string): ReadonlyArray<Modified> => {
    let order = byModified.get(type)
    if (order === undefined) {
      order = [...idOrder(type)].sort((a, b) => a.modified - b.modified || compareIds(a.id, b.id))
      byModified.set(type, order)
    }
    return order
  }

  const byId = new Map<string, ReadonlyArray<Modified>>()
  const idOrder = (type: string): ReadonlyArray<Modified> => {
    let order = byId.get(type)
    if (order === undefined) {
      order = portal.ids(type).map((id) => ({ id, modified: portal.lastModified(type, id) }))
      byId.set(type, order)
    }
    return order
  }

  const byIdDescending = new Map<string, ReadonlyArray<Modified>>()
  const idOrderDescending = (type: string): ReadonlyArray<Modified> => {
    let order = byIdDescending.get(type)
    if (order === undefined) {
      order = [...idOrder(type)].reverse()
      byIdDescending.set(type, order)
    }
    return order
  }

  return (type, text) => {
    const decoded = errors.decodeBody(decodeSearchRequest, text)
    if (Either.isLeft(decoded)) return decoded.left
    const request = decoded.right
    const pageLimit = request.limit ?? 10
    if (pageLimit < 1 || pageLimit > Api.maxSearchLimit) {
      return validation(`limit must be between 1 and ${Api.maxSearchLimit}, got ${pageLimit}`)
    }
    const after = request.after ?? "0"
    if (!/^[0-9]{1,9}$/.test(after)) return validation(`Invalid paging cursor: ${JSON.stringify(after)}`)
    const offset = Number(after)
    if (offset + pageLimit > Api.maxSearchResults) {
      return validation(
        `Cannot page beyond ${Api.maxSearchResults} results: after ${offset} with limit ${pageLimit}. ` +
          "Narrow the filters instead."
      )
    }
    const predicates: Array<Array<(o: Modified) => boolean>> = []
    for (const group of request.filterGroups) {
      const tests: Array<(o: Modified) => boolean> = []
      for (const f of group.filters) {
        const test = f.propertyName === idProperty
          ? filterTest(f, idOf, (o) => o.id, compareIds)
          : f.propertyName === modifiedProperty(type)
          ? filterTest(f, millisOf, (o) => o.modified, (x, y) => x - y)
          : Either.left(`Unsupported filter property for ${type}: ${f.propertyName}`)
        if (Either.isLeft(test)) return validation(test.left)
        tests.push(test.right)
      }
      predicates.push(tests)
    }
    const sort = request.sorts?.[0]
    if (sort !== undefined && sort.propertyName !== modifiedProperty(type) && sort.propertyName !== idProperty) {
      return validation(`Unsupported sort property for ${type}: ${sort.propertyName}`)
    }
    let order: ReadonlyArray<Modified>
    if (sort?.propertyName === modifiedProperty(type)) {
      const asc = modifiedOrder(type)
      order = sort.direction === "ASCENDING"
        ? asc
        : [...asc].sort((a, b) => b.modified - a.modified || compareIds(a.id, b.id))
    } else {
      order = sort?.direction === "DESCENDING" ? idOrderDescending(type) : idOrder(type)
    }
    const matches = predicates.length === 0
      ? order
      : order.filter((o) => predicates.some((tests) => tests.every((t) => t(o))))
    const page = matches.slice(offset, offset + pageLimit)
    const results = page.map((o) => objectJson(portal, type, o.id))
    const nextOffset = offset + page.length
    return json(
      200,
      nextOffset < matches.length
        ? { total: matches.length, results, paging: { next: { after: String(nextOffset) } } }
        : { total: matches.length, results }
    )
  }
}
