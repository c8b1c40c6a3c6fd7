/**
 * The paths the simulator answers, on HubSpot's date-versioned paths (2026-03 and 2026-09) and the older v4
 * (batch read, labels) and v3 (list, search, account info) ones: the `Route` of a method and a path, its segments
 * URL-decoded.
 */

/** The path family of an associations call: a date version, or the older `v4`. */
export type ApiVersion = "2026-03" | "2026-09" | "v4"

export type Route =
  | { readonly kind: "batch"; readonly from: string; readonly to: string; readonly version: ApiVersion }
  | { readonly kind: "labels"; readonly from: string; readonly to: string; readonly version: ApiVersion }
  | { readonly kind: "list"; readonly type: string }
  | { readonly kind: "search"; readonly type: string }
  | { readonly kind: "accountInfo" }

const segment = "([^/]+)"
/** The date versions served, captured: the batch read answers partial failures by version. */
const dated = "(2026-03|2026-09)"
const v4 = "(v4)"
const pair = `${segment}/${segment}`
const routes: ReadonlyArray<{ readonly method: string; readonly pattern: RegExp; readonly kind: Route["kind"] }> = [
  { method: "POST", pattern: new RegExp(`^/crm/associations/${dated}/${pair}/batch/read/?$`), kind: "batch" },
  { method: "POST", pattern: new RegExp(`^/crm/${v4}/associations/${pair}/batch/read/?$`), kind: "batch" },
  { method: "GET", pattern: new RegExp(`^/crm/associations/${dated}/${pair}/labels/?$`), kind: "labels" },
  { method: "GET", pattern: new RegExp(`^/crm/${v4}/associations/${pair}/labels/?$`), kind: "labels" },
  { method: "GET", pattern: new RegExp(`^/crm/objects/(?:2026-03|2026-09)/${segment}/?$`), kind: "list" },
  { method: "GET", pattern: new RegExp(`^/crm/v3/objects/${segment}/?$`), kind: "list" },
  { method: "POST", pattern: new RegExp(`^/crm/objects/(?:2026-03|2026-09)/${segment}/search/?$`), kind: "search" },
  { method: "POST", pattern: new RegExp(`^/crm/v3/objects/${segment}/search/?$`), kind: "search" },
  { method: "GET", pattern: /^\/account-info\/(?:2026-03|2026-09)\/details\/?$/, kind: "accountInfo" },
  { method: "GET", pattern: /^\/account-info\/v3\/details\/?$/, kind: "accountInfo" }
]

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** The route of a request, or undefined (404). */
export const match = (method: string, path: string): Route | undefined => {
  for (const r of routes) {
    if (r.method !== method) continue
    const m = r.pattern.exec(path)
    if (m === null) continue
    switch (r.kind) {
      case "accountInfo":
        return { kind: "accountInfo" }
      case "batch":
      case "labels":
        return { kind: r.kind, version: m[1] as ApiVersion, from: safeDecode(m[2]!), to: safeDecode(m[3]!) }
      default:
        return { kind: r.kind, type: safeDecode(m[1]!) }
    }
  }
  return undefined
}
