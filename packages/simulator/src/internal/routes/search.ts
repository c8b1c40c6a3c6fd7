/**
 * The search handler: filters on the modification time (under the type's own property name, `modifiedProperty`),
 * sorts by it or by id, pages by offset up to `maxSearchResults`. The orders by id and by modification time are
 * made once a type.
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
    const predicates: Array<Array<(m: number) => boolean>> = []
    for (const group of request.filterGroups) {
      const tests: Array<(m: number) => boolean> = []
      for (const f of group.filters) {
        if (f.propertyName !== modifiedProperty(type)) {
          return validation(`Unsupported filter property for ${type}: ${f.propertyName}`)
        }
        const v = millisOf(f.value)
        const hv = millisOf(f.highValue)
        if (f.operator !== "HAS_PROPERTY" && v === undefined) {
          return validation(`Invalid filter value for ${f.propertyName}: ${JSON.stringify(f.value)}`)
        }
        const x = v ?? 0
        switch (f.operator) {
          case "GTE":
            tests.push((m) => m >= x)
            break
          case "GT":
            tests.push((m) => m > x)
            break
          case "LT":
            tests.push((m) => m < x)
            break
          case "LTE":
            tests.push((m) => m <= x)
            break
          case "EQ":
            tests.push((m) => m === x)
            break
          case "NEQ":
            tests.push((m) => m !== x)
            break
          case "BETWEEN": {
            if (hv === undefined) return validation(`BETWEEN needs a highValue for ${f.propertyName}`)
            tests.push((m) => m >= x && m <= hv)
            break
          }
          case "HAS_PROPERTY":
            break
        }
      }
      predicates.push(tests)
    }
    const sort = request.sorts?.[0]
    if (sort !== undefined && sort.propertyName !== modifiedProperty(type) && sort.propertyName !== "hs_object_id") {
      return validation(`Unsupported sort property for ${type}: ${sort.propertyName}`)
    }
    let order: ReadonlyArray<Modified>
    if (sort?.propertyName === modifiedProperty(type)) {
      const asc = modifiedOrder(type)
      order = sort.direction === "ASCENDING"
        ? asc
        : [...asc].sort((a, b) => b.modified - a.modified || compareIds(a.id, b.id))
    } else {
      order = idOrder(type)
      if (sort?.direction === "DESCENDING") order = [...order].reverse()
    }
    const matches = predicates.length === 0
      ? order
      : order.filter((o) => predicates.some((tests) => tests.every((t) => t(o.modified))))
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
