import { ObjectId, ObjectType } from "@assoc-etl/core"
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Config, ConfigProvider, Effect, Either, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { Flatten, HubSpotClient, HubSpotError, RequestBudget } from "../src/index.js"
import { count, counted } from "./support.js"

const from = ObjectType.unsafeMake("contacts")
const to = ObjectType.unsafeMake("companies")
const token = "pat-na1-very-secret-token"

interface Answer {
  readonly status: number
  readonly body: string
  readonly headers?: Record<string, string>
}

interface Seen {
  readonly url: string
  readonly auth: string | undefined
  readonly body: string
  /** When the request was sent (virtual millis). */
  readonly at: number
}

/** An in-process `HttpClient`: answers from `answers` in turn (the last from then on), records what it was asked. */
const double = (answers: ReadonlyArray<Answer>) => {
  const seen: Array<Seen> = []
  let n = 0
  const http = HttpClient.make((request, url) =>
    Effect.map(Clock.currentTimeMillis, (at) => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      seen.push({ url: url.toString(), auth: request.headers["authorization"], body, at })
      const answer = answers[Math.min(n++, answers.length - 1)]!
      return HttpClientResponse.fromWeb(
        request,
        new Response(answer.body, {
          status: answer.status,
          headers: { "content-type": "application/json", ...answer.headers }
        })
      )
    })
  )
  return { http, seen }
}

/**
 * Runs `effect` on virtual time: the `TestClock` moves 10 ms at a time until it is done, each step letting the
 * double's answer bodies be read, so backoff and `Retry-After` take no real time.
 */
const onVirtualTime = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    while (Option.isNone(yield* Fiber.poll(fiber))) yield* TestClock.adjust("10 millis")
    return yield* Fiber.join(fiber)
  })

/**
 * A client (the library's retry schedule unless `options` says otherwise) over a double that answers from
 * `answers`, on virtual time, with its metrics counted for this call alone.
 */
const withDouble = <A, E>(
  answers: ReadonlyArray<Answer>,
  use: (client: HubSpotClient.Service, seen: ReadonlyArray<Seen>) => Effect.Effect<A, E, HubSpotClient.HubSpotClient>,
  options: Partial<HubSpotClient.HubSpotClientOptions> = {}
) => {
  const { http, seen } = double(answers)
  return Effect.flatMap(HubSpotClient.HubSpotClient, (client) => use(client, seen)).pipe(
    Effect.provide(
      HubSpotClient.layer({ token: Redacted.make(token), baseUrl: "https://api.hubapi.com", ...options }).pipe(
        Layer.orDie,
        Layer.provide(Layer.succeed(HttpClient.HttpClient, http)),
        Layer.provide(RequestBudget.layer({ limit: { max: 1000, windowMillis: 1000 } }))
      )
    ),
    onVirtualTime,
    counted
  )
}

/** The retries counted for `reason` in this test. */
const retries = (reason: HubSpotError.Reason) => count(HubSpotClient.retriesFor(reason))

const ok = (results: string): Answer => ({ status: 200, body: `{"status":"COMPLETE","results":${results}}` })
const answer = (status: string, results: string): Answer => ({
  status: 200,
  body: `{"status":"${status}","results":${results},"startedAt":"2026-12-01T00:00:00.000Z"}`
})
/** A result of `from` id with one association. */
const result = (fromId: string) =>
  `{"from":{"id":"${fromId}"},"to":[{"toObjectId":"9",`
  + `"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null}]}]}`
const id = ObjectId.unsafeMake

