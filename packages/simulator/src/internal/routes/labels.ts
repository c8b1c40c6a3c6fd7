/**
 * The labels catalogue handler (`GET /crm/associations/{2026-03|2026-09}/{from}/{to}/labels`,
 * `GET /crm/v4/associations/{from}/{to}/labels`): every association type defined for the pair, in the portal's
 * order (`SimulatedPortal.definedTypes`): those its associations use, then those none uses yet.
 */
import type * as SimulatedPortal from "../../SimulatedPortal.js"
import type { Answer } from "../answers.js"
import { json } from "../answers.js"

/** The answer to a labels request, for the pair as the portal names it. */
export type Labels = (from: string, to: string) => Answer

/** `portal`: the portal served now, read at each request (a version switch swaps it). */
export const make = (portal: () => SimulatedPortal.SimulatedPortal): Labels => (from, to) =>
  json(200, { results: portal().definedTypes(from, to) })
