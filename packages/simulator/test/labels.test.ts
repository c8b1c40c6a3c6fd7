/** The labels catalogue endpoint, over HTTP: what it answers, and that it is checked and counted as any call. */
import { AssociationsApi as Api } from "@assoc-etl/hubspot"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { SimulatedPortal, Simulator } from "../src/index.js"

const decodeLabels = Schema.decodeUnknownSync(Api.LabelsResponse)
const decodeError = Schema.decodeUnknownSync(Api.ErrorBody)

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

const call = (
  sim: Simulator.SimulatorService,
  path: string,
  options: { readonly method?: string; readonly body?: unknown; readonly token?: string | null } = {}
) =>
  Effect.orDie(Effect.tryPromise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (options.token !== null) headers["authorization"] = `Bearer ${options.token ?? "sim-token"}`
    const res = await fetch(sim.baseUrl + path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
    })
    return { status: res.status, headers: res.headers, text: await res.text() }
  }))

const paths = (from: string, to: string) => [
  `/crm/associations/2026-03/${from}/${to}/labels`,
  `/crm/associations/2026-09/${from}/${to}/labels`,
  `/crm/v4/associations/${from}/${to}/labels`
]

const noLimits = { rateLimit: { max: 0, windowMillis: 10_000 } }

describe("Simulator labels", () => {
  it.scoped("answers every type defined for the pair on each version's path: those in use, then those none uses", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 300, ...noLimits })
      const types = sim.portal.associationTypes("contacts", "companies")
      const inUse = new Set(
        SimulatedPortal.groundTruth(sim.portal, "contacts", "companies").rows.map((r) => r.association_type_id)
      )
      const bodies: Array<string> = []
      for (const path of paths("contacts", "companies")) {
        const reply = yield* call(sim, path)
        assert.strictEqual(reply.status, 200, path)
        assert.match(reply.headers.get("content-type") ?? "", /^application\/json/)
        bodies.push(reply.text)
        const labels = decodeLabels(JSON.parse(reply.text)).results
        assert.deepStrictEqual(labels, [...sim.portal.definedTypes("contacts", "companies")])
        assert.deepStrictEqual(labels.slice(0, types.length), [...types])
        // The types past those of the associations: defined, with typeIds of their own, used by no row.
        const unused = labels.slice(types.length)
        assert.deepStrictEqual(unused.map((l) => [l.category, l.label]), [
          ["USER_DEFINED", "Former employee"],
          ["INTEGRATOR_DEFINED", "Synced partner"]
        ])
        for (const l of unused) assert.isFalse(inUse.has(l.typeId))
        assert.strictEqual(inUse.size, types.length)
        assert.strictEqual(new Set(labels.map((l) => l.typeId)).size, labels.length)
        // A type without a label is sent with `"label":null`, not without it.
        assert.include(reply.text, `"typeId":${types[0]!.typeId},"label":null`)
      }
      assert.strictEqual(new Set(bodies).size, 1)
      const counters = yield* sim.counters
      assert.strictEqual(counters.labelsRequests, 3)
      assert.strictEqual(counters.requests, 3)
      assert.strictEqual(counters.batchReads, 0)
      // Each direction, each pair its own.
      const back = decodeLabels(JSON.parse((yield* call(sim, paths("companies", "contacts")[0]!)).text)).results
      assert.deepStrictEqual(back, [...sim.portal.definedTypes("companies", "contacts")])
      assert.notDeepEqual(back, decodeLabels(JSON.parse(bodies[0]!)).results)
    }))

  it.scoped("with workCategory, some types are WORK, with the typeIds and labels they had", () =>
    Effect.gen(function*() {
      const plain = yield* Simulator.make({ objects: 10, ...noLimits })
      const work = yield* Simulator.make({ objects: 10, workCategory: true, ...noLimits })
      const path = paths("deals", "tickets")[0]!
      const before = decodeLabels(JSON.parse((yield* call(plain, path)).text)).results
      const after = decodeLabels(JSON.parse((yield* call(work, path)).text)).results
      assert.deepStrictEqual(after.map((l) => [l.typeId, l.label]), before.map((l) => [l.typeId, l.label]))
      assert.deepStrictEqual(after.filter((l) => l.category === "WORK").map((l) => l.label), [
        "Billing, \"main\" contact",
        "Café ☕ – 日本語 👍",
        "Reseller"
      ])
      assert.isFalse(before.some((l) => l.category === "WORK"))
    }))

  it.scoped("refuses a type as other calls do: unknown or malformed 400, standard type ids aliases, 404 off route", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 10, ...noLimits })
      const batchPath = "/crm/associations/2026-03/contacts/widgets/batch/read"
      const batchRefusal = decodeError(JSON.parse((yield* call(sim, batchPath, { body: { inputs: [{ id: "1" }] } })).text))
      for (const path of paths("contacts", "widgets")) {
        const reply = yield* call(sim, path)
        assert.strictEqual(reply.status, 400)
        const body = decodeError(JSON.parse(reply.text))
        assert.strictEqual(body.category, batchRefusal.category)
        assert.strictEqual(body.message, batchRefusal.message)
      }
      assert.strictEqual((yield* call(sim, paths("contacts", "Comp%20anies")[0]!)).status, 400)
      const alias = yield* call(sim, paths("0-1", "0-2")[0]!)
      assert.strictEqual(alias.status, 200)
      assert.strictEqual(alias.text, (yield* call(sim, paths("contacts", "companies")[0]!)).text)
      const posted = yield* call(sim, paths("contacts", "companies")[0]!, { method: "POST", body: {} })
      assert.strictEqual(posted.status, 404)
      assert.strictEqual((yield* call(sim, "/crm/associations/2026-06/contacts/companies/labels")).status, 404)
      assert.strictEqual((yield* sim.counters).labelsRequests, 2)
    }))

  it.scoped("needs the token and the pair's scopes, and counts in the rate window like any call", () =>
    Effect.gen(function*() {
      const path = paths("contacts", "companies")[0]!
      const scoped = yield* Simulator.make({ objects: 10, scopes: ["crm.objects.contacts.read"], ...noLimits })
      assert.strictEqual((yield* call(scoped, path, { token: null })).status, 401)
      assert.strictEqual((yield* call(scoped, path, { token: "wrong" })).status, 401)
      const forbidden = yield* call(scoped, path)
      assert.strictEqual(forbidden.status, 403)
      assert.deepStrictEqual(Api.missingScopes(decodeError(JSON.parse(forbidden.text))), ["crm.objects.companies.read"])

      const sim = yield* Simulator.make({ objects: 10, rateLimit: { max: 2, windowMillis: 1000 }, retryAfter: 0 })
      const first = yield* call(sim, path)
      assert.strictEqual(first.status, 200)
      assert.strictEqual(first.headers.get("x-hubspot-ratelimit-remaining"), "1")
      assert.strictEqual((yield* call(sim, "/crm/v3/objects/contacts?limit=1")).status, 200)
      const refused = yield* call(sim, path)
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(decodeError(JSON.parse(refused.text)).policyName, "TEN_SECONDLY_ROLLING")
      yield* TestClock.adjust("1001 millis")
      assert.strictEqual((yield* call(sim, path)).status, 200)
      const counters = yield* sim.counters
      assert.strictEqual(counters.labelsRequests, 2)
      assert.strictEqual(counters.status429, 1)
      assert.strictEqual(counters.requests, 4)
    }))
})
