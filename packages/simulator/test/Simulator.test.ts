import type { AssociationRow} from "@assoc-etl/core";
import { ObjectType } from "@assoc-etl/core"
import { AssociationsApi as Api, Flatten } from "@assoc-etl/hubspot"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema, TestClock } from "effect"
import { SimulatedPortal, Simulator } from "../src/index.js"

const decodeBatch = Schema.decodeUnknownSync(Api.BatchReadResponse)
const decodeError = Schema.decodeUnknownSync(Api.ErrorBody)
const decodeList = Schema.decodeUnknownSync(Api.ListObjectsResponse)
const decodeSearch = Schema.decodeUnknownSync(Api.SearchResponse)

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

interface CallOptions {
  readonly method?: string
  readonly body?: unknown
  readonly token?: string | null
}

const request = (sim: Simulator.SimulatorService, path: string, options: CallOptions = {}) =>
  Effect.tryPromise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (options.token !== null) headers["authorization"] = `Bearer ${options.token ?? "sim-token"}`
    const init: RequestInit = { method: options.method ?? (options.body === undefined ? "GET" : "POST"), headers }
    if (options.body !== undefined) init.body = typeof options.body === "string" ? options.body : JSON.stringify(options.body)
    const res = await fetch(sim.baseUrl + path, init)
    return { status: res.status, headers: res.headers, text: await res.text() }
  })

const call = (sim: Simulator.SimulatorService, path: string, options: CallOptions = {}) =>
  Effect.orDie(request(sim, path, options))

const raw = (reply: Reply) => JSON.parse(reply.text) as Record<string, unknown>

const batchPath = (from: string, to: string) => `/crm/associations/2026-03/${from}/${to}/batch/read`
const batch = (sim: Simulator.SimulatorService, inputs: ReadonlyArray<unknown>, from = "contacts", to = "companies") =>
  call(sim, batchPath(from, to), { body: { inputs } })

const pair: AssociationRow.Pair = {
  fromType: ObjectType.unsafeMake("contacts"),
  toType: ObjectType.unsafeMake("companies")
}

const rowKey = (r: AssociationRow.AssociationRow) => JSON.stringify(r)
const multiset = (rows: ReadonlyArray<AssociationRow.AssociationRow>) => rows.map(rowKey).sort()

/** A client that follows every `after` cursor until no input is pending: all the rows of `ids`. */
const walk = (sim: Simulator.SimulatorService, ids: ReadonlyArray<string>, path: string, numeric = false) =>
  Effect.gen(function*() {
    const rows: Array<AssociationRow.AssociationRow> = []
    const unknown: Array<string> = []
    let pending: Array<{ id: string; after?: string }> = ids.map((id) => ({ id }))
    let requests = 0
    let followUps = 0
    while (pending.length > 0) {
      const inputs = pending.slice(0, 1000)
      pending = pending.slice(1000)
      const reply = yield* call(sim, path, { body: { inputs } })
      requests++
      assert.include([200, 207], reply.status, reply.text.slice(0, 300))
      const answer = decodeBatch(JSON.parse(numeric ? Api.quoteBareIds(reply.text) : reply.text))
      rows.push(...Flatten.rows(pair, answer))
      for (const e of answer.errors ?? []) unknown.push(...(e.context?.["fromObjectId"] ?? []))
      for (const result of answer.results) {
        const after = result.paging?.next?.after
        if (after !== undefined) {
          followUps++
          pending.push({ id: result.from.id, after })
        }
      }
    }
    return { rows, unknown, requests, followUps }
  })

const noLimits = { rateLimit: { max: 0, windowMillis: 10_000 }, searchRateLimit: { max: 0, windowMillis: 1000 } }

