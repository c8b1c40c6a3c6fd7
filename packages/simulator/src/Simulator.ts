/**
 * A HubSpot associations API simulator on loopback: batch read (2026-03,
 * 2026-09 and v4 paths), the labels catalogue, object listing, search,
 * account info, bearer auth with scopes, rolling-window and daily rate limits
 * with HubSpot's headers and 429 bodies, seeded faults (5xx, HTML 502,
 * dropped connections, truncated bodies, slow answers) and seeded batch-read
 * answers that are not complete.
 *
 * It is node:http wrapped in Effect: each request runs as a fiber of the
 * runtime that called `make`, so its `Clock` is the caller's. Under a
 * `TestClock` (`it.effect`/`it.scoped`), the rate windows move only when the
 * test adjusts the clock; latency and `slow` faults then sleep on the
 * TestClock too (use `it.live` for those).
 *
 * Choices where HubSpot is not specified:
 * - Order of checks: route (404), auth (401), rate limits (429), object types (400), scopes (403), faults,
 *   latency, then the body (400) and the answer. Account info (`GET /account-info/2026-03/details`, or
 *   `/account-info/v3/details`) names no object type and needs no scope, but goes through the other checks.
 * - Rate limits count at arrival, after auth: a refused (429) request counts in the window and the daily
 *   count, as HubSpot does, unless `countRejected: false`. `rateLimit.max <= 0` turns the window off,
 *   `daily <= 0` (or omitted with an explicit `rateLimit`) turns the daily cap off; a limit that is off
 *   sends no headers of its own. `consume(n)` adds n arrivals of another app to the window and the daily count.
 * - `maxInWindow` counts every authenticated arrival (refused ones and `consume`d ones included) in the rolling
 *   window of `rateLimit.windowMillis`.
 * - `batchReads`/`inputs`, `listRequests`, `searchRequests`, `accountInfoRequests`, `labelsRequests` count answers
 *   of 200/207 that were sent whole (a truncated answer counts as the fault `truncate` only).
 * - A truncated answer is a 200/207 with `Connection: close` and no length; half of the body is written,
 *   then the socket is closed: the client reads a body that ends mid-JSON.
 * - `incomplete` answers a share of well-formed batch reads (seeded, from an rng of their own: the faults'
 *   sequence is the same with or without it) with `status` `PENDING`, `PROCESSING` or `CANCELED` (drawn evenly
 *   from `statuses`), no `completedAt`, and the results and errors of a prefix of the inputs only, shorter than
 *   the inputs (for one input: none): what it leaves out looks like ids without associations. Still a 200 (or
 *   207 when the prefix has errors items), counted in `batchReads` and in `incomplete` by status (a truncated
 *   one as the fault only). `setIncomplete` changes it at run time.
 * - An id without associations is answered with `"to": []` (no error), unless `noAssociationsFound`: then it
 *   is left out of `results` and has an item of its own in `errors` (a 207), as HubSpot answers:
 *   `{ status: "error", category: "OBJECT_NOT_FOUND", subCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
 *   message: "No company is associated with contact 1.", context: { fromObjectId: ["1"],
 *   fromObjectType: ["contact"], toObjectType: ["company"] } }`. Unknown ids share one item
 *   (`crm.associations.FROM_OBJECT_NOT_FOUND`, every unknown id in `context.fromObjectId`), first in `errors`.
 *   A page after a cursor is never empty: a cursor points before the last association.
 * - On version 2026-09 (`/crm/associations/2026-09/...`), an answer with `errors` items is a 200, not a 207: the
 *   same body. The date-versioned list, search and account-info paths are served on 2026-09 too.
 * - The labels catalogue (`GET /crm/associations/2026-03/{from}/{to}/labels`, on 2026-09 and v4 too) answers
 *   `{ results: [{ category, typeId, label }] }`: the pair's association types, then types that no association
 *   uses (`SimulatedPortal.definedTypes`). Counted in `labelsRequests`; it needs the pair's scopes.
 * - The spec's variants, off by default: `numericToObjectId` (bare JSON numbers), `objectTypeIds`
 *   (`fromObjectTypeId` on results, `toObjectTypeId` on their `to` items), `workCategory` (some types `WORK`).
 * - Ids of custom objects use the type names given in `types` (e.g. `"2-12345"`); `0-1`, `0-2`, `0-3`, `0-5`
 *   are aliases of the standard names.
 * - How many associations an object has is the portal's `shape` (`SimulatedPortal.PortalShape`): `"typical"`
 *   (most 1-5, about 0.5% over 1000), `"heavyTail"` (2% of objects with 1000 to 3000) or `"heavy"` (every
 *   object 480 to 600), capped at `objects`.
 * - The account's `portalId` is drawn from the seed unless given: 6 to 9 digits, the same for a seed.
 * - The portal's data has versions (`SimulatedPortal`'s header): 0 by default, or 1 (`version`), version 0 with
 *   objects archived, added and edited, dated in `[changedAt - 1 hour, changedAt)`. `setVersion` switches a
 *   running simulator: the requests that arrive from then on read the new version (a cursor of the old one is
 *   still accepted while it points inside the object's associations, as an offset would be), and `portal` is it.
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
import { AssociationsApi as Api, HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { Scope } from "effect"
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import * as SimulatedPortal from "./SimulatedPortal.js"
import * as Answers from "./internal/answers.js"
import type { Counters } from "./internal/counters.js"
import * as Tally from "./internal/counters.js"
import * as FaultInjector from "./internal/faults.js"
import * as IncompleteAnswers from "./internal/incomplete.js"
import * as Limits from "./internal/limits.js"
import * as ObjectTypes from "./internal/objectTypes.js"
import { scopeOf } from "./internal/objectTypes.js"
import type { Faults, Incomplete, IncompleteStatus, RateLimit, ResolvedOptions } from "./internal/options.js"
import { incompleteStatuses } from "./internal/options.js"
import { hashString, mulberry32 } from "./internal/prng.js"
import * as AccountInfo from "./internal/routes/accountInfo.js"
import * as BatchRead from "./internal/routes/batchRead.js"
import * as Labels from "./internal/routes/labels.js"
import * as List from "./internal/routes/list.js"
import * as Search from "./internal/routes/search.js"
import * as Server from "./internal/server.js"

// The types and values the machinery shares are defined in `internal/`, so that it never imports this module.
export type { Counters, CountersWithArrivals, FaultCounters, IncompleteCounters } from "./internal/counters.js"
export { maxArrivals } from "./internal/counters.js"
export type { Faults, Incomplete, IncompleteStatus, RateLimit, ResolvedOptions }
export { incompleteStatuses }
export { scopeOf }

export interface SimulatorOptions {
  /** Seed of the portal, the cursors and the faults. Default 1. */
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
  /**
   * Batch-read answers that are not complete: with `probability` (0..1, seeded), `PENDING`, `PROCESSING` or
   * `CANCELED` (from `statuses`, default all three), with the results of a prefix of the inputs. Default none.
   */
  readonly incomplete?: Incomplete
  /** Probability that a 429 carries `Retry-After`. Default 0.5. */
  readonly retryAfter?: number
  /** Answer `toObjectId` as a bare JSON number, like HubSpot v4. Default false (a string, as DESIGN.md). */
  readonly numericToObjectId?: boolean
  /**
   * Name the object types in batch-read answers, as the spec allows: `fromObjectTypeId` on each result and
   * `toObjectTypeId` on each of its `to` items (`"0-1"` for contacts). Default false: absent.
   */
  readonly objectTypeIds?: boolean
  /**
   * Make some association types of every pair category `WORK`, as the spec allows (the portal's
   * `workCategory`): the rows carry it, and so does `SimulatedPortal.groundTruth`. Default false.
   */
  readonly workCategory?: boolean
  /** Default 0: a free port. */
  readonly port?: number
  /** Whether a refused (429) request counts in the window and the daily count. Default true, like HubSpot. */
  readonly countRejected?: boolean
  /**
   * Answer an id without associations as HubSpot does: no result, a `NO_ASSOCIATIONS_FOUND` item in `errors`
   * (a 207). Default false: a result with `"to": []`.
   */
  readonly noAssociationsFound?: boolean
  /** The `portalId` of the account-info answer. Default: drawn from the seed (6 to 9 digits). */
  readonly portalId?: number
  /** How many associations objects have (see `SimulatedPortal.PortalShape`). Default "typical". */
  readonly shape?: SimulatedPortal.PortalShape
  /** The version of the portal's data: 0 (default) or 1 (see `SimulatedPortal.SimulatedPortalOptions.version`). */
  readonly version?: number
  /** The end of version 1's change window, epoch millis. Default: the `Clock`'s time when the simulator starts. */
  readonly changedAt?: number
  /**
   * Called with the inputs of every well-formed batch-read request the server answers, and the `Clock` millis
   * of its arrival (the answer goes out after the latency). A request refused (401, 429) or failed by a fault
   * before it is answered does not call it. Tests read what a client asked, and when.
   */
  readonly onBatchRead?: (inputs: ReadonlyArray<Api.BatchReadInput>, arrivedAt: number) => void
}

