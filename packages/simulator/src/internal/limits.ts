/**
 * HubSpot's rate limits: the rolling window of every authenticated call, the search endpoint's own window and
 * the daily count (by UTC day of the `Clock`); the `X-HubSpot-RateLimit-*` headers of an answer, and the 429
 * answers with HubSpot's bodies, each with a `Retry-After` with probability `retryAfter` (one draw of the
 * seeded rng per 429, from the rng that also draws the faults).
 */
import type { Answer, ErrorAnswers } from "./answers.js"
import type { Tally } from "./counters.js"
import type { ResolvedOptions } from "./options.js"
import * as RollingWindow from "./window.js"

export interface Limits {
  /** Counts an arrival; the 429 answer when a limit refuses it. */
  readonly arrive: (now: number, search: boolean) => Answer | undefined
  /** Counts n arrivals of another app in the window and the daily count (none when n <= 0). */
  readonly consume: (now: number, n: number) => void
  /** The headers of the limits that are on, at `now`. */
  readonly headers: (now: number) => Record<string, string>
}

export const make = (
  options: Pick<ResolvedOptions, "rateLimit" | "searchRateLimit" | "retryAfter" | "countRejected">,
  rng: () => number,
  tally: Tally,
  errors: ErrorAnswers
): Limits => {
  const limit = options.rateLimit
  const windowOn = limit.max > 0
  const dailyOn = limit.daily > 0
  const searchOn = options.searchRateLimit.max > 0
  const window = RollingWindow.make(limit.windowMillis > 0 ? limit.windowMillis : 10_000)
  const searchWindow = RollingWindow.make(options.searchRateLimit.windowMillis)
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
    tally.inWindow(window.count(now))
  }

  const headers = (now: number): Record<string, string> => {
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
    rng() < options.retryAfter ? { "Retry-After": String(Math.max(1, Math.ceil(seconds))) } : undefined

  const arrive = (now: number, search: boolean): Answer | undefined => {
    countArrivals(now, 1, search)
    tally.arrival(now)
    let answer: Answer | undefined
    let daily = false
    if (dailyOn && dailyCount > limit.daily) {
      daily = true
      answer = errors.error(429, "RATE_LIMITS", "You have reached your daily limit.", {
        errorType: "RATE_LIMIT",
        policyName: "DAILY",
        groupName: "api-calls-daily:sim"
      }, retryAfterHeader(((dayOf(now) + 1) * 86_400_000 - now) / 1000))
    } else if (windowOn && window.count(now) > limit.max) {
      answer = errors.error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.", {
        errorType: "RATE_LIMIT",
        policyName: "TEN_SECONDLY_ROLLING",
        groupName: "api-calls-app:sim"
      }, retryAfterHeader((window.nextRelease(now) - now) / 1000))
    } else if (search && searchOn && searchWindow.count(now) > options.searchRateLimit.max) {
      answer = errors.error(429, "RATE_LIMITS", "You have reached your secondly limit.", {
        errorType: "RATE_LIMIT",
        policyName: "SECONDLY",
        groupName: "api-calls-search:sim"
      }, retryAfterHeader((searchWindow.nextRelease(now) - now) / 1000))
    }
    if (answer !== undefined) {
      tally.refused(daily)
      if (!options.countRejected) {
        dailyCount--
        window.removeLast()
        if (search) searchWindow.removeLast()
      }
    }
    return answer
  }

  return {
    arrive,
    consume: (now, n) => {
      if (n > 0) countArrivals(now, Math.floor(n), false)
    },
    headers
  }
}