describe("Simulator batch read", () => {
  it.scoped("walks every page to the exact ground truth, big ids and odd labels included", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 11, ...noLimits })
      const ids = sim.portal.ids("contacts")
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies")
      const got = yield* walk(sim, ids, batchPath("contacts", "companies"))
      assert.deepStrictEqual(got.unknown, [])
      assert.strictEqual(got.rows.length, truth.rows.length)
      assert.deepStrictEqual(multiset(got.rows), multiset(truth.rows))
      assert.isAbove(got.followUps, 10)
      assert.isTrue(got.rows.some((r) => BigInt(r.from_object_id) > 2n ** 53n))
      assert.isTrue(got.rows.some((r) => BigInt(r.to_object_id) > 2n ** 53n))
      assert.isTrue(got.rows.some((r) => r.association_label?.includes("\n") === true))
      assert.isTrue(got.rows.some((r) => r.association_label?.includes("\"") === true))
      assert.isTrue(got.rows.some((r) => r.association_label === null))
      const counters = yield* sim.counters
      assert.strictEqual(counters.batchReads, got.requests)
      assert.strictEqual(counters.inputs, ids.length + got.followUps)
    }))

  it.scoped("pages at pageSize, with URL-encoded opaque cursors, on the v4 path and with numeric ids", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 12, pageSize: 7, numericToObjectId: true, ...noLimits })
      const ids = sim.portal.ids("deals").slice(0, 300)
      const truth = SimulatedPortal.groundTruth(sim.portal, "deals", "tickets", ids)
      const heavy = ids.find((id) => sim.portal.associations("deals", "tickets", id).length > 7)!
      const first = yield* batch(sim, [{ id: heavy }], "deals", "tickets")
      assert.match(first.text, /"toObjectId":\d+/)
      const after = decodeBatch(JSON.parse(Api.quoteBareIds(first.text))).results[0]!.paging!.next!.after
      assert.match(after, /%3D$/)
      assert.strictEqual(decodeBatch(JSON.parse(Api.quoteBareIds(first.text))).results[0]!.to.length, 7)
      const localPair = { fromType: ObjectType.unsafeMake("deals"), toType: ObjectType.unsafeMake("tickets") }
      const got = yield* walk(sim, ids, "/crm/v4/associations/deals/tickets/batch/read", true)
      const rows = got.rows.map((r) => ({ ...r, from_object_type: localPair.fromType, to_object_type: localPair.toType }))
      assert.deepStrictEqual(multiset(rows), multiset(truth.rows))
    }))

  it.scoped("answers concurrent batch reads as it answers them one by one", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 13, objects: 6000, ...noLimits })
      const ids = sim.portal.ids("contacts")
      const slices = Array.from({ length: 6 }, (_, k) => ids.slice(k * 1000, k * 1000 + 1000).map((id) => ({ id })))
      const together = yield* Effect.forEach(slices, (inputs) => batch(sim, inputs), { concurrency: "unbounded" })
      const oneByOne = yield* Effect.forEach(slices, (inputs) => batch(sim, inputs))
      // The TestClock stands still: the times in the answers are equal too.
      assert.deepStrictEqual(together.map((r) => r.text), oneByOne.map((r) => r.text))
      assert.isTrue(together.every((r) => r.status === 200 && r.text.length > 100_000))
    }))

  it.scoped("refuses more than maxInputs inputs, duplicates, empty inputs and bodies that are not requests", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...noLimits })
      const ids = sim.portal.ids("contacts")
      const tooMany = yield* batch(sim, ids.slice(0, 1001).map((id) => ({ id })))
      assert.strictEqual(tooMany.status, 400)
      const tooManyBody = decodeError(JSON.parse(tooMany.text))
      assert.strictEqual(tooManyBody.category, "VALIDATION_ERROR")
      assert.include(tooManyBody.message, "1001")
      assert.strictEqual((yield* batch(sim, ids.slice(0, 1000).map((id) => ({ id })))).status, 200)

      const dup = yield* batch(sim, [{ id: ids[1] }, { id: ids[2] }, { id: ids[1] }])
      assert.strictEqual(dup.status, 400)
      const dupBody = decodeError(JSON.parse(dup.text))
      assert.include(dupBody.message, ids[1]!)
      assert.deepStrictEqual(dupBody.errors?.[0]?.context?.["ids"], [ids[1]!])

      const empty = yield* batch(sim, [])
      assert.strictEqual(empty.status, 400)
      assert.strictEqual(decodeError(JSON.parse(empty.text)).category, "VALIDATION_ERROR")
      assert.strictEqual((yield* call(sim, batchPath("contacts", "companies"), { body: "{not json" })).status, 400)
      assert.strictEqual((yield* batch(sim, [{ id: "12a" }])).status, 400)

      const small = yield* Simulator.make({ maxInputs: 100, ...noLimits })
      const overSmall = yield* batch(small, ids.slice(0, 101).map((id) => ({ id })))
      assert.strictEqual(overSmall.status, 400)
      assert.strictEqual(decodeError(JSON.parse(overSmall.text)).category, "VALIDATION_ERROR")
      assert.include(decodeError(JSON.parse(overSmall.text)).message, "at most 100 inputs, got 101")
      assert.strictEqual((yield* batch(small, ids.slice(0, 100).map((id) => ({ id })))).status, 200)
    }))

  it.scoped("answers 207 naming unknown ids, with results for the known ones only", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...noLimits })
      const ids = sim.portal.ids("contacts")
      const reply = yield* batch(sim, [{ id: ids[0] }, { id: "17" }, { id: ids[1] }, { id: "99999999999999999999" }])
      assert.strictEqual(reply.status, 207)
      const answer = decodeBatch(JSON.parse(reply.text))
      assert.deepStrictEqual(answer.results.map((r) => r.from.id), [ids[0]!, ids[1]!])
      assert.strictEqual(answer.numErrors, 1)
      assert.strictEqual(answer.errors?.[0]?.category, "OBJECT_NOT_FOUND")
      assert.deepStrictEqual(answer.errors?.[0]?.context?.["fromObjectId"], ["17", "99999999999999999999"])
      assert.strictEqual(answer.status, "COMPLETE")
      for (const field of [answer.startedAt, answer.completedAt, answer.requestedAt]) {
        assert.isFalse(Number.isNaN(Date.parse(field!)))
      }
    }))

  it.scoped("with noAssociationsFound, leaves an id without associations out of results, with an error for it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ noAssociationsFound: true, ...noLimits })
      const ids = sim.portal.ids("contacts")
      const none = ids.filter((id) => sim.portal.associations("contacts", "companies", id).length === 0)
      const some = ids.filter((id) => sim.portal.associations("contacts", "companies", id).length > 0)
      const inputs = [some[0], none[0], "17", none[1], some[1]].map((id) => ({ id }))
      const reply = yield* batch(sim, inputs)
      assert.strictEqual(reply.status, 207)
      const answer = decodeBatch(JSON.parse(reply.text))
      assert.deepStrictEqual(answer.results.map((r) => r.from.id), [some[0]!, some[1]!])
      assert.strictEqual(answer.numErrors, 3)
      const [unknown, ...empty] = answer.errors!
      assert.strictEqual(unknown!.subCategory, "crm.associations.FROM_OBJECT_NOT_FOUND")
      assert.deepStrictEqual(unknown!.context?.["fromObjectId"], ["17"])
      assert.deepStrictEqual(empty.map((e) => e.context?.["fromObjectId"]), [[none[0]!], [none[1]!]])
      for (const e of empty) {
        assert.strictEqual(e.status, "error")
        assert.strictEqual(e.category, "OBJECT_NOT_FOUND")
        assert.strictEqual(e.subCategory, Flatten.noAssociationsFound)
        assert.strictEqual(e.message, `No company is associated with contact ${e.context?.["fromObjectId"]?.[0]}.`)
        assert.deepStrictEqual(e.context?.["fromObjectType"], ["contact"])
        assert.deepStrictEqual(e.context?.["toObjectType"], ["company"])
        // The client reads it as zero rows, not a refusal.
        assert.deepStrictEqual(Flatten.errorRows(pair, e), [])
      }

      const onlyEmpty = yield* batch(sim, [{ id: none[2] }])
      assert.strictEqual(onlyEmpty.status, 207)
      assert.deepStrictEqual(decodeBatch(JSON.parse(onlyEmpty.text)).results, [])
      assert.strictEqual((yield* batch(sim, [{ id: some[0] }])).status, 200)
      assert.strictEqual((yield* sim.counters).inputs, 7)

      // Off (the default): the same inputs are results with "to": [], and only the unknown id is an error.
      const plain = yield* Simulator.make({ ...noLimits })
      const plainAnswer = decodeBatch(JSON.parse((yield* batch(plain, [{ id: none[0] }, { id: "17" }])).text))
      assert.deepStrictEqual(plainAnswer.results.map((r) => [r.from.id, r.to.length]), [[none[0]!, 0]])
      assert.strictEqual(plainAnswer.numErrors, 1)

      // Every page, cursors followed: the rows are the ground truth, the errors name exactly the empty ids.
      const paged = yield* Simulator.make({ seed: 5, pageSize: 20, noAssociationsFound: true, ...noLimits })
      const slice = paged.portal.ids("contacts").slice(0, 1500)
      const got = yield* walk(paged, slice, batchPath("contacts", "companies"))
      const truth = SimulatedPortal.groundTruth(paged.portal, "contacts", "companies", slice)
      assert.deepStrictEqual(multiset(got.rows), multiset(truth.rows))
      assert.isAbove(got.followUps, 10)
      assert.deepStrictEqual(
        [...got.unknown].sort(),
        slice.filter((id) => paged.portal.associations("contacts", "companies", id).length === 0).sort()
      )
    }))

  it.scoped("with shape heavyTail, pages through objects of 1000 to 3000 associations to the ground truth", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 21, objects: 4000, shape: "heavyTail", ...noLimits })
      assert.strictEqual(sim.portal.shape, "heavyTail")
      const all = sim.portal.ids("contacts")
      const heavy = all.filter((id) => sim.portal.associationPositions("contacts", "companies", id).length >= 1000)
      assert.isAtLeast(heavy.length, 40)
      const ids = [...heavy.slice(0, 20), ...all.slice(0, 300).filter((id) => !heavy.includes(id))]
      assert.isTrue(ids.some((id) => sim.portal.associationPositions("contacts", "companies", id).length > 2500))
      const got = yield* walk(sim, ids, batchPath("contacts", "companies"))
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
      assert.strictEqual(got.rows.length, truth.rows.length)
      assert.isTrue(multiset(got.rows).join("\n") === multiset(truth.rows).join("\n"))
      assert.isAtLeast(got.followUps, 40)
    }))

  it.scoped("refuses bad cursors: garbage, edited, or another id's", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ pageSize: 2, ...noLimits })
      const ids = sim.portal.ids("contacts")
      const heavy = ids.filter((id) => sim.portal.associations("contacts", "companies", id).length > 4)
      const first = decodeBatch(JSON.parse((yield* batch(sim, [{ id: heavy[0] }])).text))
      const after = first.results[0]!.paging!.next!.after
      assert.strictEqual((yield* batch(sim, [{ id: heavy[0], after }])).status, 200)
      assert.strictEqual((yield* batch(sim, [{ id: heavy[0], after: decodeURIComponent(after) }])).status, 200)
      for (const bad of ["abc", `x${after}`, after.replace(/^./, (c) => (c === "M" ? "N" : "M")), ""]) {
        const reply = yield* batch(sim, [{ id: heavy[0], after: bad }])
        assert.strictEqual(reply.status, 400, bad)
        assert.strictEqual(decodeError(JSON.parse(reply.text)).category, "VALIDATION_ERROR")
      }
      assert.strictEqual((yield* batch(sim, [{ id: heavy[1], after }])).status, 400)
      assert.strictEqual((yield* batch(sim, [{ id: heavy[0], after }], "contacts", "deals")).status, 400)
    }))

  it.scoped("validates object types: unknown or malformed is 400, ids of standard types are aliases", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...noLimits })
      const id = sim.portal.ids("contacts")[3]!
      assert.strictEqual((yield* batch(sim, [{ id }], "widgets", "companies")).status, 400)
      assert.strictEqual((yield* batch(sim, [{ id }], "contacts", "Comp%20anies")).status, 400)
      const alias = yield* batch(sim, [{ id }], "0-1", "0-2")
      const named = yield* batch(sim, [{ id }], "contacts", "companies")
      assert.strictEqual(alias.status, 200)
      assert.deepStrictEqual(decodeBatch(JSON.parse(alias.text)).results, decodeBatch(JSON.parse(named.text)).results)
      assert.strictEqual((yield* call(sim, "/crm/v3/nothing")).status, 404)
    }))
})

