import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Either, Fiber, Option, TestClock } from "effect"
import { RequestBudget } from "../src/index.js"
import { count, counted } from "./support.js"

/** What the budget named `name` counted in this test (run under `counted`). */
const counter = (metric: keyof typeof RequestBudget.metrics, name = "requests") =>
  count(RequestBudget.metricOf(RequestBudget.metrics[metric], name))

/** Forks `n` acquires (concurrently or one after another), runs virtual time forward, returns the admission times. */
const admissions = (budget: RequestBudget.Budget, n: number, concurrent: boolean, advance = "60 seconds" as const) =>
  Effect.gen(function*() {
    const times: Array<number> = []
    const fiber = yield* Effect.fork(
      Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        () => Effect.zipRight(budget.acquire, Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => times.push(t)))),
        { concurrency: concurrent ? "unbounded" : 1, discard: true }
      )
    )
    yield* TestClock.adjust(advance)
    yield* Fiber.join(fiber)
    return times.sort((a, b) => a - b)
  })

/** The most starts in any rolling window of `windowMillis` (a window [t, t + windowMillis)). */
const maxInWindow = (times: ReadonlyArray<number>, windowMillis: number): number => {
  let best = 0
  let lo = 0
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMillis) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

describe("RequestBudget", () => {
  it("parses limits", () => {
    assert.deepStrictEqual(RequestBudget.parseLimit("100/10s"), Either.right({ max: 100, windowMillis: 10_000 }))
    assert.deepStrictEqual(RequestBudget.parseLimit("20/2s"), Either.right({ max: 20, windowMillis: 2000 }))
    assert.deepStrictEqual(RequestBudget.parseLimit("190/10s"), Either.right({ max: 190, windowMillis: 10_000 }))
    assert.deepStrictEqual(RequestBudget.parseLimit("5/s"), Either.right({ max: 5, windowMillis: 1000 }))
    assert.deepStrictEqual(RequestBudget.parseLimit("10/250ms"), Either.right({ max: 10, windowMillis: 250 }))
    assert.deepStrictEqual(RequestBudget.parseLimit("500/1m"), Either.right({ max: 500, windowMillis: 60_000 }))
    for (const bad of ["", "100", "0/10s", "100/0s", "ten/10s", "100/10h"]) {
      const result = RequestBudget.parseLimit(bad)
      assert.isTrue(Either.isLeft(result), bad)
      if (Either.isLeft(result)) assert.include(result.left, "N/duration")
    }
  })

  it("the default margin is 5% of the window within [50, 500] ms", () => {
    assert.strictEqual(RequestBudget.defaultMargin({ max: 20, windowMillis: 2000 }), 100)
    assert.strictEqual(RequestBudget.defaultMargin({ max: 100, windowMillis: 10_000 }), 500)
    assert.strictEqual(RequestBudget.defaultMargin({ max: 5, windowMillis: 200 }), 50)
    assert.strictEqual(RequestBudget.defaultMargin({ max: 100, windowMillis: 60_000 }), 500)
  })

  it.effect("never more than max starts in any rolling window (window + margin), one after another", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 5, windowMillis: 1000 }, margin: "100 millis" })
      const times = yield* admissions(budget, 23, false)
      assert.strictEqual(times.length, 23)
      assert.strictEqual(maxInWindow(times, 1100), 5)
      // The budget is used: bursts of 5 every 1.1 s.
      assert.deepStrictEqual(times.slice(0, 6), [0, 0, 0, 0, 0, 1100])
      assert.strictEqual(times[22], 4 * 1100)
      assert.strictEqual(yield* counter("starts"), 23)
    })))

  it.effect("never more than max starts in any rolling window, with many concurrent waiters", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 20, windowMillis: 2000 } })
      const times = yield* admissions(budget, 100, true)
      assert.strictEqual(times.length, 100)
      assert.strictEqual(maxInWindow(times, 2000 + budget.marginMillis), 20)
      assert.strictEqual(times[99], 4 * 2100)
      // Every waiter called at 0: the waits, queued behind others included, sum to the starts' times.
      assert.strictEqual(yield* counter("waitedMillis"), times.reduce((a, b) => a + b, 0))
      assert.strictEqual(yield* counter("starts"), 100)
    })))

  it.effect("a pause (Retry-After) holds every start until it ends", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 10, windowMillis: 1000 } })
      yield* budget.pauseFor(3000)
      // A shorter pause within it changes nothing and is not counted.
      yield* budget.pauseFor(1000)
      const times = yield* admissions(budget, 3, true)
      assert.deepStrictEqual(times, [3000, 3000, 3000])
      assert.strictEqual(yield* counter("pauses"), 1)
    })))

  it.effect("X-HubSpot-RateLimit-Remaining of another job's use slows the budget down", () =>
    counted(Effect.gen(function*() {
      const limit = { max: 10, windowMillis: 1000 }
      const shared = yield* RequestBudget.make({ limit, margin: "100 millis" })
      yield* shared.acquire
      // The server counted 8 in the window at our request's arrival; we started 1: 7 are another job's.
      yield* shared.observe({ startedAt: 0, max: 10, remaining: 2 })
      const times = yield* admissions(shared, 4, false)
      assert.deepStrictEqual(times, [0, 0, 1100, 1100])
      assert.strictEqual(yield* counter("phantoms"), 7)

      // Alone (remaining matches our own starts), nothing changes.
      yield* counted(Effect.gen(function*() {
        const alone = yield* RequestBudget.make({ limit, margin: "100 millis" })
        const now = yield* Clock.currentTimeMillis
        yield* alone.acquire
        yield* alone.observe({ startedAt: now, max: 10, remaining: 9 })
        const aloneTimes = yield* admissions(alone, 9, false)
        assert.deepStrictEqual(aloneTimes, Array.from({ length: 9 }, () => now))
        assert.strictEqual(yield* counter("phantoms"), 0)
      }))
    })))

  it.effect("a request answered late holds its place until its answer + window", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 2, windowMillis: 1000 }, margin: "0 millis" })
      yield* budget.acquire
      yield* budget.acquire
      // The first answer comes after 100 ms, the second after 600 ms. Either request may have reached the server
      // just before its answer (held up in an event loop, then answered at once), and counts there a window on.
      yield* TestClock.adjust("100 millis")
      yield* budget.observe({ startedAt: 0, max: 2, remaining: 0 })
      yield* TestClock.adjust("500 millis")
      yield* budget.observe({ startedAt: 0, max: 2, remaining: 0 })
      assert.deepStrictEqual(yield* admissions(budget, 2, true), [1100, 1600])
      assert.strictEqual(yield* counter("phantoms"), 0)

      // Answers that come within the margin change nothing: window + margin from the start.
      const prompt = yield* RequestBudget.make({ limit: { max: 2, windowMillis: 1000 }, margin: "100 millis" })
      const t0 = yield* Clock.currentTimeMillis
      yield* prompt.acquire
      yield* prompt.acquire
      yield* TestClock.adjust("100 millis")
      yield* prompt.observe({ startedAt: t0, max: 2, remaining: 0 })
      yield* prompt.observe({ startedAt: t0, max: 2, remaining: 0 })
      assert.deepStrictEqual(yield* admissions(prompt, 2, true), [t0 + 1100, t0 + 1100])
    })))

  it.effect("a late arrival of our own is not taken for another job's use", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 3, windowMillis: 1000 }, margin: "0 millis" })
      yield* budget.acquire // A at 0
      yield* TestClock.adjust("100 millis")
      yield* budget.acquire // B at 100, answered at 200
      yield* TestClock.adjust("100 millis")
      yield* budget.observe({ startedAt: 100, max: 3, remaining: 1, intervalMillis: 1000 })
      // A is answered at 700: it may have arrived as late as that.
      yield* TestClock.adjust("500 millis")
      yield* budget.observe({ startedAt: 0, max: 3, remaining: 2, intervalMillis: 1000 })
      // C at 1500: the server counts A (arrived at 600, say) and C in (500, 1500]; both are ours.
      yield* TestClock.adjust("800 millis")
      yield* budget.acquire
      yield* TestClock.adjust("100 millis")
      yield* budget.observe({ startedAt: 1500, max: 3, remaining: 1, intervalMillis: 1000 })
      assert.strictEqual(yield* counter("phantoms"), 0)
      // At 1600 B has left (200 + 1000); A leaves at 1700 (700 + 1000), C at 2600: one more starts at once, one
      // when A leaves, one when C leaves.
      assert.deepStrictEqual(yield* admissions(budget, 3, true), [1600, 1700, 2600])
    })))

  it.effect("a late answer of our own does not hide another job's request in the server's count", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 10, windowMillis: 1000 }, margin: "0 millis" })
      yield* budget.acquire // A at 0
      yield* budget.acquire // B at 0
      // B answered at 100 (the quickest round trip), A at 300: A likely arrived by 200, though it holds its
      // place until 1300 (it may have arrived as late as its answer).
      yield* TestClock.adjust("100 millis")
      yield* budget.observe({ startedAt: 0, max: 10, remaining: 9 })
      yield* TestClock.adjust("200 millis")
      yield* budget.observe({ startedAt: 0, max: 10, remaining: 8 })
      // C at 1250, answered at 1350: the server counted 2 in (250, 1250]. C is one; A, likely gone by 250, is
      // not the other: another job's request is.
      yield* TestClock.adjust("950 millis")
      yield* budget.acquire
      yield* TestClock.adjust("100 millis")
      yield* budget.observe({ startedAt: 1250, max: 10, remaining: 8 })
      assert.strictEqual(yield* counter("phantoms"), 1)
    })))

  it.effect("the server's limit, once an answer names it, is kept besides the configured one (20/2s, 100/10s)", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: RequestBudget.defaultLimit })
      assert.deepStrictEqual(yield* budget.serverLimit, Option.none())
      yield* budget.acquire
      yield* budget.observe({ startedAt: 0, max: 20, remaining: 19, intervalMillis: 2000 })
      assert.deepStrictEqual(yield* budget.serverLimit, Option.some({ max: 20, windowMillis: 2000 }))
      const times = [0, ...(yield* admissions(budget, 99, true))]
      // Bursts of 20 every 2.1 s (the server's window and its default margin), not 100 at once.
      assert.strictEqual(maxInWindow(times, 2100), 20)
      assert.deepStrictEqual([times[19], times[20], times[99]], [0, 2100, 8400])
      assert.strictEqual(yield* counter("phantoms"), 0)
    })))

  it.effect("a server limit lower in burst, higher in rate (20/1s, 100/10s) never takes the budget above either", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: RequestBudget.defaultLimit })
      yield* budget.acquire
      yield* budget.observe({ startedAt: 0, max: 20, remaining: 19, intervalMillis: 1000 })
      const times = [0, ...(yield* admissions(budget, 149, true))]
      assert.strictEqual(maxInWindow(times, 1050), 20)
      // Switching to 20/1s would allow about 190 in 10 s; the configured limit holds.
      assert.strictEqual(maxInWindow(times, 10_500), 100)
    })))

  it.effect("a server limit above the configured one changes nothing: the budget never raises itself", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 10, windowMillis: 1000 }, margin: "100 millis" })
      yield* budget.acquire
      yield* budget.observe({ startedAt: 0, max: 190, remaining: 189, intervalMillis: 10_000 })
      const times = [0, ...(yield* admissions(budget, 19, true))]
      assert.deepStrictEqual([times[9], times[10], times[19]], [0, 1100, 1100])
    })))

  it.effect("a probing budget admits one start until an answer is seen; one given up lets the next go", () =>
    counted(Effect.gen(function*() {
      const probing = { limit: { max: 10, windowMillis: 1000 }, margin: "100 millis", probe: true } as const
      const budget = yield* RequestBudget.make(probing)
      yield* budget.acquire
      const second = yield* Effect.fork(Effect.zipRight(budget.acquire, Clock.currentTimeMillis))
      yield* TestClock.adjust("300 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(second)))
      // The probe's connection broke: the next probe goes at once.
      yield* budget.unanswered(0)
      assert.strictEqual(yield* Fiber.join(second), 300)
      const third = yield* Effect.fork(Effect.zipRight(budget.acquire, Clock.currentTimeMillis))
      yield* TestClock.adjust("200 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(third)))
      // An answer (2 counted, both ours): no more probing, the rest of the window is free.
      yield* budget.observe({ startedAt: 300, max: 10, remaining: 8, intervalMillis: 1000 })
      assert.strictEqual(yield* Fiber.join(third), 500)
      assert.deepStrictEqual(yield* admissions(budget, 7, true), Array.from({ length: 7 }, () => 500))
      assert.strictEqual(yield* counter("phantoms"), 0)

      // A probe never reported holds the others for as long as an unanswered start holds its place.
      const silent = yield* RequestBudget.make(probing)
      const t0 = yield* Clock.currentTimeMillis
      yield* silent.acquire
      assert.deepStrictEqual(yield* admissions(silent, 1, true), [t0 + 1100])
    })))

  it.effect("after a restart, the window the first answer says is spent counts as spent at that answer", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({
        limit: { max: 20, windowMillis: 2000 },
        margin: "100 millis",
        probe: true
      })
      yield* budget.acquire
      // The probe's answer at 300: the window is full, 19 of it another process's (the one before the restart).
      yield* TestClock.adjust("300 millis")
      yield* budget.observe({ startedAt: 0, max: 20, remaining: 0, intervalMillis: 2000 })
      assert.strictEqual(yield* counter("phantoms"), 19)
      // The probe leaves at 2300 (its answer + the window), the 19 at 2400 (their answer + window + margin).
      const times = yield* admissions(budget, 20, true)
      assert.deepStrictEqual([times[0], times[1], times[19]], [2300, 2400, 2400])
    })))

  it.effect("awaitFree waits for room without taking it", () =>
    counted(Effect.gen(function*() {
      const budget = yield* RequestBudget.make({ limit: { max: 1, windowMillis: 1000 }, margin: "0 millis" })
      yield* budget.acquire
      const fiber = yield* Effect.fork(Effect.zipRight(budget.awaitFree, Clock.currentTimeMillis))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), 1000)
      assert.strictEqual(yield* counter("starts"), 1)
    })))

  it.effect("a budget counts under its name: \"requests\" unless named", () =>
    counted(Effect.gen(function*() {
      const requests = yield* RequestBudget.make({ limit: { max: 10, windowMillis: 1000 } })
      const search = yield* RequestBudget.make({ limit: { max: 5, windowMillis: 1000 }, name: "search" })
      yield* requests.acquire
      yield* search.acquire
      yield* search.acquire
      assert.strictEqual(yield* counter("starts"), 1)
      assert.strictEqual(yield* counter("starts", "search"), 2)
      const budgets = yield* RequestBudget.makeBudgets()
      yield* budgets.search.acquire
      assert.strictEqual(yield* counter("starts", "search"), 3)
      assert.strictEqual(yield* counter("starts"), 1)
    })))
})