export interface SimulatorService {
  /** "http://127.0.0.1:PORT" */
  readonly baseUrl: string
  readonly options: ResolvedOptions
  readonly portal: SimulatedPortal.SimulatedPortal
  readonly counters: Effect.Effect<Counters>
  readonly resetCounters: Effect.Effect<void>
  /** Changes the faults at run time (undefined: none). */
  readonly setFaults: (faults: SimulatorOptions["faults"]) => Effect.Effect<void>
  /** Changes the incomplete answers at run time (undefined: none). */
  readonly setIncomplete: (incomplete: SimulatorOptions["incomplete"]) => Effect.Effect<void>
  /** Counts n requests of "another app" in the rate window and the daily count, now. */
  readonly consume: (n: number) => Effect.Effect<void>
  /**
   * Serves another version of the portal's data (0 or 1; another is a defect) to the requests that arrive from
   * now on; `portal` is then that version. Version 1's change window ends at `changedAt`, default the `Clock`'s
   * time now.
   */
  readonly setVersion: (version: number, options?: SetVersionOptions) => Effect.Effect<void>
}

export interface SetVersionOptions {
  /** The end of version 1's change window, epoch millis. Default: the `Clock`'s time at `setVersion`. */
  readonly changedAt?: number
}

export class Simulator extends Context.Tag("@assoc-etl/simulator/Simulator")<Simulator, SimulatorService>() {}