describe("Simulator account info", () => {
  const details = {
    accountType: "STANDARD",
    timeZone: "US/Eastern",
    companyCurrency: "USD",
    additionalCurrencies: [],
    utcOffset: "-05:00",
    utcOffsetMilliseconds: -18_000_000,
    uiDomain: "app.hubspot.com",
    dataHostingLocation: "na1"
  }

  it.scoped("answers the account's details on both paths, its portalId drawn from the seed unless given", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 3 })
      const current = yield* call(sim, "/account-info/2026-03/details")
      const older = yield* call(sim, "/account-info/v3/details")
      assert.strictEqual(current.status, 200)
      assert.strictEqual(older.text, current.text)
      const body = raw(current)
      assert.deepStrictEqual(body, { portalId: body["portalId"], ...details })
      assert.isTrue(Number.isInteger(body["portalId"]))
      assert.match(String(body["portalId"]), /^[1-9][0-9]{5,8}$/)
      assert.strictEqual(body["portalId"], sim.options.portalId)
      const again = yield* Simulator.make({ seed: 3 })
      assert.strictEqual(raw(yield* call(again, "/account-info/2026-03/details"))["portalId"], body["portalId"])
      const others = [1, 2, 4, 5].map((seed) => Simulator.resolveOptions({ seed }).portalId)
      assert.isFalse(others.includes(body["portalId"] as number))
      for (const id of others) assert.match(String(id), /^[1-9][0-9]{5,8}$/)

      const given = yield* Simulator.make({ portalId: 44_556_677 })
      assert.deepStrictEqual(raw(yield* call(given, "/account-info/2026-03/details")), {
        portalId: 44_556_677,
        ...details
      })
      assert.strictEqual((yield* sim.counters).accountInfoRequests, 2)
      assert.strictEqual((yield* call(sim, "/account-info/2026-03/details", { method: "POST", body: {} })).status, 404)
    }))

  it.scoped("needs the token but no scope, and counts in the rate window", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ scopes: [], rateLimit: { max: 2, windowMillis: 10_000 } })
      const path = "/account-info/2026-03/details"
      const unauthorized = yield* call(sim, path, { token: "wrong" })
      assert.strictEqual(unauthorized.status, 401)
      assert.strictEqual(raw(unauthorized)["category"], "INVALID_AUTHENTICATION")
      assert.strictEqual((yield* call(sim, path, { token: null })).status, 401)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/contacts")).status, 403)
      const ok = yield* call(sim, path)
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.headers.get("X-HubSpot-RateLimit-Remaining"), "0")
      const refused = yield* call(sim, path)
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(raw(refused)["policyName"], "TEN_SECONDLY_ROLLING")
      const counters = yield* sim.counters
      assert.strictEqual(counters.accountInfoRequests, 1)
      assert.strictEqual(counters.status429, 1)
      assert.strictEqual(counters.maxInWindow, 3)
      yield* sim.resetCounters
      assert.strictEqual((yield* sim.counters).accountInfoRequests, 0)
    }))
})

