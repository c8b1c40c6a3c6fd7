/**
 * A HubSpot associations API simulator on loopback: batch read (2026-03 and
 * v4 paths), object listing, search, bearer auth with scopes, rolling-window
 * and daily rate limits with HubSpot's headers and 429 bodies, and seeded
 * faults (5xx, HTML 502, dropped connections, truncated bodies, slow answers).
 *
 * It is node:http wrapped in Effect: each request runs as a fiber of the
 * runtime that called `make`, so its `Clock` is the caller's. Under a
 * `TestClock` (`it.effect`/`it.scoped`), the rate windows move only when the
 * test adjusts the clock; latency and `slow` faults then sleep on the
 * TestClock too (use `it.live` for those).
 *
 * Choices where HubSpot is not specified:
 * - Order of checks: route (404), auth (401), rate limits (429), object types (400), scopes (403), faults,
 *   latency, then the body (400) and the answer.
 * - Rate limits count at arrival, after auth: a refused (429) request counts in the window and the daily
 *   count, as HubSpot does, unless `countRejected: false`. `rateLimit.max <= 0` turns the window off,
 *   `daily <= 0` (or omitted with an explicit `rateLimit`) turns the daily cap off; a limit that is off
 *   sends no headers of its own. `consume(n)` adds n arrivals of another app to the window and the daily count.
 * - `maxInWindow` counts every authenticated arrival (refused ones and `consume`d ones included) in the rolling
 *   window of `rateLimit.windowMillis`.
 * - `batchReads`/`inputs`, `listRequests`, `searchRequests` count answers of 200/207 that were sent whole
 *   (a truncated answer counts as the fault `truncate` only).
 * - A truncated answer is a 200/207 with `Connection: close` and no length; half of the body is written,
 *   then the socket is closed: the client reads a body that ends mid-JSON.
 * - An id without associations is answered with `"to": []` (no error); ids of custom objects use the type
 *   names given in `types` (e.g. `"2-12345"`); `0-1`, `0-2`, `0-3`, `0-5` are aliases of the standard names.
 *
 * Control endpoints, for a benchmark or test that runs the simulator as another process (`bin.ts`). They live
 * under `/__sim/`, outside HubSpot's paths, need no token, and are not counted anywhere (not in `requests`,
 * the rate windows or the daily count):
 * - `GET /__sim/counters`: 200 with the `Counters` as JSON, plus `arrivals`: the `Clock` millis (epoch millis
 *   in a live process) at which each authenticated request arrived and was counted in the rolling window
 *   since the last reset, refused ones included, in arrival order (the last 100,000; `arrivalsDropped` says
 *   how many older ones were let go).
 * - `POST /__sim/counters/reset`: 204; the same as `resetCounters` (the arrivals too). The rate windows and the
 *   daily count are not reset: they are the server's state, not counters.
 */
