import { ObjectId, ObjectType } from "@assoc-etl/core"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Redacted } from "effect"
import { HubSpotClient, RequestBudget } from "../src/index.js"

const from = ObjectType.unsafeMake("contacts")
const to = ObjectType.unsafeMake("companies")
const token = "pat-na1-very-secret-token"

interface Answer {
  readonly status: number
  readonly body: string
  readonly headers?: Record<string, string>
}

/** A client over a test double that answers from `answers` in turn and records what it was asked. */
const withDouble = <A, E>(
  answers: ReadonlyArray<Answer>,
  use: (client: HubSpotClient.Service, seen: Array<{ url: string; auth: string | undefined; body: string }>) =>
    Effect.Effect<A, E, HubSpotClient.HubSpotClient>,
  options: Partial<HubSpotClient.HubSpotClientOptions> = {}
) => {
  const seen: Array<{ url: string; auth: string | undefined; body: string }> = []
  let n = 0
  const http = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      seen.push({ url: url.toString(), auth: request.headers["authorization"], body })
      const answer = answers[Math.min(n++, answers.length - 1)]!
      return HttpClientResponse.fromWeb(
        request,
        new Response(answer.body, { status: answer.status, headers: { "content-type": "application/json", ...answer.headers } })
      )
    })
  )
  return Effect.flatMap(HubSpotClient.HubSpotClient, (client) => use(client, seen)).pipe(
    Effect.provide(
      HubSpotClient.layer({
        token: Redacted.make(token),
        baseUrl: "https://api.hubapi.com",
        retryBase: "1 millis",
        retryCap: "5 millis",
        ...options
      }).pipe(
        Layer.orDie,
        Layer.provide(Layer.succeed(HttpClient.HttpClient, http)),
        Layer.provide(RequestBudget.layer({ limit: { max: 1000, windowMillis: 1000 } }))
      )
    )
  )
}

const ok = (results: string): Answer => ({ status: 200, body: `{"status":"COMPLETE","results":${results}}` })
const id = ObjectId.unsafeMake

describe("HubSpotClient", () => {
  it.live("sends the bearer token and the inputs; ids beyond 2^53 sent as bare numbers keep every digit", () =>
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
      })))

  it.live("retries 5xx, a cut-short body and a 429, then succeeds; counts retries by cause", () =>
    withDouble([
      { status: 503, body: `{"status":"error","message":"unavailable"}` },
      { status: 502, body: "<html><body>Bad Gateway</body></html>" },
      { status: 200, body: `{"status":"COMPLETE","results":[{"from":{"id":"1"},"to":[{"toObj` },
      { status: 429, body: `{"status":"error","message":"ten secondly","policyName":"TEN_SECONDLY_ROLLING"}` },
      ok("[]")
    ], (client, seen) =>
      Effect.gen(function*() {
        yield* client.batchRead(from, to, [{ id: id("1") }])
        assert.strictEqual(seen.length, 5)
        const stats = yield* client.stats
        assert.strictEqual(stats.requests, 5)
        assert.strictEqual(stats.retries.Server, 2)
        assert.strictEqual(stats.retries.Transport, 1)
        assert.strictEqual(stats.retries.RateLimited, 1)
        assert.strictEqual(stats.status429, 1)
      })))

  it.live("gives up after maxRetries", () =>
    withDouble([{ status: 500, body: `{"status":"error","message":"boom"}` }], (client, seen) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(client.batchRead(from, to, [{ id: id("1") }]))
        assert.strictEqual(e.reason, "Server")
        assert.strictEqual(seen.length, 4)
        assert.include(e.message, "POST /crm/associations/2026-03/contacts/companies/batch/read answered 500")
      }), { maxRetries: 3 }))

  it.live("the daily limit stops at once and says a rerun tomorrow resumes", () =>
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
        assert.strictEqual((yield* client.stats).status429Daily, 1)
      })))

  it.live("a 400 gives the request's shape, not a huge body verbatim, and is not retried", () =>
    withDouble([{
      status: 400,
      body: JSON.stringify({ status: "error", category: "VALIDATION_ERROR", message: `Too many inputs ${"x".repeat(5000)}` })
    }], (client, seen) =>
      Effect.gen(function*() {
        const inputs = Array.from({ length: 1001 }, (_, i) => ({ id: id(String(i + 1)) }))
        const e = yield* Effect.flip(client.batchRead(from, to, inputs))
        assert.strictEqual(e.reason, "BadRequest")
        assert.strictEqual(seen.length, 1)
        assert.include(e.message, "1001 inputs")
        assert.isBelow(e.message.length, 600)
        assert.notInclude(e.message, token)
      })))

  it.live("an answer of the wrong shape is a Decode error, not retried", () =>
    withDouble([{ status: 200, body: `{"status":"COMPLETE","results":[{"from":{"id":"12a"},"to":[]}]}` }], (client, seen) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(client.batchRead(from, to, [{ id: id("1") }]))
        assert.strictEqual(e.reason, "Decode")
        assert.strictEqual(seen.length, 1)
      })))

  it.live("list and search go to their paths with their parameters", () =>
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

  it.live("a 429 of the search limit pauses searches only; one of the app's ten-second limit pauses every request", () => {
    const refused = (policyName: string): Answer => ({
      status: 429,
      body: `{"status":"error","message":"limit","category":"RATE_LIMITS","policyName":"${policyName}"}`,
      headers: { "retry-after": "0" }
    })
    const found: Answer = { status: 200, body: `{"total":0,"results":[]}` }
    const pausesAfter = (answer: Answer) =>
      withDouble([answer, found], (client) =>
        Effect.gen(function*() {
          yield* client.search(from, { filterGroups: [], limit: 200 })
          return { requests: (yield* client.budget.requests.stats).pauses, search: (yield* client.budget.search.stats).pauses }
        }))
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* pausesAfter(refused("SECONDLY")), { requests: 0, search: 1 })
      assert.deepStrictEqual(yield* pausesAfter(refused("TEN_SECONDLY_ROLLING")), { requests: 1, search: 0 })
    })
  })

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
})
