import { ObjectId, ObjectType } from "@assoc-etl/core"
import { Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { Chunk, Effect, Either, Layer, Redacted, Stream } from "effect"
import { BatchRead, HubSpotClient, HubSpotError, RequestBudget } from "../src/index.js"
import { Dataset, layer, multiset } from "./support.js"

const from = ObjectType.unsafeMake("contacts")
const to = ObjectType.unsafeMake("companies")

/** Ids with unknown ones and repeats mixed in. */
const inputOf = (ids: ReadonlyArray<string>): ReadonlyArray<string> => [
  ...ids.slice(0, 400),
  "999999999999999",
  ...ids.slice(0, 60),
  ...ids.slice(400),
  "4",
  ids[3]!,
  "999999999999999"
]

/** Runs the stage over `input` and checks the pages against the simulator's ground truth. */
const exportAndCheck = (input: ReadonlyArray<string>, options: Omit<BatchRead.BatchReadOptions, "from" | "to">) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    const truth = Dataset.groundTruth(sim.dataset, from, to, input)
    const progress = yield* BatchRead.makeProgress
    const pages = Chunk.toReadonlyArray(
      yield* Stream.fromIterable(input.map(ObjectId.unsafeMake)).pipe(
        Stream.rechunk(100),
        BatchRead.fromIds({ from, to, progress, ...options }),
        Stream.runCollect
      )
    )
    const rows = pages.flatMap((p) => p.rows.toArray())
    assert.strictEqual(rows.length, truth.rows.length)
    assert.deepStrictEqual(multiset(rows), multiset(truth.rows))
    // Refused ids: one error row each, named.
    const refused = pages.flatMap((p) => p.errors)
    assert.deepStrictEqual(refused.map((e) => e.object_id).sort(), [...truth.unknownIds].sort())
    for (const e of refused) assert.strictEqual(e.category, "OBJECT_NOT_FOUND")
    // Every key is done exactly once; a `next` always comes back.
    const done = pages.flatMap((p) => p.done.map((i) => i.key)).sort((a, b) => a - b)
    assert.deepStrictEqual(done, input.map((_, i) => i))
    const stats = yield* BatchRead.stats(progress)
    assert.strictEqual(stats.idsDone, input.length)
    assert.strictEqual(stats.rows, truth.rows.length)
    assert.strictEqual(stats.duplicates, input.length - new Set(input).size)
    return { sim, stats, truth, pages }
  })

