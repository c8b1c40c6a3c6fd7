/**
 * The request budget of the process: a sliding-window log of request start
 * times on `Clock`, so that no rolling window of the limit's length holds more
 * than `max` starts (HubSpot counts a rolling window at arrival; a token bucket
 * or fixed window admits up to twice the limit in some rolling window).
 *
 * A start is where a request leaves, not where it arrives: between the two lie
 * the network and the event loops of both ends (a garbage collection, a large
 * answer being decoded), and a request that arrives late still counts at the
 * server a whole window from its arrival. So each start holds its place for
 * `window + margin` from the start, and, once its answer is seen (`observe`)
 * or it is given up (`unanswered`), at least `window` from then: the one time
 * by which it surely arrived, if it ever does.
 * (Arrivals can lag starts far beyond the margin, and a late request can be
 * answered at once: BENCHMARKS.md, "Measurements behind the code".)
 *
 * Two limits are kept, and a start must fit both: the configured one, which the
 * budget never exceeds, and, once an answer names it
 * (`X-HubSpot-RateLimit-Max`, `-Interval-Milliseconds`), the server's. Keeping
 * both is the rule that needs no comparison: switching to the server's limit
 * when only its `max` is lower (20 / 1 s against 100 / 10 s) would allow 200
 * starts in 10 s, above the configured limit; keeping only the configured one
 * draws a 429 whenever the server's is lower in rate or in burst
 * (20 / 2 s against 100 / 10 s).
 *
 * Besides its own starts it counts:
 * - a global pause after a 429 that carries `Retry-After`;
 * - "phantom" starts of other jobs sharing the app, inferred from
 *   `X-HubSpot-RateLimit-Remaining`: what the server counted in its window
 *   minus what this process started in it, held in the server's window. The
 *   first answer's are taken as spent at that answer (the latest they can have
 *   been): a process started after another spent the window waits for it.
 *
 * A budget that `probe`s (the process's `requests` budget does) admits one
 * start at a time until the first answer is seen: a new process learns from
 * that answer's headers what the server's limit is and how much of its window
 * is left (spent by the process before a restart, say) before it sends more.
 * A probe given up (`unanswered`) lets the next one go; one never reported
 * lets it go after `window + margin`.
 */
import { Clock, Context, Duration, Effect, Either, Layer, Metric, Option, ParseResult, Schema } from "effect"

/** A limit of `max` requests in any rolling window of `windowMillis`. */
export interface Limit {
  readonly max: number
  readonly windowMillis: number
}

const limitPattern = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|min)\s*$/

/** `"100/10s"`, `"20/2s"`, `"5/1s"`, `"500/1m"`, `"10/250ms"`: a limit, as flags and settings spell it. */
export const Limit = Schema.transformOrFail(Schema.String, Schema.Struct({ max: Schema.Int, windowMillis: Schema.Int }), {
  strict: true,
  decode: (s, _, ast) => {
    const m = limitPattern.exec(s)
    const max = m === null ? NaN : Number(m[1])
    const amount = m === null ? NaN : m[2] === undefined ? 1 : Number(m[2])
    const unit = m?.[3] === "ms" ? 1 : m?.[3] === "s" ? 1000 : 60_000
    const windowMillis = Math.round(amount * unit)
    return m !== null && max >= 1 && windowMillis >= 1
      ? ParseResult.succeed({ max, windowMillis })
      : ParseResult.fail(
        new ParseResult.Type(ast, s, `a rate limit is "N/duration" such as "100/10s" or "20/2s", got ${JSON.stringify(s)}`)
      )
  },
  encode: (l) => ParseResult.succeed(`${l.max}/${l.windowMillis}ms`)
})

/** Parses a limit string; the error message says what is expected. */
export const parseLimit = (s: string): Either.Either<Limit, string> =>
  Either.mapLeft(Schema.decodeUnknownEither(Limit)(s), (e) => ParseResult.TreeFormatter.formatErrorSync(e))

/** HubSpot's smallest rolling limit for private apps: 100 requests in 10 s. */
export const defaultLimit: Limit = { max: 100, windowMillis: 10_000 }
/** The search endpoint's own limit: 5 requests a second. */
export const defaultSearchLimit: Limit = { max: 5, windowMillis: 1000 }

/** The default safety margin: 5% of the window, at least 50 ms, at most 500 ms. */
export const defaultMargin = (limit: Limit): number =>
  Math.min(500, Math.max(50, Math.round(limit.windowMillis * 0.05)))