describe("Simulator auth", () => {
  it.scoped("answers 401 INVALID_AUTHENTICATION without or with a wrong bearer token", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ token: "right" })
      const id = sim.portal.ids("contacts")[0]
      for (const token of [null, "wrong"]) {
        const reply = yield* call(sim, batchPath("contacts", "companies"), { body: { inputs: [{ id }] }, token })
        assert.strictEqual(reply.status, 401)
        const body = raw(reply)
        assert.strictEqual(body["status"], "error")
        assert.strictEqual(body["category"], "INVALID_AUTHENTICATION")
        assert.match(String(body["message"]), /^Authentication credentials not found/)
        assert.isString(body["correlationId"])
      }
      const ok = yield* call(sim, batchPath("contacts", "companies"), { body: { inputs: [{ id }] }, token: "right" })
      assert.strictEqual(ok.status, 200)
    }))

  it.scoped("answers 403 MISSING_SCOPES naming the scopes the call lacks", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({
        types: ["contacts", "companies", "2-12345"],
        scopes: ["crm.objects.contacts.read"]
      })
      const id = sim.portal.ids("contacts")[0]
      const reply = yield* batch(sim, [{ id }])
      assert.strictEqual(reply.status, 403)
      const body = decodeError(JSON.parse(reply.text))
      assert.strictEqual(body.category, "MISSING_SCOPES")
      assert.match(body.message, /^This app hasn't been granted all required scopes to make this call/)
      assert.strictEqual(body.errors?.[0]?.message, "One or more of the following scopes are required.")
      assert.deepStrictEqual(Api.missingScopes(body), ["crm.objects.companies.read"])
      const custom = decodeError(JSON.parse((yield* batch(sim, [{ id }], "contacts", "2-12345")).text))
      assert.deepStrictEqual(Api.missingScopes(custom), ["crm.objects.custom.read"])
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/companies")).status, 403)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/contacts")).status, 200)
    }))
})