describe("BatchRead", () => {
  it.live("exports the exact ground truth with heavy paging, unknown and duplicate ids", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.dataset.ids(from).slice(0, 1500))
      const { stats } = yield* exportAndCheck(input, { batchSize: 100, concurrency: 4 })
      // Paging was heavy: continuations packed beside fresh ids, chains of many pages.
      assert.isAbove(stats.continuations, 100)
      assert.isAbove(stats.longestChain, 5)
      const counters = yield* sim.counters
      assert.strictEqual(counters.batchReads, stats.batches)
      assert.strictEqual(counters.inputs, stats.inputs)
      assert.strictEqual(counters.requests, stats.batches)
      // No request left half-empty while fresh ids waited: partial requests only while the longest
      // chain of pages runs out after the source is exhausted.
      assert.isAtMost(stats.batches, Math.ceil(stats.inputs / 100) + stats.longestChain)
      // Ids beyond 2^53 came through as strings.
      assert.isTrue(sim.dataset.ids(from).some((id) => BigInt(id) > 2n ** 53n))
    }).pipe(Effect.provide(layer({ objects: 1500, pageSize: 50, rateLimit: { max: 0, windowMillis: 1000 } }))))

  it.live("with dedupe off, it holds no ids and asks each input it is given (the caller dedupes)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.dataset.ids(from).slice(0, 300)
      const input = [...ids, ids[0]!, ids[1]!]
      const progress = yield* BatchRead.makeProgress
      const pages = yield* Stream.fromIterable(input.map(ObjectId.unsafeMake)).pipe(
        BatchRead.fromIds({ from, to, progress, batchSize: 100, dedupe: false }),
        Stream.runCollect
      )
      const fresh = (yield* sim.counters).inputs - (yield* BatchRead.stats(progress)).continuations
      assert.strictEqual(fresh, input.length)
      const rows = Chunk.toReadonlyArray(pages).flatMap((p) => p.rows.toArray())
      const once = Dataset.groundTruth(sim.dataset, from, to, ids).rows
      const twice = Dataset.groundTruth(sim.dataset, from, to, ids.slice(0, 2)).rows
      assert.deepStrictEqual(multiset(rows), multiset([...once, ...twice]))
    }).pipe(Effect.provide(layer({ objects: 300, pageSize: 50, rateLimit: { max: 0, windowMillis: 1000 } }))))

  it.live("a server that answers a page with the cursor it was sent stops the run instead of looping", () => {
    let requests = 0
    const http = HttpClient.make((request) =>
      Effect.sync(() => {
        requests++
        return HttpClientResponse.fromWeb(
          request,
          new Response(
            `{"status":"COMPLETE","results":[{"from":{"id":"1"},"to":[],"paging":{"next":{"after":"SAME"}}}]}`,
            { status: 200, headers: { "content-type": "application/json" } }
          )
        )
      })
    )
    const client = HubSpotClient.layer({ token: Redacted.make("t"), baseUrl: "https://api.hubapi.com" }).pipe(
      Layer.orDie,
      Layer.provide(Layer.succeed(HttpClient.HttpClient, http)),
      Layer.provide(RequestBudget.layer({ limit: { max: 1000, windowMillis: 1000 } }))
    )
    return Effect.gen(function*() {
      const result = yield* Stream.make(ObjectId.unsafeMake("1")).pipe(
        BatchRead.fromIds({ from, to }),
        Stream.runCollect,
        Effect.flip
      )
      assert.strictEqual(result.reason, "Decode")
      assert.include(result.message, "with the cursor it was sent (SAME)")
      assert.strictEqual(requests, 2, "the first page, then the one that came back the same")
    }).pipe(Effect.provide(client))
  })

  it.live("the same under 10% 5xx, dropped connections and cut-short bodies (bare numeric ids)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.dataset.ids(from).slice(0, 1200))
      const { stats } = yield* exportAndCheck(input, { batchSize: 20, concurrency: 4 })
      const faults = (yield* sim.counters).faults
      assert.isAbove(faults.status500 + faults.status502 + faults.status503 + faults.status504, 0)
      assert.isAbove(faults.drop + faults.truncate, 0)
      assert.isAbove(stats.client.retries.Server, 0)
      assert.isAbove(stats.client.retries.Transport, 0)
      assert.strictEqual(stats.client.requests, (yield* sim.counters).requests)
    }).pipe(Effect.provide(layer({
      seed: 7,
      objects: 1200,
      pageSize: 50,
      numericToObjectId: true,
      rateLimit: { max: 0, windowMillis: 1000 },
      faults: { status500: 0.04, status502: 0.02, status503: 0.02, status504: 0.02, drop: 0.05, truncate: 0.05 }
    }, { maxRetries: 20 }))))

  it.live("the same under a 429 storm (the simulator allows less than the client asks)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.dataset.ids(from).slice(0, 800))
      const { stats } = yield* exportAndCheck(input, { batchSize: 100, concurrency: 6 })
      const counters = yield* sim.counters
      assert.isAbove(counters.status429, 0)
      assert.strictEqual(stats.client.status429, counters.status429)
      assert.isAbove(stats.client.retries.RateLimited, 0)
    }).pipe(Effect.provide(layer(
      { objects: 800, pageSize: 50, rateLimit: { max: 10, windowMillis: 500 }, retryAfter: 0.3 },
      { limit: { max: 40, windowMillis: 500 }, maxRetries: 30 }
    )), Effect.timeout("50 seconds")))

  it.live("zero 429s when the client's limit equals the simulator's (20/2s)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = sim.dataset.ids(from).slice(0, 900)
      const { stats } = yield* exportAndCheck(input, { batchSize: 25, concurrency: 6 })
      const counters = yield* sim.counters
      assert.isAbove(stats.batches, 40)
      assert.strictEqual(counters.status429, 0)
      assert.isAtMost(counters.maxInWindow, 20)
    }).pipe(Effect.provide(layer(
      { objects: 900, pageSize: 100, rateLimit: { max: 20, windowMillis: 2000 }, latencyMillis: [5, 40] },
      { limit: { max: 20, windowMillis: 2000 } }
    ))))

  it.live("slows down when another job shares the app's budget (X-HubSpot-RateLimit-Remaining)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      yield* sim.consume(15)
      const input = sim.dataset.ids(from).slice(0, 300)
      const { stats } = yield* exportAndCheck(input, { batchSize: 25, concurrency: 3 })
      assert.isAtLeast(stats.batches, 12)
      assert.strictEqual((yield* sim.counters).status429, 0)
      assert.isAtLeast(stats.budget.phantoms, 15)
    }).pipe(Effect.provide(layer(
      { objects: 300, pageSize: 500, rateLimit: { max: 20, windowMillis: 2000 } },
      { limit: { max: 20, windowMillis: 2000 } }
    ))))

  it.live("401 fails at once with a clear message, no retry, no token in it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const result = yield* Stream.fromIterable(sim.dataset.ids(from).slice(0, 500).map(ObjectId.unsafeMake)).pipe(
        BatchRead.fromIds({ from, to, batchSize: 100, concurrency: 1 }),
        Stream.runDrain,
        Effect.either
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        const e = result.left
        assert.instanceOf(e, HubSpotError.HubSpotError)
        assert.strictEqual(e.reason, "Unauthorized")
        assert.strictEqual(e.status, 401)
        assert.include(e.message, "POST /crm/associations/2026-03/contacts/companies/batch/read answered 401")
        assert.notInclude(e.message, "wrong-secret-token")
        assert.notInclude(JSON.stringify(e), "wrong-secret-token")
      }
      assert.strictEqual((yield* sim.counters).requests, 1)
      assert.strictEqual((yield* (yield* HubSpotClient.HubSpotClient).stats).requests, 1)
    }).pipe(Effect.provide(layer({ objects: 500 }, { token: "wrong-secret-token" }))))

  it.live("403 fails at once naming the missing scope, no retry", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const result = yield* Stream.fromIterable(sim.dataset.ids(from).slice(0, 500).map(ObjectId.unsafeMake)).pipe(
        BatchRead.fromIds({ from, to, batchSize: 100, concurrency: 1 }),
        Stream.runDrain,
        Effect.either
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        const e = result.left
        assert.instanceOf(e, HubSpotError.HubSpotError)
        assert.strictEqual(e.reason, "Forbidden")
        assert.include(e.message, "crm.objects.companies.read")
        assert.notInclude(e.message, "sim-token")
      }
      assert.strictEqual((yield* sim.counters).requests, 1)
    }).pipe(Effect.provide(layer({ objects: 500, scopes: ["crm.objects.contacts.read"] }))))

  it.live("resumed cursors are sent as continuations, and a slow source is flushed by maxWait", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.dataset.ids(from).slice(0, 300)
      // Find an id with several pages and resume it from its second page.
      const heavy = ids.find((id) => sim.dataset.associations(from, to, id).length > 120)!
      const client = yield* HubSpotClient.HubSpotClient
      const first = yield* client.batchRead(from, to, [{ id: ObjectId.unsafeMake(heavy) }])
      const after = first.results[0]!.after!
      const items: Array<BatchRead.Item> = [
        { key: 0, id: ObjectId.unsafeMake(heavy), after },
        ...ids.filter((id) => id !== heavy).slice(0, 40).map((id, i): BatchRead.Item => ({ key: i + 1, id: ObjectId.unsafeMake(id) }))
      ]
      const progress = yield* BatchRead.makeProgress
      const pages = yield* Stream.fromIterable(items).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.sleep("30 millis")),
        BatchRead.make({ from, to, batchSize: 1000, maxWait: "100 millis", progress }),
        Stream.runCollect
      )
      const rows = Chunk.toReadonlyArray(pages).flatMap((p) => p.rows.toArray())
      const all = Dataset.groundTruth(sim.dataset, from, to, items.map((i): string => i.id))
      const firstPage = new Set<string>(first.rows({ fromType: from, toType: to }).toArray().map((r) => r.to_object_id))
      const expected = all.rows.filter((r) => r.from_object_id !== heavy || !firstPage.has(r.to_object_id))
      assert.deepStrictEqual(multiset(rows), multiset(expected))
      const snapshot = yield* progress.snapshot
      // The source took over a second; partial batches went out meanwhile.
      assert.isAbove(snapshot.batches, 3)
      assert.isAtLeast(snapshot.continuations, 1)
    }).pipe(Effect.provide(layer({ objects: 300, pageSize: 100, rateLimit: { max: 0, windowMillis: 1000 } }))))
})
