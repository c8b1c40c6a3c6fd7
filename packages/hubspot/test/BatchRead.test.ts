import {
  type AssociationRow,
  ErrorRow,
  Export,
  IdSource,
  ObjectId,
  ObjectType,
  RowBatch,
  RowSink
} from "@assoc-etl/core"
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Logger, Option, Redacted, Stream } from "effect"
import * as path from "node:path"
import { tempDir } from "../../../test/support/Parts.js"
import { BatchRead, HubSpotClient, HubSpotError, HubSpotIdSource, RequestBudget } from "../src/index.js"
import { count, counted, gauge, multiset } from "./support.js"

const from = ObjectType.unsafeMake("contacts")
const to = ObjectType.unsafeMake("companies")
/** The simulator's rolling limit off. */
const unlimited = { max: 0, windowMillis: 1000 }

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

/** What the stage, the client and the budget counted in this test (read under `counted`). */
const figures = Effect.all({
  batches: count(BatchRead.metrics.batches),
  inputs: count(BatchRead.metrics.inputs),
  continuations: count(BatchRead.metrics.continuations),
  duplicates: count(BatchRead.metrics.duplicates),
  longestChain: gauge(BatchRead.metrics.longestChain),
  requests: count(HubSpotClient.metrics.requests),
  rateLimited: count(HubSpotClient.metrics.rateLimited),
  phantoms: count(RequestBudget.metricOf(RequestBudget.metrics.phantoms, "requests"))
})

/** Runs the stage over `input` and checks the pages against the simulator's ground truth. */
const exportAndCheck = (input: ReadonlyArray<string>, options: Omit<BatchRead.BatchReadOptions, "from" | "to">) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.Simulator
    const truth = SimulatedPortal.groundTruth(sim.portal, from, to, input)
    const pages = Chunk.toReadonlyArray(
      yield* Stream.fromIterable(input.map(ObjectId.unsafeMake)).pipe(
        Stream.rechunk(100),
        BatchRead.fromIds({ from, to, ...options }),
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
    const counted = yield* figures
    assert.strictEqual(counted.duplicates, input.length - new Set(input).size)
    return { sim, figures: counted, truth, pages }
  })

/** The retry options of `Simulator.quickClient`, for clients built here. */
const quickRetries = { retryBase: "10 millis", retryCap: "500 millis", timeout: "10 seconds" } as const

/** A client of `sim` with a request budget of its own (a new process): `budget`, by default the library's. */
const clientOf = (sim: Simulator.SimulatorService, budget: RequestBudget.RequestBudgetOptions = {}) =>
  HubSpotClient.layer({ token: Redacted.make(sim.options.token), baseUrl: sim.baseUrl, ...quickRetries }).pipe(
    Layer.orDie,
    Layer.provideMerge(RequestBudget.layer(budget)),
    Layer.provide(NodeHttpClient.layerUndici)
  )

/**
 * The simulator behind a gateway that drops HubSpot's `X-HubSpot-RateLimit-*` headers, and a client whose budget
 * allows `limit`: a client that cannot learn the server's limit.
 */
const behindGateway = (options: Simulator.SimulatorOptions, limit: RequestBudget.Limit, maxRetries: number) => {
  const hiding = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(
      HttpClient.HttpClient,
      HttpClient.transformResponse(Effect.flatMap((response) =>
        Effect.map(response.arrayBuffer, (body) =>
          HttpClientResponse.fromWeb(
            response.request,
            new Response(body, {
              status: response.status,
              headers: Object.entries(response.headers).filter(([name]) => !name.startsWith("x-hubspot-ratelimit-"))
            })
          ))
      ))
    )
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const client = Layer.unwrapEffect(Effect.map(Simulator.Simulator, (sim) =>
    HubSpotClient.layer({ token: Redacted.make(sim.options.token), baseUrl: sim.baseUrl, ...quickRetries, maxRetries })
      .pipe(Layer.orDie)))
  return client.pipe(
    Layer.provideMerge(RequestBudget.layer({ limit })),
    Layer.provideMerge(Simulator.layer(options)),
    Layer.provide(hiding)
  )
}

/**
 * The fewest batch requests that read `ids` (in this order) at `batchSize`, from the ground truth, for a stage
 * that takes fresh ids in source order: every input (first pages and continuations, c pages for an id with n
 * associations at `pageSize` a page) takes a slot of a batch, and the c pages of the id at position p go one
 * after another from batch ⌊p ÷ batchSize⌋ on at the earliest: max(⌈inputs ÷ batchSize⌉, max over ids of
 * ⌊p ÷ batchSize⌋ + c).
 */