export interface BudgetOptions {
  readonly limit: Limit
  /** Tags its metrics; default `"requests"`. */
  readonly name?: string
  /**
   * Added to the window when spacing starts, for differences between start and arrival; default `defaultMargin`
   * of each limit (the configured one and the server's).
   */
  readonly margin?: Duration.DurationInput
  /**
   * Admit one start at a time until the first answer is seen; default false. Only for a budget whose starts are
   * all reported (`observe` or `unanswered`), as the client does for the `requests` budget.
   */
  readonly probe?: boolean
}

/**
 * What the budgets count, tagged `budget` with the budget's name (`requests`, `search`). Read them where they
 * were counted (`Metric.value` under the same `Effect.tagMetrics`) to tell one export's figures from another's.
 */
export const metrics = {
  /** Starts admitted. */
  starts: Metric.counter("assoc_etl_budget_starts", { incremental: true }),
  /** Milliseconds spent waiting for admission, summed over all requests. */
  waitedMillis: Metric.counter("assoc_etl_budget_waited_ms", { incremental: true }),
  /** Global pauses taken after a `Retry-After`. */
  pauses: Metric.counter("assoc_etl_budget_pauses", { incremental: true }),
  /** Starts of other jobs inferred from `X-HubSpot-RateLimit-Remaining` and counted in the window. */
  phantoms: Metric.counter("assoc_etl_budget_phantoms", { incremental: true })
} as const

/** One of `metrics` as counted by the budget named `name`. */
export const metricOf = (metric: Metric.Metric.Counter<number>, name: string) => Metric.tagged(metric, "budget", name)

/**
 * What an answer said, for the request that started at `startedAt` (Clock millis), observed when the answer
 * came (the Clock then is the answer's time): its rate-limit headers, when it had them.
 */
export interface Observation {
  readonly startedAt: number
  /** `X-HubSpot-RateLimit-Max`; absent when the answer had no rate-limit headers. */
  readonly max?: number
  /** `X-HubSpot-RateLimit-Remaining`; absent when the answer had no rate-limit headers. */
  readonly remaining?: number
  /** The server's window (`X-HubSpot-RateLimit-Interval-Milliseconds`); ours when absent. */
  readonly intervalMillis?: number
}

export interface Budget {
  /** The configured limit, which the budget never exceeds. */
  readonly limit: Limit
  readonly marginMillis: number
  /** The server's limit, once an answer's headers named it: enforced besides `limit`. */
  readonly serverLimit: Effect.Effect<Option.Option<Limit>>
  /**
   * Waits until one more start keeps every rolling window within both limits (and any pause, or a probe, is
   * over), then records it.
   */
  readonly acquire: Effect.Effect<void>
  /** Waits until `acquire` would admit at once, without recording a start. */
  readonly awaitFree: Effect.Effect<void>
  /** No start before `millis` from now (a `Retry-After`). */
  readonly pauseFor: (millis: number) => Effect.Effect<void>
  /**
   * Learns from an answer: the latest time its request can have arrived (which holds its start's place in the
   * window from then on), and from `X-HubSpot-RateLimit-Max`, `-Interval-Milliseconds` and `-Remaining` the
   * server's limit and how much other jobs used.
   */
  readonly observe: (observation: Observation) => Effect.Effect<void>
  /**
   * The request that started at `startedAt` ended without an answer (a broken connection, a timeout, an
   * interruption): if it arrived, it did by now.
   */
  readonly unanswered: (startedAt: number) => Effect.Effect<void>
}