describe("Simulator rate limits", () => {
  const rateHeaders = (reply: Reply) => ({
    max: reply.headers.get("X-HubSpot-RateLimit-Max"),
    remaining: Number(reply.headers.get("X-HubSpot-RateLimit-Remaining")),
    interval: reply.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"),
    daily: reply.headers.get("X-HubSpot-RateLimit-Daily"),
    dailyRemaining: Number(reply.headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
  })

  it.scoped("sends the rate headers on every answer, counting down", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make()
      const id = sim.portal.ids("contacts")[0]
      const seen = []
      for (let i = 0; i < 3; i++) seen.push(rateHeaders(yield* batch(sim, [{ id }])))
      seen.push(rateHeaders(yield* call(sim, "/crm/v3/objects/contacts")))
      assert.deepStrictEqual(seen.map((h) => h.remaining), [99, 98, 97, 96])
      assert.deepStrictEqual(seen.map((h) => h.dailyRemaining), [249_999, 249_998, 249_997, 249_996])
      for (const h of seen) {
        assert.strictEqual(h.max, "100")
        assert.strictEqual(h.interval, "10000")
        assert.strictEqual(h.daily, "250000")
      }
      assert.isNotNull(rateHeaders(yield* batch(sim, [])).max)
    }))

  it.scoped("under a limit below what a client assumes, sends the window's headers on 200, 207 and 429", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rateLimit: { max: 3, windowMillis: 1000 } })
      const id = sim.portal.ids("contacts")[0]
      const replies = [
        yield* batch(sim, [{ id }]),
        yield* batch(sim, [{ id }, { id: "17" }]),
        yield* call(sim, "/account-info/2026-03/details"),
        yield* batch(sim, [{ id }])
      ]
      assert.deepStrictEqual(replies.map((r) => r.status), [200, 207, 200, 429])
      for (const reply of replies) {
        assert.strictEqual(reply.headers.get("X-HubSpot-RateLimit-Max"), "3")
        assert.strictEqual(reply.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"), "1000")
      }
      assert.deepStrictEqual(replies.map((r) => rateHeaders(r).remaining), [2, 1, 0, 0])
    }))

  it.scoped("refuses request max+1 of a rolling window with 429 TEN_SECONDLY_ROLLING, admits after it rolls", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rateLimit: { max: 3, windowMillis: 10_000 }, retryAfter: 1 })
      const id = sim.portal.ids("contacts")[0]
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* batch(sim, [{ id }])).status, 200)
      const refused = yield* batch(sim, [{ id }])
      assert.strictEqual(refused.status, 429)
      const body = raw(refused)
      assert.strictEqual(body["message"], "You have reached your ten_secondly_rolling limit.")
      assert.strictEqual(body["errorType"], "RATE_LIMIT")
      assert.strictEqual(body["policyName"], "TEN_SECONDLY_ROLLING")
      assert.isString(body["groupName"])
      assert.isString(body["correlationId"])
      assert.strictEqual(refused.headers.get("Retry-After"), "10")
      assert.strictEqual(refused.headers.get("X-HubSpot-RateLimit-Remaining"), "0")
      yield* TestClock.adjust("9999 millis")
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 429)
      yield* TestClock.adjust("1 millis")
      // The arrivals at 0 left the window; the refused one at 9999 still counts (refusals count, as at HubSpot).
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 200)
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 200)
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 429)
      const counters = yield* sim.counters
      assert.strictEqual(counters.status429, 3)
      assert.strictEqual(counters.batchReads, 5)
      assert.strictEqual(counters.maxInWindow, 5)
    }))

  it.scoped("does not count refusals when asked, and sends Retry-After only with its probability", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rateLimit: { max: 2, windowMillis: 1000 }, retryAfter: 0, countRejected: false })
      const id = sim.portal.ids("contacts")[0]
      yield* batch(sim, [{ id }])
      yield* TestClock.adjust("500 millis")
      yield* batch(sim, [{ id }])
      const refused = yield* batch(sim, [{ id }])
      assert.strictEqual(refused.status, 429)
      assert.isNull(refused.headers.get("Retry-After"))
      yield* TestClock.adjust("500 millis")
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 200)
    }))

  it.scoped("counts another app's requests in the window with consume", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rateLimit: { max: 5, windowMillis: 10_000 } })
      const id = sim.portal.ids("contacts")[0]
      yield* sim.consume(4)
      const ok = yield* batch(sim, [{ id }])
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.headers.get("X-HubSpot-RateLimit-Remaining"), "0")
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 429)
    }))

  it.scoped("refuses past the daily count with 429 DAILY until the next day", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rateLimit: { max: 100, windowMillis: 10_000, daily: 2 } })
      const id = sim.portal.ids("contacts")[0]
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 200)
      const second = yield* batch(sim, [{ id }])
      assert.strictEqual(second.headers.get("X-HubSpot-RateLimit-Daily-Remaining"), "0")
      const refused = yield* batch(sim, [{ id }])
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(raw(refused)["policyName"], "DAILY")
      assert.strictEqual(raw(refused)["errorType"], "RATE_LIMIT")
      yield* TestClock.adjust("1 days")
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 200)
      const counters = yield* sim.counters
      assert.strictEqual(counters.status429Daily, 1)
      assert.strictEqual(counters.status429, 1)
    }))

  it.scoped("limits search on its own window, and search counts in the main window", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rateLimit: { max: 4, windowMillis: 10_000 }, searchRateLimit: { max: 2, windowMillis: 1000 } })
      const body = { filterGroups: [] }
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/contacts/search", { body })).status, 200)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/contacts/search", { body })).status, 200)
      const refused = yield* call(sim, "/crm/v3/objects/contacts/search", { body })
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(raw(refused)["policyName"], "SECONDLY")
      yield* TestClock.adjust("1 seconds")
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/contacts/search", { body })).status, 200)
      // Four arrivals in the main window: a list request is the fifth.
      assert.strictEqual(raw(yield* call(sim, "/crm/v3/objects/contacts"))["policyName"], "TEN_SECONDLY_ROLLING")
    }))
})