import type { Api as ApiTypes } from "@assoc-etl/core"
import { Api, ObjectType } from "@assoc-etl/core"
import type { Scope } from "effect"
import { Clock, Context, Duration, Effect, Either, FiberSet, Layer, ParseResult, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import * as Dataset from "./Dataset.js"
import * as Bytes from "./internal/bytes.js"
import * as Cursor from "./internal/cursor.js"
import { hash2, hashString, mulberry32 } from "./internal/prng.js"
import * as RollingWindow from "./internal/window.js"

export interface Faults {
  readonly status500?: number
  readonly status502?: number
  readonly status503?: number
  readonly status504?: number
  readonly drop?: number
  readonly truncate?: number
  readonly slow?: { readonly probability: number; readonly millis: number }
}

export interface RateLimit {
  readonly max: number
  readonly windowMillis: number
  readonly daily?: number
}

export interface SimulatorOptions {
  /** Seed of the dataset, the cursors and the faults. Default 1. */
  readonly seed?: number
  /** Objects per object type. Default 2000. */
  readonly objects?: number
  /** Default ["contacts", "companies", "deals", "tickets"]. */
  readonly types?: ReadonlyArray<string>
  /** Associated objects a page of batch read. Default 500. */
  readonly pageSize?: number
  /** Inputs a batch-read request. Default 1000. */
  readonly maxInputs?: number
  /** The accepted bearer token. Default "sim-token". */
  readonly token?: string
  /** Granted scopes. Default: the read scope of every type in `types`. */
  readonly scopes?: ReadonlyArray<string>
  /** Default 100 / 10_000 ms, daily 250_000. `max <= 0` turns the window off, `daily <= 0` or omitted the daily cap. */
  readonly rateLimit?: RateLimit
  /** The search endpoint's own window. Default 5 / 1000 ms. `max <= 0` turns it off. */
  readonly searchRateLimit?: { readonly max: number; readonly windowMillis: number }
  /** Latency added to every answer, uniform in [min, max]. Default [0, 0]. */
  readonly latencyMillis?: readonly [min: number, max: number]
  /** Probabilities (0..1) per request, seeded. Default none. */
  readonly faults?: Faults
  /** Probability that a 429 carries `Retry-After`. Default 0.5. */
  readonly retryAfter?: number
  /** Answer `toObjectId` as a bare JSON number, like HubSpot v4. Default false (a string, as DESIGN.md). */
  readonly numericToObjectId?: boolean
  /** Default 0: a free port. */
  readonly port?: number
  /** Whether a refused (429) request counts in the window and the daily count. Default true, like HubSpot. */
  readonly countRejected?: boolean
  /**
   * Called with the inputs of every well-formed batch-read request the server answers, and the `Clock` millis
   * of its arrival (the answer goes out after the latency). A request refused (401, 429) or failed by a fault
   * before it is answered does not call it. Tests read what a client asked, and when.
   */
  readonly onBatchRead?: (inputs: ReadonlyArray<Api.BatchReadInput>, arrivedAt: number) => void
}

export interface ResolvedOptions {
  readonly seed: number
  readonly objects: number
  readonly types: ReadonlyArray<string>
  readonly pageSize: number
  readonly maxInputs: number
  readonly token: string
  readonly scopes: ReadonlyArray<string>
  readonly rateLimit: { readonly max: number; readonly windowMillis: number; readonly daily: number }
  readonly searchRateLimit: { readonly max: number; readonly windowMillis: number }
  readonly latencyMillis: readonly [min: number, max: number]
  readonly faults: Faults
  readonly retryAfter: number
  readonly numericToObjectId: boolean
  readonly port: number
  readonly countRejected: boolean
}

export interface FaultCounters {
  readonly status500: number
  readonly status502: number
  readonly status503: number
  readonly status504: number
  readonly drop: number
  readonly truncate: number
  readonly slow: number
}

export interface Counters {
  /** Every HTTP request that reached a handler. */
  readonly requests: number
  /** Batch-read requests answered 200/207. */
  readonly batchReads: number
  /** Inputs in those. */
  readonly inputs: number
  readonly listRequests: number
  readonly searchRequests: number
  readonly status429: number
  readonly status429Daily: number
  readonly faults: FaultCounters
  /** Highest number of requests being handled at once. */
  readonly maxInFlight: number
  /** Highest number of arrivals in any rolling window of `rateLimit.windowMillis`. */
  readonly maxInWindow: number
}

/** The body of `GET /__sim/counters`. */
export interface CountersWithArrivals extends Counters {
  /** Clock millis of each authenticated arrival since the last reset, in order (the last `maxArrivals`). */
  readonly arrivals: ReadonlyArray<number>
  /** Arrivals since the last reset that are no longer in `arrivals`. */
  readonly arrivalsDropped: number
}

/** How many arrival times `GET /__sim/counters` keeps. */
export const maxArrivals = 100_000

export interface SimulatorService {
  /** "http://127.0.0.1:PORT" */
  readonly baseUrl: string
  readonly options: ResolvedOptions
  readonly dataset: Dataset.Dataset
  readonly counters: Effect.Effect<Counters>
  readonly resetCounters: Effect.Effect<void>
  /** Changes the faults at run time (undefined: none). */
  readonly setFaults: (faults: SimulatorOptions["faults"]) => Effect.Effect<void>
  /** Counts n requests of "another app" in the rate window and the daily count, now. */
  readonly consume: (n: number) => Effect.Effect<void>
}

export class Simulator extends Context.Tag("@assoc-etl/simulator/Simulator")<Simulator, SimulatorService>() {}

export const defaultTypes: ReadonlyArray<string> = ["contacts", "companies", "deals", "tickets"]

const objectTypeIds: Readonly<Record<string, string>> = {
  "0-1": "contacts",
  "0-2": "companies",
  "0-3": "deals",
  "0-5": "tickets",
  "0-7": "products",
  "0-8": "line_items"
}

/** The scope HubSpot asks for to read objects of a type. */
export const scopeOf = (type: string): string => {
  const name = objectTypeIds[type] ?? type
  return /^2-[0-9]+$/.test(name) ? "crm.objects.custom.read" : `crm.objects.${name}.read`
}

export const resolveOptions = (options: SimulatorOptions = {}): ResolvedOptions => {
  const types = options.types ?? defaultTypes
  return {
    seed: options.seed ?? 1,
    objects: options.objects ?? 2000,
    types,
    pageSize: options.pageSize ?? 500,
    maxInputs: options.maxInputs ?? Api.maxBatchInputs,
    token: options.token ?? "sim-token",
    scopes: options.scopes ?? [...new Set(types.map(scopeOf))],
    rateLimit: options.rateLimit === undefined
      ? { max: 100, windowMillis: 10_000, daily: 250_000 }
      : { ...options.rateLimit, daily: options.rateLimit.daily ?? 0 },
    searchRateLimit: options.searchRateLimit ?? { max: 5, windowMillis: 1000 },
    latencyMillis: options.latencyMillis ?? [0, 0],
    faults: options.faults ?? {},
    retryAfter: options.retryAfter ?? 0.5,
    numericToObjectId: options.numericToObjectId ?? false,
    port: options.port ?? 0,
    countRejected: options.countRejected ?? true
  }
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

interface Answer {
  readonly status: number
  /** Text is sent as UTF-8; a batch-read answer is written as its bytes already. */
  readonly body: string | Uint8Array
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
  /** The inputs a batch-read answer covers. */
  readonly inputs?: number
  /**
   * Called on the response's `finish`, once `body` was handed to the socket: its buffer can be written again.
   * An answer cut short by the client usually never finishes (its buffer is then left to the collector).
   */
  readonly release?: () => void
}

const jsonAnswer = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): Answer =>
  headers === undefined ? { status, body: JSON.stringify(body) } : { status, body: JSON.stringify(body), headers }

const badGatewayHtml = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
  "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"

type FaultKind = "status500" | "status502" | "status503" | "status504" | "drop" | "truncate"
const faultKinds: ReadonlyArray<FaultKind> = ["status500", "status502", "status503", "status504", "drop", "truncate"]

type Route =
  | { readonly kind: "batch"; readonly from: string; readonly to: string }
  | { readonly kind: "list"; readonly type: string }
  | { readonly kind: "search"; readonly type: string }

const segment = "([^/]+)"
const routes: ReadonlyArray<{ readonly method: string; readonly pattern: RegExp; readonly kind: Route["kind"] }> = [
  { method: "POST", pattern: new RegExp(`^/crm/associations/2026-03/${segment}/${segment}/batch/read/?$`), kind: "batch" },
  { method: "POST", pattern: new RegExp(`^/crm/v4/associations/${segment}/${segment}/batch/read/?$`), kind: "batch" },
  { method: "GET", pattern: new RegExp(`^/crm/objects/2026-03/${segment}/?$`), kind: "list" },
  { method: "GET", pattern: new RegExp(`^/crm/v3/objects/${segment}/?$`), kind: "list" },
  { method: "POST", pattern: new RegExp(`^/crm/objects/2026-03/${segment}/search/?$`), kind: "search" },
  { method: "POST", pattern: new RegExp(`^/crm/v3/objects/${segment}/search/?$`), kind: "search" }
]

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

const matchRoute = (method: string, path: string): Route | undefined => {
  for (const r of routes) {
    if (r.method !== method) continue
    const m = r.pattern.exec(path)
    if (m === null) continue
    const a = safeDecode(m[1]!)
    return r.kind === "batch" ? { kind: "batch", from: a, to: safeDecode(m[2]!) } : { kind: r.kind, type: a }
  }
  return undefined
}

const decodeBatchRequest = Schema.decodeUnknownEither(Api.BatchReadRequest)
const decodeSearchRequest = Schema.decodeUnknownEither(Api.SearchRequest)
const formatParseError = (e: ParseResult.ParseError) => ParseResult.TreeFormatter.formatErrorSync(e)

const iso = (millis: number): string => new Date(millis).toISOString()

const compareIds = Dataset.compareObjectIds

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

interface Modified {
  readonly id: string
  readonly modified: number
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

export const make = (options: SimulatorOptions = {}): Effect.Effect<SimulatorService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const opts = resolveOptions(options)
    const dataset = Dataset.make({ seed: opts.seed, objects: opts.objects, types: opts.types })
    const seedHash = hashString(opts.seed, "simulator")
    const rng = mulberry32(hashString(opts.seed, "faults"))
    let faults: Faults = opts.faults

    // Counters
    let requests = 0
    let batchReads = 0
    let inputs = 0
    let listRequests = 0
    let searchRequests = 0
    let status429 = 0
    let status429Daily = 0
    const faultCounts = { status500: 0, status502: 0, status503: 0, status504: 0, drop: 0, truncate: 0, slow: 0 }
    let inFlight = 0
    let maxInFlight = 0
    let maxInWindow = 0
    let arrivals: Array<number> = []
    let arrivalsDropped = 0

    // Rate limits
    const limit = opts.rateLimit
    const windowOn = limit.max > 0
    const dailyOn = limit.daily > 0
    const searchOn = opts.searchRateLimit.max > 0
    const window = RollingWindow.make(limit.windowMillis > 0 ? limit.windowMillis : 10_000)
    const searchWindow = RollingWindow.make(opts.searchRateLimit.windowMillis)
    let dailyDay = -1
    let dailyCount = 0
    const dayOf = (now: number) => Math.floor(now / 86_400_000)
    const dailyAt = (now: number) => (dayOf(now) === dailyDay ? dailyCount : 0)
    const countArrivals = (now: number, n: number, search: boolean) => {
      const day = dayOf(now)
      if (day !== dailyDay) {
        dailyDay = day
        dailyCount = 0
      }
      dailyCount += n
      window.add(now, n)
      if (search) searchWindow.add(now, n)
      const inWindow = window.count(now)
      if (inWindow > maxInWindow) maxInWindow = inWindow
    }

    let correlationSeq = 0
    const correlationId = (): string => {
      const n = ++correlationSeq
      const h = (k: number) => hash2(seedHash + k, n).toString(16).padStart(8, "0")
      const a = h(1)
      const b = h(2)
      const c = h(3)
      return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${h(4)}`
    }

    const errorAnswer = (
      status: number,
      category: string,
      message: string,
      extra?: Readonly<Record<string, unknown>>,
      headers?: Readonly<Record<string, string>>
    ): Answer => jsonAnswer(status, { status: "error", message, correlationId: correlationId(), category, ...extra }, headers)

    const validation = (message: string, context?: Readonly<Record<string, ReadonlyArray<string>>>): Answer =>
      errorAnswer(400, "VALIDATION_ERROR", message, context === undefined ? undefined : {
        errors: [{ message, context }]
      })

    const rateHeaders = (now: number): Record<string, string> => {
      const h: Record<string, string> = {}
      if (windowOn) {
        h["X-HubSpot-RateLimit-Max"] = String(limit.max)
        h["X-HubSpot-RateLimit-Remaining"] = String(Math.max(0, limit.max - window.count(now)))
        h["X-HubSpot-RateLimit-Interval-Milliseconds"] = String(limit.windowMillis)
      }
      if (dailyOn) {
        h["X-HubSpot-RateLimit-Daily"] = String(limit.daily)
        h["X-HubSpot-RateLimit-Daily-Remaining"] = String(Math.max(0, limit.daily - dailyAt(now)))
      }
      return h
    }

    const retryAfterHeader = (seconds: number): Record<string, string> | undefined =>
      rng() < opts.retryAfter ? { "Retry-After": String(Math.max(1, Math.ceil(seconds))) } : undefined

    /** Counts an arrival; the 429 answer when a limit refuses it. */
    const arrive = (now: number, search: boolean): Answer | undefined => {
      countArrivals(now, 1, search)
      if (arrivals.length >= maxArrivals) {
        const drop = arrivals.length - maxArrivals + 1
        arrivals = arrivals.slice(drop)
        arrivalsDropped += drop
      }
      arrivals.push(now)
      let answer: Answer | undefined
      if (dailyOn && dailyCount > limit.daily) {
        status429Daily++
        answer = errorAnswer(429, "RATE_LIMITS", "You have reached your daily limit.", {
          errorType: "RATE_LIMIT",
          policyName: "DAILY",
          groupName: "api-calls-daily:sim"
        }, retryAfterHeader(((dayOf(now) + 1) * 86_400_000 - now) / 1000))
      } else if (windowOn && window.count(now) > limit.max) {
        answer = errorAnswer(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.", {
          errorType: "RATE_LIMIT",
          policyName: "TEN_SECONDLY_ROLLING",
          groupName: "api-calls-app:sim"
        }, retryAfterHeader((window.nextRelease(now) - now) / 1000))
      } else if (search && searchOn && searchWindow.count(now) > opts.searchRateLimit.max) {
        answer = errorAnswer(429, "RATE_LIMITS", "You have reached your secondly limit.", {
          errorType: "RATE_LIMIT",
          policyName: "SECONDLY",
          groupName: "api-calls-search:sim"
        }, retryAfterHeader((searchWindow.nextRelease(now) - now) / 1000))
      }
      if (answer !== undefined) {
        status429++
        if (!opts.countRejected) {
          dailyCount--
          window.removeLast()
          if (search) searchWindow.removeLast()
        }
      }
      return answer
    }

    /** The dataset's name of a path's object type, or the 400 answer. */
    const resolveType = (raw: string): Either.Either<string, Answer> => {
      if (Either.isLeft(ObjectType.decodeEither(raw))) {
        return Either.left(validation(`Invalid object type: ${JSON.stringify(raw)}`))
      }
      const name = objectTypeIds[raw] ?? raw
      return opts.types.includes(name)
        ? Either.right(name)
        : Either.left(validation(`Unable to infer object type from: ${raw}`))
    }

    const checkScopes = (types: ReadonlyArray<string>): Answer | undefined => {
      const missing = [...new Set(types.map(scopeOf))].filter((s) => !opts.scopes.includes(s))
      return missing.length === 0 ? undefined : errorAnswer(
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

    // -------------------------------------------------------------------------
    // Batch read
    // -------------------------------------------------------------------------

    const encodeType = (t: ApiTypes.AssociationType): string =>
      `{"category":${JSON.stringify(t.category)},"typeId":${t.typeId},"label":${
        t.label === null ? "null" : JSON.stringify(t.label)
      }}`

    // A batch-read answer holds up to 1000 x 500 associations: it is written as bytes from parts made once, the
    // ids of each `to` type and the tail of an association for each choice of its association types.
    const quote = opts.numericToObjectId ? "" : "\""
    const firstHead = Buffer.from(`{"toObjectId":${quote}`)
    const nextHead = Buffer.from(`,{"toObjectId":${quote}`)

    interface IdBytes {
      readonly bytes: Uint8Array
      /** The id at position i is `bytes[offsets[i], offsets[i + 1])`. */
      readonly offsets: Int32Array
    }
    const idBytesCache = new Map<string, IdBytes>()
    const idBytesOf = (type: string): IdBytes => {
      let cached = idBytesCache.get(type)
      if (cached === undefined) {
        const size = dataset.size(type)
        const writer = Bytes.make()
        const offsets = new Int32Array(size + 1)
        let at = 0
        for (let i = 0; i < size; i++) {
          const id = dataset.idAt(type, i)!
          writer.text(id)
          at += id.length
          offsets[i + 1] = at
        }
        cached = { bytes: writer.take().bytes, offsets }
        idBytesCache.set(type, cached)
      }
      return cached
    }

    /** By pair, then by packed set of association types: `","associationTypes":[...]}`, the tail of an association. */
    const tailsCache = new Map<string, Map<number, Buffer>>()
    const tailsOf = (from: string, to: string): Map<number, Buffer> => {
      const key = `${from}\u0000${to}`
      let tails = tailsCache.get(key)
      if (tails === undefined) {
        tails = new Map()
        tailsCache.set(key, tails)
      }
      return tails
    }
    const tailOf = (tails: Map<number, Buffer>, from: string, to: string, typeSet: number): Buffer => {
      let tail = tails.get(typeSet)
      if (tail === undefined) {
        const pool = dataset.associationTypes(from, to)
        const types: Array<string> = []
        for (let t = 0; t < Dataset.typeCount(typeSet); t++) types.push(encodeType(pool[Dataset.typeAt(typeSet, t)]!))
        tail = Buffer.from(`${quote},"associationTypes":[${types.join(",")}]}`)
        tails.set(typeSet, tail)
      }
      return tail
    }

    const writer = Bytes.make()

    const batchRead = (
      baseUrl: string,
      raw: { readonly from: string; readonly to: string },
      from: string,
      to: string,
      text: string,
      requestedAt: number
    ): Answer => {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        return errorAnswer(400, "VALIDATION_ERROR", "Invalid input JSON: the body is not JSON.")
      }
      const decoded = decodeBatchRequest(json)
      if (Either.isLeft(decoded)) return validation(`Invalid input: ${formatParseError(decoded.left)}`)
      const list = decoded.right.inputs
      options.onBatchRead?.(list, requestedAt)
      if (list.length === 0) return validation("Invalid input: inputs must not be empty.")
      if (list.length > opts.maxInputs) {
        return validation(`Batch input limit exceeded: at most ${opts.maxInputs} inputs, got ${list.length}.`)
      }
      const seen = new Set<string>()
      const duplicates = new Set<string>()
      for (const input of list) {
        if (seen.has(input.id)) duplicates.add(input.id)
        seen.add(input.id)
      }
      if (duplicates.size > 0) {
        const ids = [...duplicates]
        return validation(`Duplicate ids in inputs: ${ids.join(", ")}`, { ids })
      }
      const pairKey = `${from}\u0000${to}`
      const idBytes = idBytesOf(to)
      const tails = tailsOf(from, to)
      const unknown: Array<string> = []
      let first = true
      writer.clear()
      writer.text(`{"status":"COMPLETE","results":[`)
      for (const input of list) {
        if (!dataset.has(from, input.id)) {
          unknown.push(input.id)
          continue
        }
        const all = dataset.associationPositions(from, to, input.id)
        const key = `${pairKey}\u0000${input.id}`
        let offset = 0
        if (input.after !== undefined) {
          const at = Cursor.decode(opts.seed, key, input.after)
          if (at === undefined || at >= all.length) {
            return validation(`Invalid paging cursor for id ${input.id}: ${JSON.stringify(input.after)}`, {
              ids: [input.id]
            })
          }
          offset = at
        }
        const end = Math.min(all.length, offset + opts.pageSize)
        writer.text(`${first ? "" : ","}{"from":{"id":"${input.id}"},"to":[`)
        first = false
        for (let k = offset; k < end; k++) {
          const i = all.toIndex[k]!
          writer.bytes(k > offset ? nextHead : firstHead)
          writer.bytes(idBytes.bytes, idBytes.offsets[i]!, idBytes.offsets[i + 1]!)
          writer.bytes(tailOf(tails, from, to, all.typeSet[k]!))
        }
        if (end < all.length) {
          const after = Cursor.encode(opts.seed, key, end)
          const link = `${baseUrl}/crm/v4/objects/${raw.from}/${input.id}/associations/${raw.to}?after=${after}`
          writer.text(`],"paging":{"next":{"after":${JSON.stringify(after)},"link":${JSON.stringify(link)}}}}`)
        } else {
          writer.text("]}")
        }
      }
      const times = `"startedAt":"${iso(requestedAt)}","completedAt":"${iso(requestedAt)}","requestedAt":"${
        iso(requestedAt)
      }"`
      if (unknown.length === 0) {
        writer.text(`],${times}}`)
        const taken = writer.take()
        return { status: 200, body: taken.bytes, inputs: list.length, release: taken.release }
      }
      const error = {
        status: "error",
        category: "OBJECT_NOT_FOUND",
        subCategory: "crm.associations.FROM_OBJECT_NOT_FOUND",
        message: `No ${raw.from} found with ids: ${unknown.join(", ")}`,
        context: { fromObjectId: unknown }
      }
      writer.text(`],"numErrors":1,"errors":[${JSON.stringify(error)}],${times}}`)
      const taken = writer.take()
      return { status: 207, body: taken.bytes, inputs: list.length, release: taken.release }
    }

    // -------------------------------------------------------------------------
    // List and search
    // -------------------------------------------------------------------------

    /** The property of an object's modification time: HubSpot's contacts name it `lastmodifieddate`. */
    const modifiedProperty = (type: string) => (type === "contacts" ? "lastmodifieddate" : "hs_lastmodifieddate")

    const objectJson = (type: string, id: string) => {
      const modified = iso(dataset.lastModified(type, id))
      const created = iso(dataset.createdAt(type, id))
      return {
        id,
        properties: { createdate: created, [modifiedProperty(type)]: modified, hs_object_id: id },
        createdAt: created,
        updatedAt: modified,
        archived: false
      }
    }

    const list = (baseUrl: string, rawType: string, type: string, url: URL): Answer => {
      const limitParam = url.searchParams.get("limit")
      const pageLimit = limitParam === null ? 10 : Number(limitParam)
      if (!Number.isInteger(pageLimit) || pageLimit < 1 || pageLimit > Api.maxListLimit) {
        return validation(`limit must be an integer between 1 and ${Api.maxListLimit}, got ${limitParam}`)
      }
      const afterParam = url.searchParams.get("after")
      if (afterParam !== null && !/^[0-9]{1,32}$/.test(afterParam)) {
        return validation(`Invalid paging cursor: ${JSON.stringify(afterParam)}`)
      }
      const ids = dataset.ids(type)
      const start = afterParam === null ? 0 : lowerBound(ids, afterParam.replace(/^0+(?=.)/, ""))
      const end = Math.min(ids.length, start + pageLimit)
      const results = ids.slice(start, end).map((id) => objectJson(type, id))
      const next = ids[end]
      return jsonAnswer(
        200,
        next === undefined ? { results } : {
          results,
          paging: { next: { after: next, link: `${baseUrl}/crm/v3/objects/${rawType}?limit=${pageLimit}&after=${next}` } }
        }
      )
    }

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
        order = dataset.ids(type).map((id) => ({ id, modified: dataset.lastModified(type, id) }))
        byId.set(type, order)
      }
      return order
    }

    const millisOf = (value: string | undefined): number | undefined => {
      if (value === undefined) return undefined
      if (/^-?[0-9]+$/.test(value)) return Number(value)
      const parsed = Date.parse(value)
      return Number.isNaN(parsed) ? undefined : parsed
    }

    const search = (type: string, text: string): Answer => {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        return errorAnswer(400, "VALIDATION_ERROR", "Invalid input JSON: the body is not JSON.")
      }
      const decoded = decodeSearchRequest(json)
      if (Either.isLeft(decoded)) return validation(`Invalid input: ${formatParseError(decoded.left)}`)
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
      const results = page.map((o) => objectJson(type, o.id))
      const nextOffset = offset + page.length
      return jsonAnswer(
        200,
        nextOffset < matches.length
          ? { total: matches.length, results, paging: { next: { after: String(nextOffset) } } }
          : { total: matches.length, results }
      )
    }

    // -------------------------------------------------------------------------
    // Requests
    // -------------------------------------------------------------------------

    const readBody = (req: Http.IncomingMessage) =>
      Effect.async<string>((resume) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.once("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
        req.once("error", () => resume(Effect.succeed("")))
      })

    const send = (res: Http.ServerResponse, answer: Answer, headers: Readonly<Record<string, string>>) => {
      if (res.destroyed || res.headersSent) return
      res.writeHead(answer.status, {
        ...headers,
        ...answer.headers,
        "Content-Type": answer.contentType ?? "application/json;charset=utf-8",
        "Content-Length": String(typeof answer.body === "string" ? Buffer.byteLength(answer.body) : answer.body.length)
      })
      if (answer.release === undefined) res.end(answer.body)
      else res.end(answer.body, answer.release)
    }

    const sendTruncated = (res: Http.ServerResponse, answer: Answer, headers: Readonly<Record<string, string>>) => {
      if (res.destroyed || res.headersSent) return
      const bytes = typeof answer.body === "string" ? Buffer.from(answer.body, "utf8") : answer.body
      const cut = Math.max(1, Math.floor(bytes.length / 2))
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
      res.writeHead(answer.status, { ...headers, "Content-Type": "application/json;charset=utf-8", Connection: "close" })
      res.write(bytes.subarray(0, cut))
      res.end(() => res.socket?.destroy())
    }

    const serve = (baseUrl: string, req: Http.IncomingMessage, res: Http.ServerResponse) =>
      Effect.gen(function*() {
        const text = yield* readBody(req)
        const now = yield* Clock.currentTimeMillis
        const url = new URL(req.url ?? "/", baseUrl)
        const route = matchRoute(req.method ?? "GET", url.pathname)
        if (route === undefined) {
          return send(res, errorAnswer(404, "OBJECT_NOT_FOUND", `No route for ${req.method} ${url.pathname}`), {})
        }
        if (req.headers.authorization !== `Bearer ${opts.token}`) {
          return send(
            res,
            errorAnswer(
              401,
              "INVALID_AUTHENTICATION",
              "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find " +
                "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
            ),
            rateHeaders(now)
          )
        }
        const refused = arrive(now, route.kind === "search")
        const headers = rateHeaders(now)
        if (refused !== undefined) return send(res, refused, headers)

        const rawTypes = route.kind === "batch" ? [route.from, route.to] : [route.type]
        const types: Array<string> = []
        for (const raw of rawTypes) {
          const resolved = resolveType(raw)
          if (Either.isLeft(resolved)) return send(res, resolved.left, headers)
          types.push(resolved.right)
        }
        const forbidden = checkScopes(types)
        if (forbidden !== undefined) return send(res, forbidden, headers)

        // Faults: the same number of draws for every request, so a seed gives one sequence.
        const current = faults
        let r = rng()
        let fault: FaultKind | undefined
        for (const kind of faultKinds) {
          const p = current[kind] ?? 0
          if (r < p) {
            fault = kind
            break
          }
          r -= p
        }
        const slow = rng() < (current.slow?.probability ?? 0)
        const [min, max] = opts.latencyMillis
        let delay = min + rng() * Math.max(0, max - min)
        if (slow) {
          faultCounts.slow++
          delay += current.slow?.millis ?? 0
        }
        if (fault === "drop") {
          faultCounts.drop++
          req.socket.destroy()
          return
        }
        if (delay >= 1) yield* Effect.sleep(Duration.millis(Math.round(delay)))
        switch (fault) {
          case "status500":
            faultCounts.status500++
            return send(res, errorAnswer(500, "INTERNAL_ERROR", "internal error"), headers)
          case "status502":
            faultCounts.status502++
            return send(res, { status: 502, body: badGatewayHtml, contentType: "text/html" }, headers)
          case "status503":
            faultCounts.status503++
            return send(res, errorAnswer(503, "SERVICE_UNAVAILABLE", "Service Unavailable"), headers)
          case "status504":
            faultCounts.status504++
            return send(res, errorAnswer(504, "GATEWAY_TIMEOUT", "Gateway Timeout"), headers)
        }

        let answer: Answer
        switch (route.kind) {
          case "batch":
            answer = batchRead(baseUrl, route, types[0]!, types[1]!, text, now)
            break
          case "list":
            answer = list(baseUrl, route.type, types[0]!, url)
            break
          case "search":
            answer = search(types[0]!, text)
            break
        }
        const ok = answer.status === 200 || answer.status === 207
        if (ok && fault === "truncate") {
          faultCounts.truncate++
          return sendTruncated(res, answer, headers)
        }
        if (ok) {
          if (route.kind === "batch") {
            batchReads++
            inputs += answer.inputs ?? 0
          } else if (route.kind === "list") listRequests++
          else searchRequests++
        }
        send(res, answer, headers)
      })

    /** Answers `/__sim/...` (see the header); false for any other path. */
    const control = (req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
      const path = (req.url ?? "/").split("?")[0]!
      if (!path.startsWith("/__sim/")) return false
      req.resume()
      if (req.method === "GET" && path === "/__sim/counters") {
        const body = JSON.stringify({ ...counters(), arrivals, arrivalsDropped } satisfies CountersWithArrivals)
        res.writeHead(200, { "Content-Type": "application/json;charset=utf-8", "Content-Length": Buffer.byteLength(body) })
        res.end(body)
      } else if (req.method === "POST" && path === "/__sim/counters/reset") {
        reset()
        res.writeHead(204)
        res.end()
      } else {
        const body = JSON.stringify({ status: "error", message: `No route for ${req.method} ${path}` })
        res.writeHead(404, { "Content-Type": "application/json;charset=utf-8", "Content-Length": Buffer.byteLength(body) })
        res.end(body)
      }
      return true
    }

    const run = yield* FiberSet.makeRuntime<never>()
    const sockets = new Set<Socket>()
    let baseUrl = ""
    const server = Http.createServer((req, res) => {
      if (control(req, res)) return
      requests++
      inFlight++
      if (inFlight > maxInFlight) maxInFlight = inFlight
      run(
        serve(baseUrl, req, res).pipe(
          Effect.catchAllCause((cause) =>
            Effect.sync(() => send(res, errorAnswer(500, "INTERNAL_ERROR", `simulator defect: ${cause}`), {}))
          ),
          Effect.ensuring(Effect.sync(() => inFlight--))
        )
      )
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.once("error", (e) => resume(Effect.die(e)))
        server.listen(opts.port, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          for (const socket of sockets) socket.destroy()
        })
    )
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    const counters = (): Counters => ({
      requests,
      batchReads,
      inputs,
      listRequests,
      searchRequests,
      status429,
      status429Daily,
      faults: { ...faultCounts },
      maxInFlight,
      maxInWindow
    })

    const reset = () => {
      requests = 0
      batchReads = 0
      inputs = 0
      listRequests = 0
      searchRequests = 0
      status429 = 0
      status429Daily = 0
      for (const k of Object.keys(faultCounts) as Array<keyof typeof faultCounts>) faultCounts[k] = 0
      maxInFlight = inFlight
      maxInWindow = 0
      arrivals = []
      arrivalsDropped = 0
    }

    const service: SimulatorService = {
      baseUrl,
      options: opts,
      dataset,
      counters: Effect.sync(counters),
      resetCounters: Effect.sync(reset),
      setFaults: (next) =>
        Effect.sync(() => {
          faults = next ?? {}
        }),
      consume: (n) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            if (n > 0) countArrivals(now, Math.floor(n), false)
          }))
    }
    return service
  })

/** The simulator as a layer: started when the layer is built, stopped when its scope closes. */
export const layer = (options?: SimulatorOptions): Layer.Layer<Simulator> => Layer.scoped(Simulator, make(options))
