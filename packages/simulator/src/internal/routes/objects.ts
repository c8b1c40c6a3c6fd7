/** Objects as the list and search endpoints answer them, their modification time under HubSpot's property name. */
import type * as SimulatedPortal from "../../SimulatedPortal.js"
import { iso } from "../answers.js"

/** The property of an object's modification time: HubSpot's contacts name it `lastmodifieddate`. */
export const modifiedProperty = (type: string) => (type === "contacts" ? "lastmodifieddate" : "hs_lastmodifieddate")

export const objectJson = (portal: SimulatedPortal.SimulatedPortal, type: string, id: string) => {
  const modified = iso(portal.lastModified(type, id))
  const created = iso(portal.createdAt(type, id))
  return {
    id,
    properties: { createdate: created, [modifiedProperty(type)]: modified, hs_object_id: id },
    createdAt: created,
    updatedAt: modified,
    archived: false
  }
}