describe("Simulator faults", () => {
  it.scoped("answers each fault kind observably and counts it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...noLimits })
      const id = sim.portal.ids("contacts")[0]
      for (const [kind, status] of [["status500", 500], ["status503", 503], ["status504", 504]] as const) {
        yield* sim.setFaults({ [kind]: 1 })
        const reply = yield* batch(sim, [{ id }])
        assert.strictEqual(reply.status, status)
        assert.strictEqual(decodeError(JSON.parse(reply.text)).status, "error")
      }
      yield* sim.setFaults({ status502: 1 })
      const gateway = yield* batch(sim, [{ id }])
      assert.strictEqual(gateway.status, 502)
      assert.match(gateway.headers.get("content-type")!, /^text\/html/)
      assert.match(gateway.text, /^<html>[\s\S]*Bad Gateway/)

      yield* sim.setFaults({ drop: 1 })
      const dropped = yield* Effect.either(request(sim, batchPath("contacts", "companies"), { body: { inputs: [{ id }] } }))
      assert.isTrue(Either.isLeft(dropped))

      yield* sim.setFaults({ truncate: 1 })
      for (const path of [batchPath("contacts", "companies"), "/crm/v3/objects/contacts"]) {
        const cut = yield* request(sim, path, path.includes("batch") ? { body: { inputs: [{ id }] } } : {}).pipe(
          Effect.either
        )
        // The client sees a 200 whose body ends mid-JSON.
        assert.isTrue(Either.isRight(cut))
        if (Either.isRight(cut)) {
          assert.strictEqual(cut.right.status, 200)
          assert.isAbove(cut.right.text.length, 0)
          assert.throws(() => JSON.parse(cut.right.text))
        }
      }

      yield* sim.setFaults(undefined)
      assert.strictEqual((yield* batch(sim, [{ id }])).status, 200)
      const counters = yield* sim.counters
      assert.deepStrictEqual(counters.faults, {
        status500: 1,
        status502: 1,
        status503: 1,
        status504: 1,
        drop: 1,
        truncate: 2,
        slow: 0
      })
      assert.strictEqual(counters.batchReads, 1)
      assert.strictEqual(counters.requests, 8)
    }))

  it.scoped("draws faults from the seed: the same seed, the same sequence", () =>
    Effect.gen(function*() {
      const statuses = (seed: number) =>
        Effect.gen(function*() {
          const sim = yield* Simulator.make({ seed, faults: { status500: 0.3, status503: 0.2 }, ...noLimits })
          const out: Array<number> = []
          for (let i = 0; i < 40; i++) out.push((yield* call(sim, "/crm/v3/objects/contacts?limit=1")).status)
          const counters = yield* sim.counters
          assert.strictEqual(counters.faults.status500, out.filter((s) => s === 500).length)
          assert.strictEqual(counters.faults.status503, out.filter((s) => s === 503).length)
          assert.strictEqual(counters.listRequests, out.filter((s) => s === 200).length)
          return out
        })
      const a = yield* statuses(5)
      assert.deepStrictEqual(yield* statuses(5), a)
      assert.isTrue(a.includes(500) && a.includes(503) && a.includes(200))
    }))

  it.scopedLive("adds latency and slow answers, counted, and measures requests in flight", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ latencyMillis: [100, 120], faults: { slow: { probability: 1, millis: 10 } }, ...noLimits })
      const replies = yield* Effect.forEach(
        Array.from({ length: 4 }, (_, i) => i),
        (i) => call(sim, `/crm/v3/objects/contacts?limit=${i + 1}`),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(replies.map((r) => r.status), [200, 200, 200, 200])
      const counters = yield* sim.counters
      assert.strictEqual(counters.faults.slow, 4)
      assert.strictEqual(counters.maxInFlight, 4)
      yield* sim.resetCounters
      const reset = yield* sim.counters
      assert.strictEqual(reset.requests, 0)
      assert.strictEqual(reset.faults.slow, 0)
      assert.strictEqual(reset.maxInFlight, 0)
    }))
})