describe("HubSpotClient", () => {
  it.effect("sends the bearer token and the inputs; ids beyond 2^53 sent as bare numbers keep every digit", () =>
    withDouble([
      ok(`[{"from":{"id":1},"to":[{"toObjectId":1152921504606846977,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null}]}]}]`)
    ], (client, seen) =>
      Effect.gen(function*() {
        const answer = yield* client.batchRead(from, to, [{ id: id("1") }, { id: id("2"), after: "abc%3D" }])
        assert.strictEqual(answer.rows({ fromType: from, toType: to }).toArray()[0]!.to_object_id, "1152921504606846977")
        assert.strictEqual(seen.length, 1)
        assert.strictEqual(seen[0]!.url, "https://api.hubapi.com/crm/associations/2026-03/contacts/companies/batch/read")
        assert.strictEqual(seen[0]!.auth, `Bearer ${token}`)
        assert.deepStrictEqual(JSON.parse(seen[0]!.body), { inputs: [{ id: "1" }, { id: "2", after: "abc%3D" }] })
        assert.strictEqual(yield* count(HubSpotClient.metrics.requests), 1)
      })))

  it.effect("retries 5xx, a cut-short body and a 429 (Retry-After a floor), then succeeds; counts retries", () =>
    withDouble([
      { status: 503, body: `{"status":"error","message":"unavailable"}` },
      { status: 502, body: "<html><body>Bad Gateway</body></html>" },
      { status: 200, body: `{"status":"COMPLETE","results":[{"from":{"id":"1"},"to":[{"toObj` },
      {
        status: 429,
        body: `{"status":"error","message":"ten secondly","policyName":"TEN_SECONDLY_ROLLING"}`,
        headers: { "retry-after": "3" }
      },
      ok("[]")
    ], (client, seen) =>
      Effect.gen(function*() {
        yield* client.batchRead(from, to, [{ id: id("1") }])
        assert.strictEqual(seen.length, 5)
        assert.strictEqual(yield* count(HubSpotClient.metrics.requests), 5)
        assert.strictEqual(yield* retries("Server"), 2)
        assert.strictEqual(yield* retries("Transport"), 1)
        assert.strictEqual(yield* retries("RateLimited"), 1)
        assert.strictEqual(yield* retries("Timeout"), 0)
        assert.strictEqual(yield* count(HubSpotClient.metrics.rateLimited), 1)
        assert.strictEqual(yield* count(HubSpotClient.metrics.dailyLimited), 0)
        // The cut-short body was declined by the byte reader and parsed whole (and found cut short).
        assert.isAtLeast(yield* count(HubSpotClient.metrics.answersParsed), 1)
        // Backoff from 200 ms, doubling, jittered by ±20%; the 429's Retry-After (3 s) is longer than its
        // backoff (1.6 s ± 20%) and is obeyed, by the retry and by the budget's pause.
        const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at)
        for (const [n, gap] of gaps.slice(0, 3).entries()) {
          assert.isAtLeast(gap, 200 * 2 ** n * 0.8, `gap ${n}`)
          assert.isAtMost(gap, 200 * 2 ** n * 1.2 + 50, `gap ${n}`)
        }
        assert.isAtLeast(gaps[3]!, 3000)
        assert.isBelow(gaps[3]!, 3000 + 50)
        assert.strictEqual(yield* count(RequestBudget.metricOf(RequestBudget.metrics.pauses, "requests")), 1)
      })))

  it.effect("tells each answer's size: its Content-Length before the body is read, else the body's once read", () => {
    const body = `{"status":"COMPLETE","results":[${result("1")}]}`
    const size = new TextEncoder().encode(body).length
    return withDouble([
      // What the headers declare is told, not what comes after them.
      { status: 200, body, headers: { "content-length": String(size + 100) } },
      { status: 200, body }
    ], (client) =>
      Effect.gen(function*() {
        const told: Array<number> = []
        const onAnswerSize = (bytes: number) => Effect.sync(() => void told.push(bytes))
        const first = yield* client.batchRead(from, to, [{ id: id("1") }], { onAnswerSize })
        assert.deepStrictEqual(told, [size + 100])
        const second = yield* client.batchRead(from, to, [{ id: id("1") }], { onAnswerSize })
        assert.deepStrictEqual(told, [size + 100, size])
        for (const answer of [first, second]) {
          const rows = answer.rows({ fromType: from, toType: to }).toArray()
          assert.deepStrictEqual(rows.map((r) => r.to_object_id), ["9"])
        }
      }))
  })

  it.effect("gives up after maxRetries", () =>
    withDouble([{ status: 500, body: `{"status":"error","message":"boom"}` }], (client, seen) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(client.batchRead(from, to, [{ id: id("1") }]))
        assert.strictEqual(e.reason, "Server")
        assert.strictEqual(seen.length, 4)
        assert.strictEqual(yield* count(HubSpotClient.metrics.requests), 4)
        // Four attempts, three of them retries: the last failure is not retried, so not counted as a retry.
        assert.strictEqual(yield* retries("Server"), 3)
        assert.include(e.message, "POST /crm/associations/2026-03/contacts/companies/batch/read answered 500")
        // Three retries, backed off by 200, 400 and 800 ms (± 20%).
        const elapsed = seen[3]!.at - seen[0]!.at
        assert.isAtLeast(elapsed, 1400 * 0.8)
        assert.isAtMost(elapsed, 1400 * 1.2 + 50)
      }), { maxRetries: 3 }))

  it.effect("an answer not COMPLETE is retried like a 5xx, counted by status, and never returned", () =>
    withDouble([
      answer("CANCELED", `[${result("1")}]`),
      answer("PROCESSING", "[]"),
      answer("PENDING", `[${result("1")}]`),
      answer("FAILED", `[${result("1")}]`),
      ok(`[${result("1")},${result("2")}]`)
    ], (client, seen) =>
      Effect.gen(function*() {
        const got = yield* client.batchRead(from, to, [{ id: id("1") }, { id: id("2") }])
        assert.strictEqual(got.status, "COMPLETE")
        assert.deepStrictEqual(got.results.map((r) => r.fromId), ["1", "2"])
        assert.strictEqual(seen.length, 5)
        assert.strictEqual(yield* retries("Incomplete"), 4)
        assert.strictEqual(yield* retries("Server"), 0)
        for (const flaw of ["CANCELED", "PROCESSING", "PENDING", "OTHER_STATUS"] as const) {
          assert.strictEqual(yield* count(HubSpotClient.incompleteFor(flaw)), 1, flaw)
        }
        // The 5xx schedule: backoff from 200 ms, doubling, ± 20%.
        const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at)
        for (const [n, gap] of gaps.entries()) {
          assert.isAtLeast(gap, 200 * 2 ** n * 0.8, `gap ${n}`)
          assert.isAtMost(gap, 200 * 2 ** n * 1.2 + 50, `gap ${n}`)
        }
      })))

  it.effect("an answer with no status (older versions) is complete", () =>
    withDouble([{ status: 200, body: `{"results":[${result("1")}]}` }], (client, seen) =>
      Effect.gen(function*() {
        const got = yield* client.batchRead(from, to, [{ id: id("1") }])
        assert.isUndefined(got.status)
        assert.strictEqual(got.rows({ fromType: from, toType: to }).length, 1)
        assert.strictEqual(seen.length, 1)
      })))

  it.effect("every answer CANCELED: fails after maxRetries as Incomplete, naming the status", () =>
    withDouble([answer("CANCELED", `[${result("1")}]`)], (client, seen) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(client.batchRead(from, to, [{ id: id("1") }, { id: id("2") }]))
        assert.strictEqual(e.reason, "Incomplete")
        assert.isTrue(HubSpotError.isRetryable(e))
        assert.strictEqual(seen.length, 3)
        assert.strictEqual(yield* retries("Incomplete"), 2)
        assert.strictEqual(yield* count(HubSpotClient.incompleteFor("CANCELED")), 3)
        assert.include(e.message, "POST /crm/associations/2026-03/contacts/companies/batch/read answered 200")
        assert.include(e.message, "status is CANCELED, not COMPLETE (1 result for 2 inputs)")
      }), { maxRetries: 2 }))

  it.effect("an answer naming an id not asked, or a from id twice, is refused and retried the same way", () =>
    withDouble([
      ok(`[${result("1")},${result("3")}]`),
      ok(`[${result("1")},${result("1")}]`),
      // A 207 whose errors name the other id: complete, and for what was asked.
      {
        status: 207,
        body: `{"status":"COMPLETE","results":[${result("1")}],"numErrors":1,"errors":[{"status":"error",`
          + `"category":"OBJECT_NOT_FOUND","message":"no","context":{"fromObjectId":["2"]}}]}`
      }
    ], (client, seen) =>
      Effect.gen(function*() {
        const got = yield* client.batchRead(from, to, [{ id: id("1") }, { id: id("2") }])
        assert.deepStrictEqual(got.results.map((r) => r.fromId), ["1"])
        assert.strictEqual(got.errors.length, 1)
        assert.strictEqual(seen.length, 3)
        assert.strictEqual(yield* retries("Incomplete"), 2)
        assert.strictEqual(yield* count(HubSpotClient.incompleteFor("UNASKED_ID")), 1)
        assert.strictEqual(yield* count(HubSpotClient.incompleteFor("REPEATED_ID")), 1)
      })))

  it.effect("the daily limit stops at once and says a rerun tomorrow resumes", () =>
    withDouble([{
      status: 429,
      body: `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}`,
      headers: { "retry-after": "3600" }
    }], (client, seen) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(client.batchRead(from, to, [{ id: id("1") }]))
        assert.strictEqual(e.reason, "DailyLimit")
        assert.strictEqual(seen.length, 1)
        assert.include(e.message, "daily request limit is spent")
        assert.include(e.message, "tomorrow")
        assert.strictEqual(yield* count(HubSpotClient.metrics.dailyLimited), 1)
        assert.strictEqual(yield* count(HubSpotClient.metrics.rateLimited), 0)
        assert.strictEqual(yield* retries("DailyLimit"), 0)
      })))

  it.effect("a 400 gives the request's shape, not a huge body verbatim, and is not retried", () =>
    withDouble([{
      status: 400,
      body: JSON.stringify({ status: "error", category: "VALIDATION_ERROR", message: `Too many inputs ${"x".repeat(5000)}` })
    }], (client, seen) =>
      Effect.gen(function*() {
        const inputs = Array.from({ length: 1001 }, (_, i) => ({ id: id(String(i + 1)) }))
        const e = yield* Effect.flip(client.batchRead(from, to, inputs))
        assert.strictEqual(e.reason, "BadRequest")
        assert.strictEqual(e.category, "VALIDATION_ERROR")
        assert.isTrue(HubSpotError.isValidationError(e))
        assert.strictEqual(seen.length, 1)
        assert.include(e.message, "1001 inputs")
        assert.isBelow(e.message.length, 600)
        assert.notInclude(e.message, token)
      })))

  it.effect("an answer of the wrong shape is a Decode error, not retried", () =>
    withDouble([{ status: 200, body: `{"status":"COMPLETE","results":[{"from":{"id":"12a"},"to":[]}]}` }], (client, seen) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(client.batchRead(from, to, [{ id: id("1") }]))
        assert.strictEqual(e.reason, "Decode")
        assert.strictEqual(seen.length, 1)
      })))

  it.effect("list and search go to their paths with their parameters", () =>
    withDouble([
      { status: 200, body: `{"results":[{"id":"5","properties":{}}],"paging":{"next":{"after":"6"}}}` },
      { status: 200, body: `{"total":1,"results":[{"id":"5","properties":{"hs_lastmodifieddate":"1"}}]}` }
    ], (client, seen) =>
      Effect.gen(function*() {
        const list = yield* client.listObjects(from, { limit: 100, after: "5" })
        assert.strictEqual(list.paging?.next?.after, "6")
        assert.strictEqual(seen[0]!.url, "https://api.hubapi.com/crm/objects/2026-03/contacts?limit=100&after=5")
        const found = yield* client.search(from, { filterGroups: [], limit: 200 })
        assert.strictEqual(found.total, 1)
        assert.strictEqual(seen[1]!.url, "https://api.hubapi.com/crm/v3/objects/contacts/search")
      })))

  it.effect("a 429 of the search limit pauses searches only; one of the app's ten-second limit pauses all", () => {
    const refused = (policyName: string): Answer => ({
      status: 429,
      body: `{"status":"error","message":"limit","category":"RATE_LIMITS","policyName":"${policyName}"}`,
      headers: { "retry-after": "1" }
    })
    const found: Answer = { status: 200, body: `{"total":0,"results":[]}` }
    const pauses = (name: string) => count(RequestBudget.metricOf(RequestBudget.metrics.pauses, name))
    const pausesAfter = (answer: Answer) =>
      withDouble([answer, found], (client, seen) =>
        Effect.gen(function*() {
          yield* client.search(from, { filterGroups: [], limit: 200 })
          assert.strictEqual(seen.length, 2)
          assert.isAtLeast(seen[1]!.at - seen[0]!.at, 1000)
          return { requests: yield* pauses("requests"), search: yield* pauses("search") }
        }))
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* pausesAfter(refused("SECONDLY")), { requests: 0, search: 1 })
      assert.deepStrictEqual(yield* pausesAfter(refused("TEN_SECONDLY_ROLLING")), { requests: 1, search: 0 })
    })
  })

  it.effect("a request that got no answer (a broken connection) lets the budget's next probe go at once", () => {
    const sent: Array<number> = []
    const http = HttpClient.make((request) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        sent.push(at)
        return sent.length === 1
          ? Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("ECONNRESET") })
          )
          : Effect.succeed(HttpClientResponse.fromWeb(request, new Response(`{"status":"COMPLETE","results":[]}`)))
      })
    )
    return Effect.gen(function*() {
      const client = yield* HubSpotClient.HubSpotClient
      yield* client.batchRead(from, to, [{ id: id("1") }])
      // The retry's backoff (200 ms ± 20%), not the 1050 ms a probe never reported holds the next one.
      assert.strictEqual(sent.length, 2)
      assert.isAtMost(sent[1]! - sent[0]!, 250)
      assert.strictEqual(yield* retries("Transport"), 1)
    }).pipe(
      Effect.provide(HubSpotClient.layer({ token: Redacted.make(token), baseUrl: "https://api.hubapi.com" }).pipe(
        Layer.orDie,
        Layer.provide(Layer.succeed(HttpClient.HttpClient, http)),
        Layer.provide(RequestBudget.layer({ limit: { max: 1000, windowMillis: 1000 } }))
      )),
      onVirtualTime,
      counted
    )
  })

  it.live("accountDetails reads the portal behind the token, through the budget", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const client = yield* HubSpotClient.HubSpotClient
      const details = yield* client.accountDetails
      assert.strictEqual(details.portalId, 4_242_4242)
      assert.strictEqual(details.timeZone, "US/Eastern")
      assert.strictEqual((yield* sim.counters).accountInfoRequests, 1)
      assert.strictEqual(yield* count(RequestBudget.metricOf(RequestBudget.metrics.starts, "requests")), 1)
      // The older path, for the v4 family.
      const v4Client = HubSpotClient.make({ token: Redacted.make(sim.options.token), baseUrl: sim.baseUrl, apiVersion: "v4" })
      const v4 = yield* v4Client.pipe(
        Effect.flatMap((c) => c.accountDetails),
        Effect.provide(NodeHttpClient.layerUndici)
      )
      assert.strictEqual(v4.portalId, 4_242_4242)
      assert.strictEqual((yield* sim.counters).accountInfoRequests, 2)
    })).pipe(Effect.provide(Simulator.layerTest({ portalId: 4_242_4242 }))))

  it.live("accountDetails with a refused token fails at once as Unauthorized", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const e = yield* Effect.flip((yield* HubSpotClient.HubSpotClient).accountDetails)
      assert.strictEqual(e.reason, "Unauthorized")
      assert.include(e.message, "GET /account-info/2026-03/details answered 401")
      assert.strictEqual((yield* sim.counters).requests, 1)
    })).pipe(Effect.provide(Simulator.layerTest({}, { ...Simulator.quickClient, token: "not-the-token" }))))

  it.effect("accountDetails without a portalId is a Decode error", () =>
    withDouble([{ status: 200, body: `{"timeZone":"US/Eastern"}` }], (client, seen) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(client.accountDetails)
        assert.strictEqual(e.reason, "Decode")
        assert.include(e.message, "portalId")
        assert.strictEqual(seen[0]!.url, "https://api.hubapi.com/account-info/2026-03/details")
      })))

  it.effect("origin is the portal; a token that may not read account details (403) exports unbound", () =>
    Effect.gen(function*() {
      const bound = yield* withDouble([{ status: 200, body: `{"portalId":4242}` }], () => HubSpotClient.origin)
      assert.deepStrictEqual(bound, { kind: "hubspot-portal", key: "4242", description: "HubSpot portal 4242" })
      const forbidden = {
        status: 403,
        body: `{"status":"error","message":"This app hasn't been granted all required scopes","category":"MISSING_SCOPES"}`
      }
      assert.isUndefined(yield* withDouble([forbidden], () => HubSpotClient.origin))
      const refused = yield* Effect.flip(withDouble([{ status: 401, body: "{}" }], () => HubSpotClient.origin))
      assert.strictEqual(refused.reason, "Unauthorized")
    }))

  it("refuses plain http:// unless the host is loopback", () => {
    const check = (url: string) => Effect.runSync(Effect.either(HubSpotClient.checkBaseUrl(url)))
    for (const good of ["https://api.hubapi.com", "http://127.0.0.1:8080", "http://127.3.4.5", "http://localhost:1", "http://[::1]:9"]) {
      assert.isTrue(Either.isRight(check(good)), good)
    }
    for (const bad of ["http://api.hubapi.com", "http://10.0.0.1", "http://127.0.0.1.evil.com", "ftp://x"]) {
      const result = check(bad)
      assert.isTrue(Either.isLeft(result), bad)
    }
    const refused = check("http://user:pw@api.example.com/")
    assert.isTrue(Either.isLeft(refused))
    if (Either.isLeft(refused)) {
      assert.include(refused.left.message, "refusing plain http://")
      assert.include(refused.left.message, "loopback")
      assert.notInclude(refused.left.message, "pw")
    }
  })

  it.effect("layerConfig reads HUBSPOT_ACCESS_TOKEN and refuses an insecure HUBSPOT_BASE_URL", () =>
    Effect.gen(function*() {
      const provide = (env: Record<string, string>) =>
        Effect.flip(Effect.provide(
          HubSpotClient.HubSpotClient,
          HubSpotClient.layerConfig().pipe(
            Layer.provide(Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.die("unused")))),
            Layer.provide(RequestBudget.layer()),
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
          )
        ))
      const insecure = yield* provide({ HUBSPOT_ACCESS_TOKEN: token, HUBSPOT_BASE_URL: "http://example.com" })
      assert.include(insecure.message, "refusing plain http://")
      const missing = yield* provide({})
      assert.include(String(missing), "HUBSPOT_ACCESS_TOKEN")
    }))

  it.effect("layerConfig takes each option as a Config", () =>
    Effect.gen(function*() {
      const { http, seen } = double([{ status: 500, body: `{"status":"error","message":"boom"}` }])
      const layer = HubSpotClient.layerConfig({
        token: Config.succeed(Redacted.make(token)),
        baseUrl: Config.succeed("https://eu1.api.hubapi.com/"),
        maxRetries: Config.integer("RETRIES"),
        retryBase: Config.succeed("1 second")
      }).pipe(
        Layer.provide(Layer.succeed(HttpClient.HttpClient, http)),
        Layer.provide(RequestBudget.layer()),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["RETRIES", "2"]]))))
      )
      const e = yield* HubSpotClient.HubSpotClient.pipe(
        Effect.flatMap((client) => Effect.flip(client.batchRead(from, to, [{ id: id("1") }]))),
        Effect.provide(layer),
        onVirtualTime
      )
      assert.strictEqual(e.reason, "Server")
      assert.strictEqual(seen.length, 3)
      assert.strictEqual(
        seen[0]!.url,
        "https://eu1.api.hubapi.com/crm/associations/2026-03/contacts/companies/batch/read"
      )
      assert.strictEqual(seen[0]!.auth, `Bearer ${token}`)
      assert.isAtLeast(seen[1]!.at - seen[0]!.at, 800)
    }))
})

