/**
 * The paths the simulator answers, on HubSpot's 2026-03 paths and the older v4 (batch read) and v3 (list,
 * search, account info) ones: the `Route` of a method and a path, its segments URL-decoded.
 */

export type Route =
  | { readonly kind: "batch"; readonly from: string; readonly to: string }
  | { readonly kind: "list"; readonly type: string }
  | { readonly kind: "search"; readonly type: string }
  | { readonly kind: "accountInfo" }

const segment = "([^/]+)"
const routes: ReadonlyArray<{ readonly method: string; readonly pattern: RegExp; readonly kind: Route["kind"] }> = [
  {
    method: "POST",
    pattern: new RegExp(`^/crm/associations/2026-03/${segment}/${segment}/batch/read/?$`),
    kind: "batch"
  },
  { method: "POST", pattern: new RegExp(`^/crm/v4/associations/${segment}/${segment}/batch/read/?$`), kind: "batch" },
  { method: "GET", pattern: new RegExp(`^/crm/objects/2026-03/${segment}/?$`), kind: "list" },
  { method: "GET", pattern: new RegExp(`^/crm/v3/objects/${segment}/?$`), kind: "list" },
  { method: "POST", pattern: new RegExp(`^/crm/objects/2026-03/${segment}/search/?$`), kind: "search" },
  { method: "POST", pattern: new RegExp(`^/crm/v3/objects/${segment}/search/?$`), kind: "search" },
  { method: "GET", pattern: /^\/account-info\/2026-03\/details\/?$/, kind: "accountInfo" },
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
    if (r.kind === "accountInfo") return { kind: "accountInfo" }
    const a = safeDecode(m[1]!)
    return r.kind === "batch" ? { kind: "batch", from: a, to: safeDecode(m[2]!) } : { kind: r.kind, type: a }
  }
  return undefined
}