/** Index of the first element of the ascending `xs` greater than `t`. */
const upperBound = (xs: ReadonlyArray<number>, from: number, t: number): number => {
  let lo = from
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** How many recent round trips the quickest one is taken from. */
const roundTrips = 32

/** A limit as the budget counts it: `span` is the window plus the margin, how long an unanswered start holds. */
interface Window {
  readonly limit: Limit
  readonly span: number
}

export const make = (options: BudgetOptions): Effect.Effect<Budget> =>
  Effect.gen(function*() {
    const limit = options.limit
    const marginOf = (l: Limit) =>
      options.margin === undefined ? defaultMargin(l) : Duration.toMillis(Duration.decode(options.margin))
    const marginMillis = marginOf(limit)
    const configured: Window = { limit, span: limit.windowMillis + marginMillis }
    let server: Window | undefined
    const lock = yield* Effect.makeSemaphore(1)
    // Ascending start times; entries before `ownHead` are forgotten. Kept two spans so `observe` sees them.
    const own: Array<number> = []
    // Per start: a likely time of arrival, its answer's time less the quickest recent round trip (the start
    // until answered), for telling our own starts from other jobs' in the server's count (the answer's time,
    // which holds the place, would count a start of ours that arrived before the server's window as in it, and
    // hide as much of another job's use); the time by which it surely arrived if it ever does (its answer, or
    // when it was given up; -Infinity until then); whether an answer (or its end) was matched to it.
    const arrivedAbout: Array<number> = []
    const settledAt: Array<number> = []
    const settled: Array<boolean> = []
    let ownHead = 0
    // The last `roundTrips` round trips (answer time - start), a ring.
    const trips: Array<number> = []
    let tripNext = 0
    // Other jobs' starts, counted in the server's window.
    let phantoms: Array<number> = []
    let pausedUntil = 0
    let headersSeen = false
    /** How long own starts are remembered: two spans of the longer window. */
    let keepMillis = 2 * configured.span
    // The probe: until an answer is seen, one start at a time (`probesOut`, the last at `probeAt`); `probeEnded`
    // is opened whenever one ends.
    let probing = options.probe === true
    let probesOut = 0
    let probeAt = 0
    const probeEnded = yield* Effect.makeLatch(true)
    const name = options.name ?? "requests"
    const starts = metricOf(metrics.starts, name)
    const waited = metricOf(metrics.waitedMillis, name)
    const pauses = metricOf(metrics.pauses, name)
    const phantomStarts = metricOf(metrics.phantoms, name)

    /** When start `i` leaves a rolling window of `w`. */
    const releaseOf = (i: number, w: Window) => Math.max(own[i]! + w.span, settledAt[i]! + w.limit.windowMillis)

    const prune = (now: number) => {
      const keepFrom = upperBound(own, ownHead, now - keepMillis)
      while (
        ownHead < keepFrom && releaseOf(ownHead, configured) <= now &&
        (server === undefined || releaseOf(ownHead, server) <= now)
      ) ownHead++
      if (ownHead > 1024 && ownHead * 2 > own.length) {
        own.splice(0, ownHead)
        arrivedAbout.splice(0, ownHead)
        settledAt.splice(0, ownHead)
        settled.splice(0, ownHead)
        ownHead = 0
      }
      const span = server?.span ?? configured.span
      if (phantoms.length > 0 && phantoms[0]! <= now - span) phantoms = phantoms.filter((t) => t > now - span)
    }

    /** The time from which one more start fits `w` (-Infinity when it fits now); phantoms count in the server's. */
    const freeIn = (w: Window, now: number, withPhantoms: boolean): number => {
      // When each start still in the window leaves it.
      const leaving: Array<number> = []
      for (let i = ownHead; i < own.length; i++) {
        const t = releaseOf(i, w)
        if (t > now) leaving.push(t)
      }
      if (withPhantoms) for (const t of phantoms) if (t + w.span > now) leaving.push(t + w.span)
      if (leaving.length < w.limit.max) return -Infinity
      // The (count - max + 1)-th to leave must be gone.
      leaving.sort((a, b) => a - b)
      return leaving[leaving.length - w.limit.max]!
    }

    /** The time from which one more start is allowed (≤ now when allowed now). */
    const freeAt = (now: number): number => {
      prune(now)
      // Phantoms exist once the server's limit is known (the same headers tell both), and count in its window.
      const inServer = server === undefined ? -Infinity : freeIn(server, now, true)
      return Math.max(pausedUntil, freeIn(configured, now, false), inServer)
    }

    /**
     * The request that started at `startedAt` is known at `now` to have arrived by now, if ever: answered (its
     * round trip recorded) or given up.
     */
    const settle = (startedAt: number, now: number, answered: boolean) => {
      if (probing) {
        if (answered) probing = false
        else probesOut = Math.max(0, probesOut - 1)
        if (!probing || probesOut === 0) probeEnded.unsafeOpen()
      }
      let quickest = Math.max(0, now - startedAt)
      if (answered) {
        const trip = quickest
        if (trips.length < roundTrips) trips.push(trip)
        else trips[tripNext] = trip
        tripNext = (tripNext + 1) % roundTrips
        for (const t of trips) if (t < quickest) quickest = t
      }
      // Its start: the latest one not yet settled at or before `startedAt` (a start is taken before the request
      // leaves; starts taken at the same moment are interchangeable).
      let i = upperBound(own, ownHead, startedAt) - 1
      while (i >= ownHead && settled[i]) i--
      if (i < ownHead) return
      settled[i] = true
      if (answered) arrivedAbout[i] = Math.max(own[i]!, now - quickest)
      settledAt[i] = now
    }

    const waitFree: Effect.Effect<number> = Effect.gen(function*() {
      for (;;) {
        const now = yield* Clock.currentTimeMillis
        if (probing && probesOut > 0 && now < probeAt + configured.span) {
          // A probe is out: wait for its end, or for as long as an unanswered start holds its place.
          yield* Effect.timeoutOption(probeEnded.await, Duration.millis(probeAt + configured.span - now))
          continue
        }
        const at = freeAt(now)
        if (at <= now) return now
        yield* Effect.sleep(Duration.millis(at - now))
      }
    })

    // The wait is counted from the call, so time queued behind other callers counts too.
    const acquire = Effect.flatMap(Clock.currentTimeMillis, (t0) =>
      lock.withPermits(1)(
        Effect.gen(function*() {
          const now = yield* waitFree
          own.push(now)
          arrivedAbout.push(now)
          settledAt.push(-Infinity)
          settled.push(false)
          if (probing) {
            probesOut++
            probeAt = now
            probeEnded.unsafeClose()
          }
          yield* Metric.increment(starts)
          yield* Metric.incrementBy(waited, now - t0)
        })
      ))

    const awaitFree = lock.withPermits(1)(Effect.asVoid(waitFree))

    const pauseFor = (millis: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (now + millis <= pausedUntil) return Effect.void
        pausedUntil = now + millis
        return Metric.increment(pauses)
      })

    /** Learns from `o` at `now`; returns how many phantom starts it added. */
    const learn = (o: Observation, now: number): number => {
      settle(o.startedAt, now, true)
      if (o.max === undefined || o.remaining === undefined || !(o.max > 0) || !(o.remaining >= 0)) return 0
      const first = !headersSeen
      headersSeen = true
      // The server's limit, in force from now on beside the configured one.
      const serverLimit: Limit = {
        max: o.max,
        windowMillis: o.intervalMillis !== undefined && o.intervalMillis > 0 ? o.intervalMillis : limit.windowMillis
      }
      if (
        server === undefined || server.limit.max !== serverLimit.max ||
        server.limit.windowMillis !== serverLimit.windowMillis
      ) {
        server = { limit: serverLimit, span: serverLimit.windowMillis + marginOf(serverLimit) }
        keepMillis = 2 * Math.max(configured.span, server.span)
      }
      // What the server counted at the request's arrival, less our own starts of the window before it
      // (those started before it that can have arrived in its window, late ones too).
      // Requests that overtake an earlier one on the way make a few false phantoms (they expire with the
      // window); counting every start up to the answer instead would miss other jobs' use by up to the
      // concurrency and bring 429s (measured both ways, see the report).
      const serverSpan = o.intervalMillis !== undefined && o.intervalMillis > 0 ? o.intervalMillis : configured.span
      const used = o.max - o.remaining
      const to = upperBound(own, ownHead, Math.min(now, o.startedAt))
      let ours = 0
      for (let i = ownHead; i < to; i++) if (arrivedAbout[i]! > o.startedAt - serverSpan) ours++
      const others = used - ours
      if (others <= 0) return 0
      // The first answer's: spent just now, for all we know (a predecessor may have spent the window just before).
      const at = first ? now : o.startedAt
      let active = 0
      for (const t of phantoms) if (t > at - server.span && t <= at) active++
      if (others <= active) return 0
      for (let n = active; n < others; n++) phantoms.push(at)
      phantoms.sort((a, b) => a - b)
      return others - active
    }

    const observe = (o: Observation) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const added = learn(o, now)
        return added > 0 ? Metric.incrementBy(phantomStarts, added) : Effect.void
      })

    const unanswered = (startedAt: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => settle(startedAt, now, false)))

    const serverLimit = Effect.sync(() => Option.fromNullable(server?.limit))

    return {
      limit,
      marginMillis,
      serverLimit,
      acquire,
      awaitFree,
      pauseFor,
      observe,
      unanswered
    } satisfies Budget
  })

export interface RequestBudgetOptions {
  /** The app's rolling limit; default 100/10s. */
  readonly limit?: Limit
  /** The search endpoint's limit; default 5/1s. */
  readonly searchLimit?: Limit
  readonly margin?: Duration.DurationInput
  /** Whether the `requests` budget probes (`BudgetOptions.probe`); default true. */
  readonly probe?: boolean
}

/** The budgets shared by every HubSpot request of the process: one for all requests, one more for search. */
export class RequestBudget extends Context.Tag("@assoc-etl/hubspot/RequestBudget")<RequestBudget, {
  readonly requests: Budget
  readonly search: Budget
}>() {}

export const makeBudgets = (options: RequestBudgetOptions = {}): Effect.Effect<RequestBudget["Type"]> =>
  Effect.all({
    requests: make({
      limit: options.limit ?? defaultLimit,
      probe: options.probe ?? true,
      ...(options.margin === undefined ? {} : { margin: options.margin })
    }),
    search: make({ limit: options.searchLimit ?? defaultSearchLimit, name: "search" })
  })

export const layer = (options: RequestBudgetOptions = {}): Layer.Layer<RequestBudget> =>
  Layer.effect(RequestBudget, makeBudgets(options))