describe("HubSpotClient labels", () => {
  const catalogue = `{"results":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null},`
    + `{"category":"USER_DEFINED","typeId":36},{"category":"WORK","typeId":40,"label":"Manager","extra":1}]}`

  it.effect("reads the pair's catalogue on the path of its version, a missing label as null", () =>
    Effect.gen(function*() {
      const paths: Record<HubSpotClient.ApiVersion, string> = {
        "2026-03": "/crm/associations/2026-03/contacts/companies/labels",
        "2026-09": "/crm/associations/2026-09/contacts/companies/labels",
        v4: "/crm/v4/associations/contacts/companies/labels"
      }
      for (const apiVersion of HubSpotClient.ApiVersion.literals) {
        yield* withDouble([{ status: 200, body: catalogue }], (client, seen) =>
          Effect.gen(function*() {
            const labels = yield* client.labels(from, to)
            assert.deepStrictEqual(labels, [
              { category: "HUBSPOT_DEFINED", typeId: 1, label: null },
              { category: "USER_DEFINED", typeId: 36, label: null },
              { category: "WORK", typeId: 40, label: "Manager" }
            ])
            assert.strictEqual(seen[0]!.url, `https://api.hubapi.com${paths[apiVersion]}`)
            assert.strictEqual(seen[0]!.auth, `Bearer ${token}`)
            assert.strictEqual(yield* count(HubSpotClient.metrics.requests), 1)
          }), { apiVersion })
      }
    }))

  it.effect("a catalogue of the wrong shape is a Decode error; a 5xx is retried; a 400 is not", () =>
    Effect.gen(function*() {
      const bad = [`{"results":[{"category":"","typeId":1}]}`, `{"results":[{"category":"X","typeId":2147483648}]}`, `{}`]
      for (const body of bad) {
        yield* withDouble([{ status: 200, body }], (client, seen) =>
          Effect.gen(function*() {
            const e = yield* Effect.flip(client.labels(from, to))
            assert.strictEqual(e.reason, "Decode", body)
            assert.include(e.message, "GET /crm/associations/2026-03/contacts/companies/labels")
            assert.strictEqual(seen.length, 1)
          }))
      }
      yield* withDouble([{ status: 503, body: "{}" }, { status: 200, body: catalogue }], (client, seen) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* client.labels(from, to)).length, 3)
          assert.strictEqual(seen.length, 2)
          assert.strictEqual(yield* retries("Server"), 1)
        }))
      yield* withDouble([{
        status: 400,
        body: `{"status":"error","message":"Unable to infer object type from: widgets","category":"VALIDATION_ERROR"}`
      }], (client, seen) =>
        Effect.gen(function*() {
          const e = yield* Effect.flip(client.labels(from, ObjectType.unsafeMake("widgets")))
          assert.strictEqual(e.reason, "BadRequest")
          assert.strictEqual(e.category, "VALIDATION_ERROR")
          assert.include(e.message, "the labels catalogue; HubSpot says: Unable to infer object type from: widgets")
          assert.strictEqual(seen.length, 1)
        }))
    }))

  it.live("against the simulator: every type defined, labels no association uses yet included, on each version", () =>
    counted(Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const truth = SimulatedPortal.groundTruth(sim.portal, from, to)
      const key = (category: string, typeId: number, label: string | null) => `${category}/${typeId}/${label}`
      const used = new Set(
        truth.rows.map((r) => key(r.association_category, r.association_type_id, r.association_label))
      )
      const types = sim.portal.associationTypes(from, to)
      // A client of each version, with a transport of its own, open while it is used.
      const read = (apiVersion: HubSpotClient.ApiVersion) =>
        Effect.flatMap(
          HubSpotClient.make({ token: Redacted.make(sim.options.token), baseUrl: sim.baseUrl, apiVersion }),
          (client) => Effect.all([client.labels(from, to), client.labels(to, from)])
        ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      for (const apiVersion of HubSpotClient.ApiVersion.literals) {
        const [labels, back] = yield* read(apiVersion)
        // The pair's types, as its associations carry them, then those none carries.
        assert.deepStrictEqual(labels.slice(0, types.length), [...types])
        const unused = labels.filter((l) => !used.has(key(l.category, l.typeId, l.label)))
        assert.deepStrictEqual(unused.map((l) => [l.category, l.label]), [
          ["USER_DEFINED", "Former employee"],
          ["INTEGRATOR_DEFINED", "Synced partner"]
        ])
        assert.deepStrictEqual(unused, labels.slice(types.length))
        assert.strictEqual(new Set(labels.map((l) => l.typeId)).size, labels.length)
        // Every type a row carries is in the catalogue, the one without a label as null.
        assert.strictEqual(used.size, types.length)
        assert.isTrue(labels.some((l) => l.label === null))
        // The other direction has a catalogue of its own.
        assert.notDeepEqual(back.map((l) => l.typeId), labels.map((l) => l.typeId))
      }
      const counters = yield* sim.counters
      assert.strictEqual(counters.labelsRequests, 6)
      assert.strictEqual(counters.requests, 6)
      assert.strictEqual(yield* count(HubSpotClient.metrics.requests), 6)
      // An unknown type is refused as the other calls refuse it.
      const client = yield* HubSpotClient.HubSpotClient
      const e = yield* Effect.flip(client.labels(from, ObjectType.unsafeMake("widgets")))
      assert.strictEqual(e.reason, "BadRequest")
      assert.strictEqual(e.status, 400)
      assert.strictEqual((yield* sim.counters).labelsRequests, 6)
    })).pipe(Effect.provide(Simulator.layerTest({ objects: 300 }))))

  it.live("with workCategory, the catalogue and the rows carry category WORK as it is", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const client = yield* HubSpotClient.HubSpotClient
      const labels = yield* client.labels(from, to)
      const work = labels.filter((l) => l.category === "WORK")
      assert.strictEqual(work.length, 3)
      const truth = SimulatedPortal.groundTruth(sim.portal, from, to)
      assert.isTrue(truth.rows.some((r) => r.association_category === "WORK"))
      for (const r of truth.rows) {
        assert.isTrue(labels.some((l) =>
          l.category === r.association_category && l.typeId === r.association_type_id && l.label === r.association_label
        ))
      }
    }).pipe(Effect.provide(Simulator.layerTest({ objects: 200, workCategory: true }))))
})