export const defaultTypes: ReadonlyArray<string> = ["contacts", "companies", "deals", "tickets"]

/** The `portalId` of a seed when none is given: 100000 to 899999999, the same for a seed. */
export const defaultPortalId = (seed: number): number => 100_000 + (hashString(seed, "portal") % 899_900_000)

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
    incomplete: options.incomplete ?? noIncomplete,
    retryAfter: options.retryAfter ?? 0.5,
    numericToObjectId: options.numericToObjectId ?? false,
    workCategory: options.workCategory ?? false,
    objectTypeIds: options.objectTypeIds ?? false,
    port: options.port ?? 0,
    countRejected: options.countRejected ?? true,
    noAssociationsFound: options.noAssociationsFound ?? false,
    portalId: options.portalId ?? defaultPortalId(options.seed ?? 1),
    shape: options.shape ?? "typical"
  }
}

const noIncomplete: Incomplete = { probability: 0 }

export const make = (options: SimulatorOptions = {}): Effect.Effect<SimulatorService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const opts = resolveOptions(options)
    const portalOf = (version: number, changedAt: number) =>
      SimulatedPortal.make({
        seed: opts.seed,
        objects: opts.objects,
        types: opts.types,
        shape: opts.shape,
        workCategory: opts.workCategory,
        version,
        changedAt
      })
    let portal = portalOf(options.version ?? 0, options.changedAt ?? (yield* Clock.currentTimeMillis))
    // One rng draws the faults and the `Retry-After` of 429s, in the order requests come: a seed, one sequence.
    const rng = mulberry32(hashString(opts.seed, "faults"))
    const tally = Tally.make()
    const errors = Answers.make(opts.seed)
    const limits = Limits.make(opts, rng, tally, errors)
    const faults = FaultInjector.make(opts, rng, tally, errors)
    const incomplete = IncompleteAnswers.make(opts.incomplete, mulberry32(hashString(opts.seed, "incomplete")))
    // The routes that read objects keep caches of a portal (its ids as bytes, its orders for search): each version
    // gets routes of its own, swapped in whole by `setVersion`.
    const routesOf = (of: SimulatedPortal.SimulatedPortal) => ({
      batchRead: BatchRead.make(opts, of, errors, incomplete, options.onBatchRead),
      list: List.make(of, errors),
      search: Search.make(of, errors)
    })
    let routes = routesOf(portal)
    const baseUrl = yield* Server.make(opts, {
      tally,
      errors,
      limits,
      objectTypes: ObjectTypes.make(opts, errors),
      faults,
      batchRead: (...args) => routes.batchRead(...args),
      list: (...args) => routes.list(...args),
      search: (...args) => routes.search(...args),
      accountInfo: AccountInfo.make(opts),
      labels: Labels.make(() => portal)
    })
    const service: SimulatorService = {
      baseUrl,
      options: opts,
      get portal() {
        return portal
      },
      counters: Effect.sync(tally.counters),
      resetCounters: Effect.sync(tally.reset),
      setFaults: (next) => Effect.sync(() => faults.set(next ?? {})),
      setIncomplete: (next) => Effect.sync(() => incomplete.set(next ?? noIncomplete)),
      consume: (n) => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => limits.consume(now, n))),
      setVersion: (version, next) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            portal = portalOf(version, next?.changedAt ?? now)
            routes = routesOf(portal)
          }))
    }
    return service
  })

