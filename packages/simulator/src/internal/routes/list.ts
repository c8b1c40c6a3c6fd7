/** The object listing handler: objects in ascending id order, paged by `after` (the next id) and `limit`. */
import { AssociationsApi as Api } from "@assoc-etl/hubspot"
import * as SimulatedPortal from "../../SimulatedPortal.js"
import type { Answer, ErrorAnswers } from "../answers.js"
import { json } from "../answers.js"
import { objectJson } from "./objects.js"

/** The answer to a list request: the path's object type as written (`rawType`) and as the portal names it. */
export type List = (baseUrl: string, rawType: string, type: string, url: URL) => Answer

const compareIds = SimulatedPortal.compareObjectIds

/** The index of the first id >= `id` in ascending `ids`. */
const lowerBound = (ids: ReadonlyArray<string>, id: string): number => {
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareIds(ids[mid]!, id) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

export const make = (portal: SimulatedPortal.SimulatedPortal, errors: ErrorAnswers): List =>
  (baseUrl, rawType, type, url) => {
    const limitParam = url.searchParams.get("limit")
    const pageLimit = limitParam === null ? 10 : Number(limitParam)
    if (!Number.isInteger(pageLimit) || pageLimit < 1 || pageLimit > Api.maxListLimit) {
      return errors.validation(`limit must be an integer between 1 and ${Api.maxListLimit}, got ${limitParam}`)
    }
    const afterParam = url.searchParams.get("after")
    if (afterParam !== null && !/^[0-9]{1,32}$/.test(afterParam)) {
      return errors.validation(`Invalid paging cursor: ${JSON.stringify(afterParam)}`)
    }
    const ids = portal.ids(type)
    const start = afterParam === null ? 0 : lowerBound(ids, afterParam.replace(/^0+(?=.)/, ""))
    const end = Math.min(ids.length, start + pageLimit)
    const results = ids.slice(start, end).map((id) => objectJson(portal, type, id))
    const next = ids[end]
    return json(
      200,
      next === undefined ? { results } : {
        results,
        paging: { next: { after: next, link: `${baseUrl}/crm/v3/objects/${rawType}?limit=${pageLimit}&after=${next}` } }
      }
    )
  }
