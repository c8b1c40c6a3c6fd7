/**
 * The counters (`Simulator.counters`, `GET /__sim/counters`) and the tally that keeps them: what
 * `resetCounters` sets back to zero, the log of arrival times included. The rate windows and the daily count
 * are not here: they are the server's state (`limits.ts`), and a reset leaves them as they are.
 */

export interface FaultCounters {
  readonly status500: number
  readonly status502: number
  readonly status503: number
  readonly status504: number
  readonly drop: number
  readonly truncate: number
  readonly slow: number
}

/** Batch-read answers sent whole with a status other than `COMPLETE` (`SimulatorOptions.incomplete`), by status. */
export interface IncompleteCounters {
  readonly PENDING: number
  readonly PROCESSING: number
  readonly CANCELED: number
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
  /** Account-info requests answered 200. */
  readonly accountInfoRequests: number
  /** Labels-catalogue requests answered 200. */
  readonly labelsRequests: number
  readonly status429: number
  readonly status429Daily: number
  readonly faults: FaultCounters
  /** Of `batchReads`: those that were not complete, by status. */
  readonly incomplete: IncompleteCounters
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

export interface Tally {
  /** A request reached a handler: counted, and in flight until `leave`. */
  readonly enter: () => void
  readonly leave: () => void
  /** An authenticated arrival, counted in the rolling window at `now`: logged (the last `maxArrivals`). */
  readonly arrival: (now: number) => void
  /** The arrivals now in the rolling window, for `maxInWindow`. */
  readonly inWindow: (count: number) => void
  /** A 429; `daily` when the daily count refused it. */
  readonly refused: (daily: boolean) => void
  readonly fault: (kind: keyof FaultCounters) => void
  /** An answer of 200/207 sent whole, with the inputs of a batch read and its status if it is not complete. */
  readonly answered: (
    kind: "batch" | "list" | "search" | "accountInfo" | "labels",
    inputs: number,
    incomplete?: keyof IncompleteCounters
  ) => void
  readonly counters: () => Counters
  readonly withArrivals: () => CountersWithArrivals
  /** Zero, but `maxInFlight` is the requests in flight now; `arrivals` is empty. */
  readonly reset: () => void
}

export const make = (): Tally => {
  let requests = 0
  let batchReads = 0
  let inputs = 0
  let listRequests = 0
  let searchRequests = 0
  let accountInfoRequests = 0
  let labelsRequests = 0
  let status429 = 0
  let status429Daily = 0
  const faultCounts = { status500: 0, status502: 0, status503: 0, status504: 0, drop: 0, truncate: 0, slow: 0 }
  const incompleteCounts = { PENDING: 0, PROCESSING: 0, CANCELED: 0 }
  let inFlight = 0
  let maxInFlight = 0
  let maxInWindow = 0
  let arrivals: Array<number> = []
  let arrivalsDropped = 0

  const counters = (): Counters => ({
    requests,
    batchReads,
    inputs,
    listRequests,
    searchRequests,
    accountInfoRequests,
    labelsRequests,
    status429,
    status429Daily,
    faults: { ...faultCounts },
    incomplete: { ...incompleteCounts },
    maxInFlight,
    maxInWindow
  })

  return {
    enter: () => {
      requests++
      inFlight++
      if (inFlight > maxInFlight) maxInFlight = inFlight
    },
    leave: () => {
      inFlight--
    },
    arrival: (now) => {
      if (arrivals.length >= maxArrivals) {
        const drop = arrivals.length - maxArrivals + 1
        arrivals = arrivals.slice(drop)
        arrivalsDropped += drop
      }
      arrivals.push(now)
    },
    inWindow: (count) => {
      if (count > maxInWindow) maxInWindow = count
    },
    refused: (daily) => {
      if (daily) status429Daily++
      status429++
    },
    fault: (kind) => {
      faultCounts[kind]++
    },
    answered: (kind, n, incomplete) => {
      if (kind === "batch") {
        batchReads++
        inputs += n
        if (incomplete !== undefined) incompleteCounts[incomplete]++
      } else if (kind === "list") listRequests++
      else if (kind === "search") searchRequests++
      else if (kind === "labels") labelsRequests++
      else accountInfoRequests++
    },
    counters,
    withArrivals: () => ({ ...counters(), arrivals, arrivalsDropped }),
    reset: () => {
      requests = 0
      batchReads = 0
      inputs = 0
      listRequests = 0
      searchRequests = 0
      accountInfoRequests = 0
      labelsRequests = 0
      status429 = 0
      status429Daily = 0
      for (const k of Object.keys(faultCounts) as Array<keyof typeof faultCounts>) faultCounts[k] = 0
      for (const k of Object.keys(incompleteCounts) as Array<keyof typeof incompleteCounts>) incompleteCounts[k] = 0
      maxInFlight = inFlight
      maxInWindow = 0
      arrivals = []
      arrivalsDropped = 0
    }
  }
}