const minimumBatches = (sim: Simulator.SimulatorService, ids: ReadonlyArray<string>, batchSize: number) => {
  let inputs = 0
  let chain = 0
  ids.forEach((id, p) => {
    const pages = Math.max(1, Math.ceil(sim.portal.associations(from, to, id).length / sim.options.pageSize))
    inputs += pages
    chain = Math.max(chain, Math.floor(p / batchSize) + pages)
  })
  return Math.max(Math.ceil(inputs / batchSize), chain)
}

/** `Export.run` of every `from` object, listed through the API 100 a page, with the stage at its defaults. */
const exportListed = Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const dir = yield* tempDir
  const sink = RowSink.memory()
  yield* Export.run({
    pair: { fromType: from, toType: to },
    source: HubSpotIdSource.list(from, { journal: path.join(dir, ".listed-ids") }),
    stage: BatchRead.stage(),
    sink
  })
  const truth = SimulatedPortal.groundTruth(sim.portal, from, to)
  const rows = (yield* sink.committed).rows
  assert.strictEqual(rows.length, truth.rows.length)
  assert.deepStrictEqual(multiset(rows), multiset(truth.rows))
  return minimumBatches(sim, sim.portal.ids(from), BatchRead.defaultBatchSize)
})

describe("BatchRead", () => {
  it.live("exports the exact ground truth with heavy paging, unknown and duplicate ids", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.portal.ids(from).slice(0, 1500))
      const { figures } = yield* exportAndCheck(input, { batchSize: 100, concurrency: 4 })
      // Paging was heavy: continuations packed beside fresh ids, chains of many pages.
      assert.isAbove(figures.continuations, 100)
      assert.isAbove(figures.longestChain, 5)
      const counters = yield* sim.counters
      assert.strictEqual(counters.batchReads, figures.batches)
      assert.strictEqual(counters.inputs, figures.inputs)
      assert.strictEqual(counters.requests, figures.batches)
      assert.strictEqual(figures.requests, figures.batches)
      // Every answer, 207s with refused ids included, was read from its bytes: none took the reference path.
      assert.strictEqual(yield* count(HubSpotClient.metrics.answersParsed), 0)
      // No request left half-empty while fresh ids waited: partial requests only while the longest
      // chain of pages runs out after the source is exhausted.
      assert.isAtMost(figures.batches, Math.ceil(figures.inputs / 100) + figures.longestChain)
      // Ids beyond 2^53 came through as strings.
      assert.isTrue(sim.portal.ids(from).some((id) => BigInt(id) > 2n ** 53n))
    })).pipe(Effect.provide(Simulator.layerTest({ objects: 1500, pageSize: 50, rateLimit: unlimited }))))

  it.live("with dedupe off, it holds no ids and asks each input it is given (the caller dedupes)", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids(from).slice(0, 300)
      const input = [...ids, ids[0]!, ids[1]!]
      const pages = yield* Stream.fromIterable(input.map(ObjectId.unsafeMake)).pipe(
        BatchRead.fromIds({ from, to, batchSize: 100, dedupe: false }),
        Stream.runCollect
      )
      const fresh = (yield* sim.counters).inputs - (yield* count(BatchRead.metrics.continuations))
      assert.strictEqual(fresh, input.length)
      assert.strictEqual(yield* count(BatchRead.metrics.duplicates), 0)
      const rows = Chunk.toReadonlyArray(pages).flatMap((p) => p.rows.toArray())
      const once = SimulatedPortal.groundTruth(sim.portal, from, to, ids).rows
      const twice = SimulatedPortal.groundTruth(sim.portal, from, to, ids.slice(0, 2)).rows
      assert.deepStrictEqual(multiset(rows), multiset([...once, ...twice]))
    })).pipe(Effect.provide(Simulator.layerTest({ objects: 300, pageSize: 50, rateLimit: unlimited }))))

  it.live("as Export.run's stage, it exports the exact ground truth into a sink", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids(from).slice(0, 400)
      const input = [...ids.slice(0, 250), "999999999999999", ...ids.slice(0, 30), ...ids.slice(250)]
      const sink = RowSink.memory()
      const summary = yield* Export.run({
        pair: { fromType: from, toType: to },
        source: IdSource.fromIterable(input.map(ObjectId.unsafeMake)),
        stage: BatchRead.stage({ batchSize: 50, concurrency: 3 }),
        sink
      })
      const truth = SimulatedPortal.groundTruth(sim.portal, from, to, input)
      const state = yield* sink.committed
      assert.strictEqual(summary.status, "complete")
      assert.isTrue(state.finished)
      assert.strictEqual(state.rows.length, truth.rows.length)
      assert.deepStrictEqual(multiset(state.rows), multiset(truth.rows))
      assert.deepStrictEqual(state.refused.map((e) => e.object_id), [...truth.unknownIds])
      assert.strictEqual(summary.rows, truth.rows.length)
      assert.strictEqual(summary.idsDone, input.length)
      // The run dedupes; the stage asked each distinct id once (besides the continuations of its pages).
      const counters = yield* sim.counters
      assert.isAbove(truth.rows.length, 1000)
      assert.strictEqual(counters.inputs - (yield* count(BatchRead.metrics.continuations)), new Set(input).size)
    }).pipe(
      counted,
      Effect.provide(Layer.merge(
        Simulator.layerTest({ objects: 400, pageSize: 50, rateLimit: unlimited }),
        NodeContext.layer
      ))
    ))

  it.effect("a server that answers a page with the cursor it was sent stops the run instead of looping", () => {
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
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.portal.ids(from).slice(0, 1200))
      const { figures } = yield* exportAndCheck(input, { batchSize: 20, concurrency: 4 })
      const counters = yield* sim.counters
      const faults = counters.faults
      assert.isAbove(faults.status500 + faults.status502 + faults.status503 + faults.status504, 0)
      assert.isAbove(faults.drop + faults.truncate, 0)
      const server = yield* count(HubSpotClient.retriesFor("Server"))
      const transport = yield* count(HubSpotClient.retriesFor("Transport"))
      assert.isAbove(server, 0)
      assert.isAbove(transport, 0)
      assert.strictEqual(figures.requests, counters.requests)
      // Every request past the first of each batch was a retry, of a 5xx or a broken answer.
      assert.strictEqual(figures.requests - figures.batches, server + transport)
      // Only cut-short bodies were declined by the byte reader and parsed whole (and found cut short); the rest of
      // them failed in the transport before they could be read.
      const parsed = yield* count(HubSpotClient.metrics.answersParsed)
      assert.isAtMost(parsed, faults.truncate)
      assert.isAtLeast(parsed, faults.truncate > 0 ? 1 : 0)
    })).pipe(Effect.provide(Simulator.layerTest({
      seed: 7,
      objects: 1200,
      pageSize: 50,
      numericToObjectId: true,
      rateLimit: unlimited,
      faults: { status500: 0.04, status502: 0.02, status503: 0.02, status504: 0.02, drop: 0.05, truncate: 0.05 }
    }, { ...Simulator.quickClient, maxRetries: 20 }))))

  it.live("the same under 20% answers PENDING, PROCESSING or CANCELED with cut results: refused, retried", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.portal.ids(from).slice(0, 1000))
      const { figures } = yield* exportAndCheck(input, { batchSize: 25, concurrency: 4 })
      const counters = yield* sim.counters
      for (const status of ["PENDING", "PROCESSING", "CANCELED"] as const) {
        assert.isAbove(counters.incomplete[status], 0, status)
        assert.strictEqual(yield* count(HubSpotClient.incompleteFor(status)), counters.incomplete[status], status)
      }
      const incomplete = counters.incomplete.PENDING + counters.incomplete.PROCESSING + counters.incomplete.CANCELED
      // Every request past the first of each batch was a retry of an answer that was not complete.
      assert.strictEqual(yield* count(HubSpotClient.retriesFor("Incomplete")), incomplete)
      assert.strictEqual(figures.requests - figures.batches, incomplete)
    })).pipe(Effect.provide(Simulator.layerTest({
      seed: 8,
      objects: 1000,
      pageSize: 50,
      rateLimit: unlimited,
      incomplete: { probability: 0.2 }
    }, { ...Simulator.quickClient, maxRetries: 20 }))))

  it.live("the same under a 429 storm (the simulator allows less than the client asks, and hides its headers)", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.portal.ids(from).slice(0, 800))
      const { figures } = yield* exportAndCheck(input, { batchSize: 100, concurrency: 6 })
      const counters = yield* sim.counters
      assert.isAbove(counters.status429, 0)
      assert.strictEqual(figures.rateLimited, counters.status429)
      assert.strictEqual(yield* count(HubSpotClient.retriesFor("RateLimited")), counters.status429)
    })).pipe(
      Effect.provide(behindGateway(
        { objects: 800, pageSize: 50, rateLimit: { max: 10, windowMillis: 500 }, retryAfter: 0.3 },
        { max: 40, windowMillis: 500 },
        30
      )),
      Effect.timeout("50 seconds")
    ))

  it.live("a server limit below the configured one (20/2s against 100/10s) is followed from the first answer", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = sim.portal.ids(from).slice(0, 400)
      const { figures } = yield* exportAndCheck(input, { batchSize: 10, concurrency: 6 })
      const counters = yield* sim.counters
      assert.isAtLeast(figures.batches, 40)
      // The goal is at most 3; the first request is sent alone, and its answer names the limit.
      assert.isAtMost(counters.status429, 1)
      assert.isAtMost(counters.maxInWindow, 20)
      const client = yield* HubSpotClient.HubSpotClient
      assert.deepStrictEqual(yield* client.budget.requests.serverLimit, Option.some({ max: 20, windowMillis: 2000 }))
      assert.deepStrictEqual(client.budget.requests.limit, RequestBudget.defaultLimit)
    })).pipe(Effect.provide(Simulator.layerTest(
      { objects: 400, rateLimit: { max: 20, windowMillis: 2000 } },
      { ...Simulator.quickClient, budget: {} }
    ))))

  it.live("a process started after another spent the window starts within what is left: at most one 429", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids(from)
      // The process before: its own budget, at the server's limit, ends with the window spent.
      yield* counted(exportAndCheck(ids.slice(0, 250), { batchSize: 10 })).pipe(
        Effect.provide(clientOf(sim, { limit: { max: 20, windowMillis: 2000 } }))
      )
      assert.strictEqual((yield* sim.counters).status429, 0)
      yield* sim.resetCounters
      // Restarted at once, with the default budget (100/10s).
      yield* counted(exportAndCheck(ids.slice(250, 400), { batchSize: 10 })).pipe(Effect.provide(clientOf(sim)))
      assert.isAtMost((yield* sim.counters).status429, 1)
      // Another app spent the whole window just now: the probe is refused, nothing after it.
      yield* sim.resetCounters
      yield* sim.consume(20)
      yield* counted(exportAndCheck(ids.slice(400, 500), { batchSize: 10 })).pipe(Effect.provide(clientOf(sim)))
      assert.strictEqual((yield* sim.counters).status429, 1)
    }).pipe(Effect.provide(Simulator.layer({ objects: 500, rateLimit: { max: 20, windowMillis: 2000 } }))))

  it("the limit a refusal names is read from its message; without one, batches are halved", () => {
    assert.strictEqual(BatchRead.statedLimit("Batch input limit exceeded: at most 100 inputs, got 1000."), 100)
    assert.strictEqual(BatchRead.statedLimit("Too many inputs: maximum of 250"), 250)
    assert.strictEqual(BatchRead.statedLimit("limit is 10"), 10)
    assert.isUndefined(BatchRead.statedLimit("Invalid input JSON on line 1000"))
    assert.isUndefined(BatchRead.statedLimit("Batch too large"))
  })

  it.live("a server that takes fewer inputs a request: batches go down to the limit it names, and stay that size", () => {
    const sizes: Array<number> = []
    const freshBatches: Array<number> = []
    return counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = inputOf(sim.portal.ids(from).slice(0, 2000))
      const { figures } = yield* exportAndCheck(input, { concurrency: 4 })
      // 1000 → 100: "at most 100 inputs", for the rest of the run.
      assert.strictEqual(yield* gauge(BatchRead.metrics.batchSize), 100)
      assert.strictEqual(yield* count(BatchRead.metrics.batchSizeLowered), 1)
      const refused = sizes.filter((n) => n > 100)
      const taken = sizes.filter((n) => n <= 100)
      // Each distinct id went out once, in batches of 100 as full as the continuations riding along leave them.
      assert.strictEqual(freshBatches.reduce((a, b) => a + b, 0), new Set(input).size)
      assert.isAtMost(freshBatches.filter((n) => n > 0).length, 22)
      assert.strictEqual((yield* sim.counters).batchReads, taken.length)
      // A refused batch is one request, not retried: at most `concurrency` went out at each size too large.
      assert.strictEqual(figures.requests, sizes.length)
      assert.strictEqual(figures.batches, sizes.length)
      assert.isAtMost(refused.length, 4)
      assert.strictEqual(yield* count(HubSpotClient.retriesFor("BadRequest")), 0)
    })).pipe(Effect.provide(Simulator.layerTest({
      objects: 2000,
      maxInputs: 100,
      rateLimit: unlimited,
      onBatchRead: (inputs) => {
        sizes.push(inputs.length)
        freshBatches.push(inputs.length > 100 ? 0 : inputs.filter((i) => i.after === undefined).length)
      }
    })))
  })

  it.live("one input refused with a 400 fails the stream with HubSpot's message", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids(from)
      const items: Array<BatchRead.Item> = [
        ...ids.slice(0, 30).map((id, key): BatchRead.Item => ({ key, id: ObjectId.unsafeMake(id) })),
        { key: 30, id: ObjectId.unsafeMake(ids[30]!), after: "not-a-cursor" },
        ...ids.slice(31, 60).map((id, i): BatchRead.Item => ({ key: 31 + i, id: ObjectId.unsafeMake(id) }))
      ]
      const e = yield* Stream.fromIterable(items).pipe(
        BatchRead.make({ from, to, concurrency: 1 }),
        Stream.runDrain,
        Effect.flip
      )
      assert.instanceOf(e, HubSpotError.HubSpotError)
      assert.strictEqual(e.reason, "BadRequest")
      assert.include(e.message, `Invalid paging cursor for id ${ids[30]}`)
      assert.include(e.message, "1 inputs (1 with a cursor)")
      assert.strictEqual(yield* count(HubSpotClient.retriesFor("BadRequest")), 0)
    })).pipe(Effect.provide(Simulator.layerTest({ objects: 100, rateLimit: unlimited }))))

  it.scopedLive("ids listed through the API go out in full batches: a partial one only when the listing ends", () =>
    counted(Effect.gen(function*() {
      const minimum = yield* exportListed
      const batches = yield* count(BatchRead.metrics.batches)
      // Listing 1000 ids takes 10 requests of 20-40 ms: a partial batch flushed meanwhile was a request lost.
      assert.isAtMost(batches, Math.floor(1.05 * minimum))
    })).pipe(Effect.provide(Layer.merge(
      Simulator.layerTest({ objects: 6000, latencyMillis: [20, 40], rateLimit: unlimited }),
      NodeContext.layer
    ))))

  it.live("heavy tails (2% of ids with 1000-3000 associations, 100 a page) take at most 1.3 times the minimum", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids(from)
      const pages = yield* Stream.fromIterable(ids.map(ObjectId.unsafeMake)).pipe(
        Stream.rechunk(100),
        BatchRead.fromIds({ from, to, concurrency: 6 }),
        Stream.runCollect
      )
      const rows = Chunk.toReadonlyArray(pages).flatMap((p) => p.rows.toArray())
      const truth = SimulatedPortal.groundTruth(sim.portal, from, to).rows
      assert.strictEqual(rows.length, truth.length)
      assert.deepStrictEqual(multiset(rows), multiset(truth))
      // The chains of pages, not the inputs, make the minimum here: 30 pages for the heaviest ids.
      const minimum = minimumBatches(sim, ids, BatchRead.defaultBatchSize)
      assert.isAtLeast(yield* gauge(BatchRead.metrics.longestChain), 20)
      assert.isAbove(minimum, Math.ceil((yield* count(BatchRead.metrics.inputs)) / BatchRead.defaultBatchSize))
      // Each round of continuations waits for the requests in flight: one request a round, not one an answer.
      assert.isAtMost(yield* count(BatchRead.metrics.batches), 1.3 * minimum)
    })).pipe(Effect.provide(Simulator.layerTest({
      objects: 4000,
      shape: "heavyTail",
      pageSize: 100,
      latencyMillis: [20, 40],
      rateLimit: unlimited
    }))))

  it.live("a slow source of fewer ids than a batch is sent when it ends, in one batch", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = sim.portal.ids(from).slice(0, 30)
      const pages = yield* Stream.fromIterable(input.map(ObjectId.unsafeMake)).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.sleep("20 millis")),
        BatchRead.fromIds({ from, to }),
        Stream.runCollect
      )
      const rows = Chunk.toReadonlyArray(pages).flatMap((p) => p.rows.toArray())
      assert.deepStrictEqual(multiset(rows), multiset(SimulatedPortal.groundTruth(sim.portal, from, to, input).rows))
      // One batch when the source ended, then one a page of the longest chain.
      const longestChain = yield* gauge(BatchRead.metrics.longestChain)
      assert.strictEqual(yield* count(BatchRead.metrics.batches), Math.max(1, longestChain))
    })).pipe(Effect.provide(Simulator.layerTest({ objects: 300, pageSize: 100, rateLimit: unlimited }))))

  it.live("zero 429s when the client's limit equals the simulator's (20/2s)", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = sim.portal.ids(from).slice(0, 900)
      const { figures } = yield* exportAndCheck(input, { batchSize: 25, concurrency: 6 })
      const counters = yield* sim.counters
      assert.isAbove(figures.batches, 40)
      assert.strictEqual(counters.status429, 0)
      assert.strictEqual(figures.rateLimited, 0)
      assert.isAtMost(counters.maxInWindow, 20)
      // With latency, requests went out side by side, never more than `concurrency`.
      assert.isAtMost(counters.maxInFlight, 6)
      assert.isAbove(counters.maxInFlight, 1)
    })).pipe(Effect.provide(Simulator.layerTest(
      { objects: 900, pageSize: 100, rateLimit: { max: 20, windowMillis: 2000 }, latencyMillis: [5, 40] },
      { ...Simulator.quickClient, budget: { limit: { max: 20, windowMillis: 2000 } } }
    ))))

  it.live("slows down when another job shares the app's budget (X-HubSpot-RateLimit-Remaining)", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      yield* sim.consume(15)
      const input = sim.portal.ids(from).slice(0, 300)
      const { figures } = yield* exportAndCheck(input, { batchSize: 25, concurrency: 3 })
      assert.isAtLeast(figures.batches, 12)
      assert.strictEqual((yield* sim.counters).status429, 0)
      assert.isAtLeast(figures.phantoms, 15)
    })).pipe(Effect.provide(Simulator.layerTest(
      { objects: 300, pageSize: 500, rateLimit: { max: 20, windowMillis: 2000 } },
      { ...Simulator.quickClient, budget: { limit: { max: 20, windowMillis: 2000 } } }
    ))))

  it.live("401 fails at once with a clear message, no retry, no token in it", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const result = yield* Stream.fromIterable(sim.portal.ids(from).slice(0, 500).map(ObjectId.unsafeMake)).pipe(
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
      assert.strictEqual(yield* count(HubSpotClient.metrics.requests), 1)
      assert.strictEqual(yield* count(HubSpotClient.retriesFor("Unauthorized")), 0)
    })).pipe(
      Effect.provide(Simulator.layerTest({ objects: 500 }, { ...Simulator.quickClient, token: "wrong-secret-token" }))
    ))

  it.live("403 fails at once naming the missing scope, no retry", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const result = yield* Stream.fromIterable(sim.portal.ids(from).slice(0, 500).map(ObjectId.unsafeMake)).pipe(
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
        assert.notInclude(e.message, sim.options.token)
      }
      assert.strictEqual((yield* sim.counters).requests, 1)
      assert.strictEqual(yield* count(HubSpotClient.metrics.requests), 1)
    })).pipe(Effect.provide(Simulator.layerTest({ objects: 500, scopes: ["crm.objects.contacts.read"] }))))

  it.live("resumed cursors are sent as continuations, and a slow source is flushed by maxWait", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids(from).slice(0, 300)
      // Find an id with several pages and resume it from its second page.
      const heavy = ids.find((id) => sim.portal.associations(from, to, id).length > 120)!
      const client = yield* HubSpotClient.HubSpotClient
      const first = yield* client.batchRead(from, to, [{ id: ObjectId.unsafeMake(heavy) }])
      const after = first.results[0]!.after!
      const items: Array<BatchRead.Item> = [
        { key: 0, id: ObjectId.unsafeMake(heavy), after },
        ...ids.filter((id) => id !== heavy).slice(0, 40).map((id, i): BatchRead.Item => ({
          key: i + 1,
          id: ObjectId.unsafeMake(id)
        }))
      ]
      const pages = yield* Stream.fromIterable(items).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.sleep("30 millis")),
        BatchRead.make({ from, to, batchSize: 1000, maxWait: "100 millis" }),
        Stream.runCollect
      )
      const rows = Chunk.toReadonlyArray(pages).flatMap((p) => p.rows.toArray())
      const all = SimulatedPortal.groundTruth(sim.portal, from, to, items.map((i): string => i.id))
      const firstPage = new Set<string>(first.rows({ fromType: from, toType: to }).toArray().map((r) => r.to_object_id))
      const expected = all.rows.filter((r) => r.from_object_id !== heavy || !firstPage.has(r.to_object_id))
      assert.deepStrictEqual(multiset(rows), multiset(expected))
      // The source took over a second; partial batches went out meanwhile.
      assert.isAbove(yield* count(BatchRead.metrics.batches), 3)
      assert.isAtLeast(yield* count(BatchRead.metrics.continuations), 1)
      // Each fresh id was asked once; the resumed one went as a continuation.
      assert.strictEqual(yield* count(BatchRead.metrics.inputs), 40 + (yield* count(BatchRead.metrics.continuations)))
    })).pipe(Effect.provide(Simulator.layerTest({ objects: 300, pageSize: 100, rateLimit: unlimited }))))
})

