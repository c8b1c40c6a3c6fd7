import { assert, describe, it } from "@effect/vitest"
import { Effect, type Schedule } from "effect"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import { HubSpotError, RetryPolicy } from "../src/index.js"

const error = (reason: HubSpotError.Reason, retryAfter?: number) =>
  new HubSpotError.HubSpotError({
    reason,
    method: "POST",
    path: "/crm/associations/2026-03/contacts/companies/batch/read",
    status: reason === "RateLimited" ? 429 : 503,
    ...(retryAfter === undefined ? {} : { retryAfter })
  })

/** The delays the schedule asks for, one per input, until it stops (undefined marks the stop). */
const delaysOf = (schedule: Schedule.Schedule<unknown, HubSpotError.HubSpotError>, inputs: ReadonlyArray<HubSpotError.HubSpotError>) =>
  Effect.gen(function*() {
    let state = schedule.initial
    let now = 0
    const delays: Array<number | undefined> = []
    for (const input of inputs) {
      const [next, , decision] = yield* schedule.step(now, input, state)
      if (ScheduleDecision.isDone(decision)) {
        delays.push(undefined)
        break
      }
      const at = ScheduleIntervals.start(decision.intervals)
      delays.push(at - now)
      now = at
      state = next
    }
    return delays
  })

describe("RetryPolicy", () => {
  it.effect("delays grow, stay jittered around base * 2^n, and stop after maxRetries", () =>
    Effect.gen(function*() {
      const delays = yield* delaysOf(
        RetryPolicy.schedule({ base: "100 millis", cap: "1 hour", maxRetries: 6 }),
        Array.from({ length: 10 }, () => error("Server"))
      )
      assert.strictEqual(delays.length, 7)
      assert.strictEqual(delays[6], undefined)
      for (let n = 0; n < 6; n++) {
        const d = delays[n]!
        assert.isAtLeast(d, 100 * 2 ** n * 0.8)
        assert.isAtMost(d, 100 * 2 ** n * 1.2)
        if (n > 0) assert.isAbove(d, delays[n - 1]!)
      }
    }))

  it.effect("delays are capped", () =>
    Effect.gen(function*() {
      const delays = yield* delaysOf(
        RetryPolicy.schedule({ base: "200 millis", cap: "1 second", maxRetries: 8 }),
        Array.from({ length: 8 }, () => error("Timeout"))
      )
      assert.strictEqual(delays.length, 8)
      for (const d of delays) assert.isAtMost(d!, 1000)
      assert.strictEqual(delays[7], 1000)
    }))

  it.effect("Retry-After is a floor, above the cap too", () =>
    Effect.gen(function*() {
      const delays = yield* delaysOf(
        RetryPolicy.schedule({ base: "200 millis", cap: "1 second" }),
        [error("RateLimited", 3000), error("RateLimited"), error("RateLimited", 50)]
      )
      assert.strictEqual(delays[0], 3000)
      assert.isAtMost(delays[1]!, 400 * 1.2)
      assert.isAtLeast(delays[2]!, 800 * 0.8)
    }))

  it.effect("errors that are not retryable stop at once", () =>
    Effect.gen(function*() {
      for (const reason of ["Unauthorized", "Forbidden", "DailyLimit", "BadRequest", "Decode"] as const) {
        assert.deepStrictEqual(yield* delaysOf(RetryPolicy.schedule(), [error(reason)]), [undefined])
        assert.isFalse(HubSpotError.isRetryable(error(reason)))
      }
      for (const reason of ["RateLimited", "Server", "Transport", "Timeout", "Incomplete"] as const) {
        assert.isTrue(HubSpotError.isRetryable(error(reason)))
      }
      // An answer not COMPLETE waits as a 5xx does.
      const [incomplete] = yield* delaysOf(RetryPolicy.schedule({ base: "100 millis" }), [error("Incomplete")])
      assert.isAtLeast(incomplete!, 80)
      assert.isAtMost(incomplete!, 120)
    }))
})