describe("Simulator incomplete answers", () => {
  it.scoped("answers not COMPLETE with the results of a prefix of the inputs, counted, and is turned off at run time", () =>
    Effect.gen(function*() {
      const canceled = { probability: 1, statuses: ["CANCELED"] } as const
      const sim = yield* Simulator.make({ seed: 9, incomplete: canceled, ...noLimits })
      const ids = sim.portal.ids("contacts")
      const inputs = [...ids.slice(0, 40), "17", ...ids.slice(40, 80)].map((id) => ({ id }))
      const cut = yield* batch(sim, inputs)
      yield* sim.setIncomplete(undefined)
      const whole = yield* batch(sim, inputs)
      const answer = decodeBatch(JSON.parse(cut.text))
      const complete = decodeBatch(JSON.parse(whole.text))
      assert.strictEqual(answer.status, "CANCELED")
      assert.isUndefined(answer.completedAt)
      assert.isDefined(answer.startedAt)
      assert.strictEqual(complete.status, "COMPLETE")
      assert.isDefined(complete.completedAt)
      // The results are those of a prefix of the inputs, fewer than all: the rest look like ids without associations.
      const n = answer.results.length
      assert.isBelow(n, complete.results.length)
      assert.deepStrictEqual(answer.results, complete.results.slice(0, n))
      // Every known id has a result: the unknown id (the 41st input) is named when the prefix holds it.
      const named = (answer.errors ?? []).flatMap((e) => e.context?.["fromObjectId"] ?? [])
      if (n > 40) assert.deepStrictEqual(named, ["17"])
      if (n < 40) assert.deepStrictEqual(named, [])
      assert.strictEqual(cut.status, named.length > 0 ? 207 : 200)
      const counters = yield* sim.counters
      assert.deepStrictEqual(counters.incomplete, { PENDING: 0, PROCESSING: 0, CANCELED: 1 })
      assert.strictEqual(counters.batchReads, 2)
      // A cursor past the cut is still checked.
      yield* sim.setIncomplete({ probability: 1 })
      const refused = yield* batch(sim, [{ id: ids[0] }, { id: ids[1], after: "garbage" }])
      assert.strictEqual(refused.status, 400)
      // One input: no result at all.
      const one = decodeBatch(JSON.parse((yield* batch(sim, [{ id: ids[0] }])).text))
      assert.include(["PENDING", "PROCESSING", "CANCELED"], one.status)
      assert.deepStrictEqual(one.results, [])
    }))

  it.scoped("draws them from the seed, a share of the answers, each status in turn, apart from the faults", () =>
    Effect.gen(function*() {
      const statuses = (seed: number, faults: Simulator.Faults = {}) =>
        Effect.gen(function*() {
          const sim = yield* Simulator.make({ seed, incomplete: { probability: 0.3 }, faults, ...noLimits })
          const id = sim.portal.ids("contacts")[0]
          const out: Array<string> = []
          for (let i = 0; i < 60; i++) {
            const reply = yield* batch(sim, [{ id }])
            out.push(reply.status === 200 ? String(raw(reply)["status"]) : String(reply.status))
          }
          const counters = yield* sim.counters
          for (const status of ["PENDING", "PROCESSING", "CANCELED"] as const) {
            assert.strictEqual(counters.incomplete[status], out.filter((s) => s === status).length)
          }
          return out
        })
      const a = yield* statuses(3)
      assert.deepStrictEqual(yield* statuses(3), a)
      for (const status of ["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]) assert.include(a, status)
      const share = a.filter((s) => s !== "COMPLETE").length / a.length
      assert.isAbove(share, 0.1)
      assert.isBelow(share, 0.5)
      // The faults draw from their own sequence: the same 5xx as without incomplete answers.
      const faults = { status500: 0.3 }
      const failedAt = (out: ReadonlyArray<string>) => out.flatMap((s, i) => (s === "500" ? [i] : []))
      const withBoth = yield* statuses(3, faults)
      const faultsOnly = yield* Effect.gen(function*() {
        const sim = yield* Simulator.make({ seed: 3, faults, ...noLimits })
        const id = sim.portal.ids("contacts")[0]
        const out: Array<string> = []
        for (let i = 0; i < 60; i++) out.push(String((yield* batch(sim, [{ id }])).status))
        return out
      })
      assert.deepStrictEqual(failedAt(withBoth), failedAt(faultsOnly))
    }))
})

describe("Simulator control endpoints", () => {
  it.scoped("GET /__sim/counters has the counters and the arrival times; POST /__sim/counters/reset; neither counted", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 10, rateLimit: { max: 2, windowMillis: 1000 }, retryAfter: 0 })
      const list = "/crm/v3/objects/contacts?limit=1"
      assert.strictEqual((yield* call(sim, list)).status, 200)
      yield* TestClock.adjust("250 millis")
      assert.strictEqual((yield* call(sim, list)).status, 200)
      assert.strictEqual((yield* call(sim, list)).status, 429)
      assert.strictEqual((yield* call(sim, list, { token: null })).status, 401)

      const got = yield* call(sim, "/__sim/counters", { token: null })
      assert.strictEqual(got.status, 200)
      const counters = raw(got)
      assert.strictEqual(counters["requests"], 4)
      assert.strictEqual(counters["listRequests"], 2)
      assert.strictEqual(counters["status429"], 1)
      assert.strictEqual(counters["maxInWindow"], 3)
      assert.deepStrictEqual(counters["arrivals"], [0, 250, 250])
      assert.strictEqual(counters["arrivalsDropped"], 0)
      assert.deepStrictEqual({ ...counters, arrivals: undefined, arrivalsDropped: undefined }, {
        ...(yield* sim.counters),
        arrivals: undefined,
        arrivalsDropped: undefined
      })

      assert.strictEqual((yield* call(sim, "/__sim/counters/reset", { method: "POST", token: null })).status, 204)
      const reset = raw(yield* call(sim, "/__sim/counters", { token: null }))
      assert.strictEqual(reset["requests"], 0)
      assert.strictEqual(reset["status429"], 0)
      assert.deepStrictEqual(reset["arrivals"], [])
      assert.strictEqual((yield* call(sim, "/__sim/nothing", { token: null })).status, 404)
      assert.strictEqual((yield* sim.counters).requests, 0)
      // The rate window is the server's state, not a counter: the reset leaves it.
      assert.strictEqual((yield* call(sim, list)).status, 429)
    }))
})