/** The simulator as a layer: started when the layer is built, stopped when its scope closes. */
export const layer = (options?: SimulatorOptions): Layer.Layer<Simulator> => Layer.scoped(Simulator, make(options))

export interface TestClientOptions extends Omit<HubSpotClient.HubSpotClientOptions, "token" | "baseUrl"> {
  /** The token the client sends; default the simulator's. */
  readonly token?: string
  /** The client's request budget; default the library's (HubSpot's smallest limit). */
  readonly budget?: RequestBudget.RequestBudgetOptions
}

/**
 * A client for tests: it retries quickly (10 ms, at most 500 ms apart, 10 s a request) and its budget allows
 * 1000 requests a second (search too), so that tests wait on the simulator's limits, not their own.
 */
export const quickClient: TestClientOptions = {
  retryBase: "10 millis",
  retryCap: "500 millis",
  timeout: "10 seconds",
  budget: { limit: { max: 1000, windowMillis: 1000 }, searchLimit: { max: 1000, windowMillis: 1000 } }
}

/**
 * The simulator, and a HubSpot client (over undici, with a request budget of its own) pointed at it: what a
 * test, the demo or a benchmark needs to export from it. The client is `quickClient` unless `client` is given;
 * what `client` leaves out is the library's default, as on the command line.
 */
export const layerTest = (
  options: SimulatorOptions = {},
  client: TestClientOptions = quickClient
): Layer.Layer<Simulator | HubSpotClient.HubSpotClient | RequestBudget.RequestBudget> => {
  const { budget, token, ...rest } = client
  const clientLayer = Layer.unwrapEffect(Effect.map(Simulator, (sim) =>
    HubSpotClient.layer({ token: Redacted.make(token ?? sim.options.token), baseUrl: sim.baseUrl, ...rest }).pipe(
      Layer.orDie
    )))
  return clientLayer.pipe(
    Layer.provideMerge(RequestBudget.layer(budget)),
    Layer.provideMerge(layer(options)),
    Layer.provide(NodeHttpClient.layerUndici)
  )
}