/** The warnings logged by `effect`, and its value. */
const warnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const logged: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") logged.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    return Effect.map(
      Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger)),
      (value) => ({ value, logged: logged as ReadonlyArray<string> })
    )
  })

describe("BatchRead memory", () => {
  it.live("a budget smaller than one answer still finishes: one id a request, one at a time, and says so", () => {
    const batches: Array<{ readonly inputs: number; readonly at: number }> = []
    return counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const input = sim.portal.ids(from).slice(0, 60)
      const { logged } = yield* warnings(exportAndCheck(input, { memory: 100 }))
      assert.isAbove(batches.length, 60)
      assert.isTrue(batches.every((b) => b.inputs === 1))
      assert.strictEqual(yield* count(BatchRead.metrics.memoryOverBudget), batches.length)
      // One at a time: each request arrives after the answer before it, which takes at least 20 ms.
      for (let i = 1; i < batches.length; i++) assert.isAtLeast(batches[i]!.at - batches[i - 1]!.at, 20)
      const said = logged.filter((l) => l.includes("memory budget"))
      assert.strictEqual(said.length, 1)
      assert.include(said[0]!, "one id a request, one request at a time")
      assert.strictEqual(yield* gauge(BatchRead.metrics.memoryBudget), 100)
    })).pipe(Effect.provide(Simulator.layerTest({
      objects: 300,
      pageSize: 50,
      latencyMillis: [20, 30],
      rateLimit: unlimited,
      onBatchRead: (inputs, at) => void batches.push({ inputs: inputs.length, at })
    })))
  })

  it.live("fat answers get smaller batches and fewer in flight; light ones bring full batches back", () => {
    const sizes: Array<number> = []
    return counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids(from)
      const weight = (id: string) => sim.portal.associationPositions(from, to, id).length
      // 300 of the heaviest ids first, then 6000 of the lightest.
      const byWeight = [...ids].sort((a, b) => weight(b) - weight(a))
      const heavy = byWeight.slice(0, 300)
      const light = byWeight.slice(-6000)
      const memory = 4 * 2 ** 20
      yield* exportAndCheck([...heavy, ...light], { memory, concurrency: 6 })
      // The heavy ids went in small batches, then batches grew back to the full size for the light ones.
      const firstFull = sizes.indexOf(1000)
      assert.isAbove(firstFull, 3)
      assert.isTrue(sizes.slice(0, 4).every((n) => n < 200))
      assert.isAbove(yield* count(BatchRead.metrics.memoryBoundBatches), 3)
      // Fewer in flight: four batches of the heavy ids fill the budget, and the fifth waited for room.
      assert.isAbove(yield* count(BatchRead.metrics.memoryWaitMillis), 0)
      // What was held stayed about the budget: estimates are learned, and a surprise is one answer's.
      assert.isAtMost(yield* gauge(BatchRead.metrics.memoryPeak), 1.5 * memory)
      assert.isAbove(yield* gauge(BatchRead.metrics.memoryPeak), memory / 4)
      assert.strictEqual(yield* count(BatchRead.metrics.memoryOverBudget), 0)
    })).pipe(Effect.provide(Simulator.layerTest({
      objects: 9000,
      latencyMillis: [5, 15],
      rateLimit: unlimited,
      onBatchRead: (inputs) => void sizes.push(inputs.length)
    })))
  })

  it.live("light answers never meet the default budget: the same batches as with none", () => {
    const sizes: Array<number> = []
    return counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      yield* exportAndCheck(sim.portal.ids(from), {})
      assert.strictEqual(yield* count(BatchRead.metrics.memoryBoundBatches), 0)
      assert.strictEqual(yield* count(BatchRead.metrics.memoryOverBudget), 0)
      assert.strictEqual(yield* gauge(BatchRead.metrics.memoryBudget), BatchRead.defaultMemory)
      // 4000 ids and their continuations: full batches, then the tail's rounds.
      assert.deepStrictEqual(sizes.slice(0, 4), [1000, 1000, 1000, 1000])
    })).pipe(Effect.provide(Simulator.layerTest({
      objects: 4000,
      latencyMillis: [5, 15],
      rateLimit: unlimited,
      onBatchRead: (inputs) => void sizes.push(inputs.length)
    })))
  })

  it.live("the exports of one stage value share its budget, side by side, each exact", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const stage = BatchRead.stage({ memory: 2 ** 20 })
      const pairs = [{ fromType: from, toType: to }, { fromType: ObjectType.unsafeMake("deals"), toType: to }]
      const results = yield* Effect.all(pairs.map((pair) =>
        Effect.gen(function*() {
          const sink = RowSink.memory()
          yield* Export.run({
            pair,
            source: IdSource.fromIterable(sim.portal.ids(pair.fromType).map(ObjectId.unsafeMake)),
            stage,
            sink
          })
          return { pair, rows: (yield* sink.committed).rows }
        })
      ), { concurrency: "unbounded" })
      for (const { pair, rows } of results) {
        const truth = SimulatedPortal.groundTruth(sim.portal, pair.fromType, pair.toType).rows
        assert.deepStrictEqual(multiset(rows), multiset(truth))
      }
      // Each export holding nothing may send one request beyond what is left, and an answer can outweigh the
      // estimate learned from the average: over by an answer or so each. Answers here weigh up to ~600 KB (batches aim
      // at a third of the budget, some heavier than their average), so ~2.2 × the budget is possible at worst;
      // runs hold ~1.3 ×.
      assert.isAtMost(yield* gauge(BatchRead.metrics.memoryPeak), 2.5 * 2 ** 20)
    }).pipe(
      counted,
      Effect.provide(Layer.merge(Simulator.layerTest({ objects: 1500, rateLimit: unlimited }), NodeContext.layer))
    ))

  it("splitPage: pages of at most the rows asked, in order, an id's rows and items together", () => {
    const row = (fromId: string, toId: number): AssociationRow.AssociationRow => ({
      from_object_type: from,
      from_object_id: fromId,
      to_object_type: to,
      to_object_id: String(toId),
      association_category: "HUBSPOT_DEFINED",
      association_type_id: 1,
      association_label: null
    })
    const counts: ReadonlyArray<readonly [string, number]> = [["1", 3], ["2", 4], ["3", 1], ["4", 6], ["5", 2]]
    const rows = RowBatch.fromRows(counts.flatMap(([id, n]) => Array.from({ length: n }, (_, k) => row(id, k))))
    const item = (key: number, id: string, after?: string): BatchRead.Item =>
      after === undefined ? { key, id: ObjectId.unsafeMake(id) } : { key, id: ObjectId.unsafeMake(id), after }
    const page: BatchRead.Page = {
      rows,
      errors: [ErrorRow.invalidInput({ fromType: from, toType: to }, "7", "gone")],
      done: [item(0, "1"), item(2, "3"), item(3, "4"), item(6, "6"), item(7, "7")],
      next: [item(1, "2", "c2"), item(4, "5", "c5")]
    }
    assert.deepStrictEqual(BatchRead.splitPage(page, 16), [page])
    const pages = BatchRead.splitPage(page, 7)
    // [1, 2] 7 rows, [3, 4]: 7, [5]: 2.
    assert.deepStrictEqual(pages.map((p) => p.rows.groups.map((g) => g.fromId)), [["1", "2"], ["3", "4"], ["5"]])
    assert.deepStrictEqual(pages.flatMap((p) => p.rows.toArray()), rows.toArray())
    assert.deepStrictEqual(pages.map((p) => p.done.map((i) => i.key)), [[0, 6, 7], [2, 3], []])
    assert.deepStrictEqual(pages.map((p) => p.next.map((i) => i.key)), [[1], [], [4]])
    assert.deepStrictEqual(pages.map((p) => p.errors.length), [1, 0, 0])
    // An id's rows are never split: one id over the limit makes a page of its own.
    assert.deepStrictEqual(BatchRead.splitPage(page, 2).map((p) => p.rows.length), [3, 4, 1, 6, 2])
  })
})
