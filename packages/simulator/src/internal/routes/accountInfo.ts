/**
 * The account-info handler (`GET /account-info/2026-03/details`, `GET /account-info/v3/details`): the portal's
 * id and the settings of a standard US portal. It reads no object, so it needs no scope.
 */
import type { Answer } from "../answers.js"
import { json } from "../answers.js"
import type { ResolvedOptions } from "../options.js"

export type AccountInfo = () => Answer

export const make = (options: Pick<ResolvedOptions, "portalId">): AccountInfo => {
  const body = {
    portalId: options.portalId,
    accountType: "STANDARD",
    timeZone: "US/Eastern",
    companyCurrency: "USD",
    additionalCurrencies: [],
    utcOffset: "-05:00",
    utcOffsetMilliseconds: -18_000_000,
    uiDomain: "app.hubspot.com",
    dataHostingLocation: "na1"
  }
  return () => json(200, body)
}