describe("Simulator list and search", () => {
  it.scoped("lists every object in ascending id order through `after`, on both paths", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 450, ...noLimits })
      for (const base of ["/crm/v3/objects/companies", "/crm/objects/2026-03/companies"]) {
        const seen: Array<string> = []
        let after: string | undefined
        let pages = 0
        do {
          const reply = yield* call(sim, `${base}?limit=100${after === undefined ? "" : `&after=${after}`}`)
          assert.strictEqual(reply.status, 200)
          const page = decodeList(JSON.parse(reply.text))
          for (const r of page.results) {
            seen.push(r.id)
            assert.strictEqual(r.properties?.["hs_object_id"], r.id)
          }
          after = page.paging?.next?.after
          pages++
        } while (after !== undefined)
        assert.strictEqual(pages, 5)
        assert.deepStrictEqual(seen, sim.portal.ids("companies"))
      }
      const first = decodeList(JSON.parse((yield* call(sim, "/crm/v3/objects/companies")).text))
      assert.strictEqual(first.results.length, 10)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/companies?limit=101")).status, 400)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/companies?after=abc")).status, 400)
      assert.strictEqual((yield* sim.counters).listRequests, 11)
    }))

  it.scoped("contacts are searched by their own lastmodifieddate; hs_lastmodifieddate is refused for them", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...noLimits })
      const body = (property: string) => ({
        filterGroups: [{ filters: [{ propertyName: property, operator: "GTE", value: String(Date.UTC(2025, 5, 1)) }] }],
        sorts: [{ propertyName: property, direction: "ASCENDING" }],
        limit: 10
      })
      const wrong = yield* call(sim, "/crm/v3/objects/contacts/search", { body: body("hs_lastmodifieddate") })
      assert.strictEqual(wrong.status, 400)
      assert.include(wrong.text, "hs_lastmodifieddate")
      const right = yield* call(sim, "/crm/v3/objects/contacts/search", { body: body("lastmodifieddate") })
      assert.strictEqual(right.status, 200)
      const page = decodeSearch(JSON.parse(right.text))
      assert.isAbove(page.results.length, 0)
      for (const r of page.results) {
        assert.strictEqual(Date.parse(r.properties!["lastmodifieddate"]!), sim.portal.lastModified("contacts", r.id))
      }
    }))

  it.scoped("searches by hs_lastmodifieddate, sorted ascending with ties by id, paging by offset", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...noLimits })
      const ds = sim.portal
      const from = Date.UTC(2025, 2, 1)
      const to = Date.UTC(2025, 8, 1)
      const expected = ds.ids("deals")
        .filter((id) => ds.lastModified("deals", id) >= from && ds.lastModified("deals", id) < to)
        .sort((a, b) =>
          ds.lastModified("deals", a) - ds.lastModified("deals", b) || SimulatedPortal.compareObjectIds(a, b)
        )
      const search = (after?: string) => ({
        filterGroups: [{
          filters: [
            { propertyName: "hs_lastmodifieddate", operator: "GTE", value: String(from) },
            { propertyName: "hs_lastmodifieddate", operator: "LT", value: String(to) }
          ]
        }],
        sorts: [{ propertyName: "hs_lastmodifieddate", direction: "ASCENDING" }],
        properties: ["hs_object_id", "hs_lastmodifieddate"],
        limit: 200,
        ...(after === undefined ? {} : { after })
      })
      const seen: Array<string> = []
      let after: string | undefined
      do {
        const reply = yield* call(sim, "/crm/v3/objects/deals/search", { body: search(after) })
        assert.strictEqual(reply.status, 200)
        const page = decodeSearch(JSON.parse(reply.text))
        assert.strictEqual(page.total, expected.length)
        for (const r of page.results) {
          seen.push(r.id)
          assert.strictEqual(Date.parse(r.properties!["hs_lastmodifieddate"]!), ds.lastModified("deals", r.id))
        }
        after = page.paging?.next?.after
      } while (after !== undefined)
      assert.deepStrictEqual(seen, expected)
      const ties = expected.filter((id, i) =>
        i > 0 && ds.lastModified("deals", id) === ds.lastModified("deals", expected[i - 1]!)
      )
      assert.isAbove(ties.length, 0)

      const between = yield* call(sim, "/crm/v3/objects/deals/search", {
        body: {
          filterGroups: [{
            filters: [{ propertyName: "hs_lastmodifieddate", operator: "BETWEEN", value: String(from), highValue: String(to - 1) }]
          }]
        }
      })
      assert.strictEqual(decodeSearch(JSON.parse(between.text)).total, expected.length)
      const gt = decodeSearch(JSON.parse((yield* call(sim, "/crm/v3/objects/deals/search", {
        body: { filterGroups: [{ filters: [{ propertyName: "hs_lastmodifieddate", operator: "GT", value: String(to) }] }] }
      })).text))
      const lte = decodeSearch(JSON.parse((yield* call(sim, "/crm/v3/objects/deals/search", {
        body: { filterGroups: [{ filters: [{ propertyName: "hs_lastmodifieddate", operator: "LTE", value: String(to) }] }] }
      })).text))
      assert.strictEqual(gt.total + lte.total, 2000)

      const past = yield* call(sim, "/crm/v3/objects/deals/search", { body: { filterGroups: [], limit: 100, after: "9901" } })
      assert.strictEqual(past.status, 400)
      assert.strictEqual(decodeError(JSON.parse(past.text)).category, "VALIDATION_ERROR")
      const edge = yield* call(sim, "/crm/v3/objects/deals/search", { body: { filterGroups: [], limit: 100, after: "9900" } })
      assert.strictEqual(edge.status, 200)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/deals/search", { body: { filterGroups: [], limit: 201 } })).status, 400)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/deals/search", { body: { filterGroups: "x" } })).status, 400)
    }))
})

describe("Simulator layer", () => {
  it.scoped("provides the service through its tag", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      assert.match(sim.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.strictEqual(sim.options.pageSize, 500)
      assert.strictEqual(sim.options.objects, 2000)
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/tickets?limit=1")).status, 200)
    }).pipe(Effect.provide(Simulator.layer({ seed: 2 }))))
})