describe("HubSpotClient versions", () => {
  const refusal = `{"status":"error","category":"OBJECT_NOT_FOUND","subCategory":"crm.associations.FROM_OBJECT_NOT_FOUND",`
    + `"message":"No contacts found with ids: 2","context":{"fromObjectId":["2"]}}`
  const empty = `{"status":"error","category":"OBJECT_NOT_FOUND","subCategory":"crm.associations.NO_ASSOCIATIONS_FOUND",`
    + `"message":"No company is associated with contact 3.","context":{"fromObjectId":["3"]}}`
  const partial = `{"status":"COMPLETE","results":[${result("1")}],"numErrors":2,"errors":[${refusal},${empty}]}`

  it.effect("2026-09 calls its own paths; its 200 with errors[] reads as the same 207 would", () =>
    withDouble([
      { status: 200, body: partial },
      { status: 207, body: partial },
      { status: 200, body: `{"results":[]}` },
      { status: 200, body: `{"portalId":7}` }
    ], (client, seen) =>
      Effect.gen(function*() {
        const pair = { fromType: from, toType: to }
        const inputs = [{ id: id("1") }, { id: id("2") }, { id: id("3") }]
        const in200 = yield* client.batchRead(from, to, inputs)
        const in207 = yield* client.batchRead(from, to, inputs)
        assert.deepStrictEqual(in200.errors, in207.errors)
        assert.deepStrictEqual(in200.results, in207.results)
        assert.deepStrictEqual(in200.rows(pair).toArray(), in207.rows(pair).toArray())
        assert.strictEqual(in200.rows(pair).length, 1)
        // Refused: the unknown id; the id without associations is zero rows, not a refusal.
        const refused = in200.errors.flatMap((e) => Flatten.errorRows(pair, e))
        assert.deepStrictEqual(refused.map((r) => r.object_id), ["2"])
        assert.deepStrictEqual(in207.errors.flatMap((e) => Flatten.errorRows(pair, e)), refused)
        yield* client.listObjects(from, { limit: 10 })
        yield* client.accountDetails
        assert.deepStrictEqual(seen.map((s) => s.url), [
          "https://api.hubapi.com/crm/associations/2026-09/contacts/companies/batch/read",
          "https://api.hubapi.com/crm/associations/2026-09/contacts/companies/batch/read",
          "https://api.hubapi.com/crm/objects/2026-09/contacts?limit=10",
          "https://api.hubapi.com/account-info/2026-09/details"
        ])
        assert.strictEqual(yield* count(HubSpotClient.metrics.answersParsed), 0)
      }), { apiVersion: "2026-09" }))

  it.effect("an id beyond 2^53 sent as a bare number keeps every digit on the reference path too", () =>
    // An escaped key makes the byte reader decline: the body is parsed whole, bare ids quoted first.
    withDouble([ok(
      `[{"from":{"id":9007199254740993},"to":[{"toObjectId":18446744073709551615,"toObjectTypeId":"0-2",`
        + `"associationTypes":[{"category":"WORK","typeId":7,"label":"Manager"}]}],"fromObjectTypeId":"0-1","\\u0078":1}]`
    )], (client) =>
      Effect.gen(function*() {
        const got = yield* client.batchRead(from, to, [{ id: id("9007199254740993") }])
        assert.strictEqual(yield* count(HubSpotClient.metrics.answersParsed), 1)
        const rows = got.rows({ fromType: from, toType: to }).toArray()
        assert.deepStrictEqual(rows.map((r) => [r.from_object_id, r.to_object_id, r.association_category]), [
          ["9007199254740993", "18446744073709551615", "WORK"]
        ])
      })))
})
