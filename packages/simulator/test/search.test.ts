/**
 * The search endpoint's filters on `hs_object_id`: ids compared as numbers (big ids too), and keyset paging
 * by id that walks past the 10,000 results one query pages through, the cap and the 5-a-second limit kept.
 */
import { AssociationsApi as Api } from "@assoc-etl/hubspot"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { SimulatedPortal, Simulator } from "../src/index.js"

const decodeSearch = Schema.decodeUnknownSync(Api.SearchResponse)
const decodeError = Schema.decodeUnknownSync(Api.ErrorBody)

const search = (sim: Simulator.SimulatorService, type: string, body: unknown) =>
  Effect.promise(async () => {
    const res = await fetch(`${sim.baseUrl}/crm/v3/objects/${type}/search`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${sim.options.token}` },
      body: JSON.stringify(body)
    })
    return { status: res.status, text: await res.text() }
  })

const answer = (reply: { readonly status: number; readonly text: string }) => {
  assert.strictEqual(reply.status, 200, reply.text.slice(0, 300))
  return decodeSearch(JSON.parse(reply.text))
}

const byId = (operator: Api.SearchFilter["operator"], value?: string, highValue?: string): Api.SearchFilter => ({
  propertyName: "hs_object_id",
  operator,
  ...(value === undefined ? {} : { value }),
  ...(highValue === undefined ? {} : { highValue })
})

const noLimits = { rateLimit: { max: 0, windowMillis: 1000 }, searchRateLimit: { max: 0, windowMillis: 1000 } }
const compare = SimulatedPortal.compareObjectIds

describe("Simulator search by hs_object_id", () => {
  it.scoped("filters LT, LTE, GT, GTE, EQ, NEQ and BETWEEN compare ids as numbers", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 500, ...noLimits })
      const ids = sim.portal.ids("companies")
      // Ids of several lengths: a string order would put "10..." before "9...".
      assert.isAbove(new Set(ids.map((id) => id.length)).size, 1)
      const pivot = ids[200]!
      const high = ids[260]!
      const count = (filters: ReadonlyArray<Api.SearchFilter>) =>
        Effect.map(search(sim, "companies", { filterGroups: [{ filters }], limit: 1 }), (r) => answer(r).total)
      assert.strictEqual(yield* count([byId("LT", pivot)]), 200)
      assert.strictEqual(yield* count([byId("LTE", pivot)]), 201)
      assert.strictEqual(yield* count([byId("GT", pivot)]), ids.length - 201)
      assert.strictEqual(yield* count([byId("GTE", pivot)]), ids.length - 200)
      assert.strictEqual(yield* count([byId("EQ", pivot)]), 1)
      assert.strictEqual(yield* count([byId("NEQ", pivot)]), ids.length - 1)
      assert.strictEqual(yield* count([byId("BETWEEN", pivot, high)]), 61)
      // Filters of a group hold together; groups are alternatives. Leading zeros name the same id.
      assert.strictEqual(yield* count([byId("GT", pivot), byId("LT", `000${high}`)]), 59)
      const either = yield* search(sim, "companies", {
        filterGroups: [{ filters: [byId("LT", ids[10]!)] }, { filters: [byId("GTE", ids[ids.length - 5]!)] }],
        limit: 1
      })
      assert.strictEqual(answer(either).total, 15)
      // With the modification time in the same group.
      const since = Date.UTC(2025, 5, 1)
      const modified = ids.filter((id) => sim.portal.lastModified("companies", id) >= since && compare(id, pivot) < 0)
      assert.isAbove(modified.length, 0)
      const recent: Api.SearchFilter = { propertyName: "hs_lastmodifieddate", operator: "GTE", value: String(since) }
      assert.strictEqual(yield* count([byId("LT", pivot), recent]), modified.length)

      for (const bad of [byId("LT", "12a"), byId("GT"), byId("BETWEEN", pivot)]) {
        const refused = yield* search(sim, "companies", { filterGroups: [{ filters: [bad] }] })
        assert.strictEqual(refused.status, 400)
        assert.strictEqual(decodeError(JSON.parse(refused.text)).category, "VALIDATION_ERROR")
      }
      const byName = { filterGroups: [{ filters: [{ propertyName: "name", operator: "EQ", value: "x" }] }] }
      assert.strictEqual((yield* search(sim, "companies", byName)).status, 400)
    }))

  it.scoped("keyset paging down by id (LT the lowest seen) walks every id past the 10,000-results cap", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 12_000, ...noLimits })
      const ids = sim.portal.ids("contacts")
      const seen: Array<string> = []
      let below: string | undefined
      let pages = 0
      for (;;) {
        const page = answer(yield* search(sim, "contacts", {
          filterGroups: [{ filters: [byId("GT", "0"), ...(below === undefined ? [] : [byId("LT", below)])] }],
          sorts: [{ propertyName: "hs_object_id", direction: "DESCENDING" }],
          properties: ["hs_object_id"],
          limit: 200
        }))
        if (pages === 0) assert.strictEqual(page.total, ids.length)
        pages++
        for (const r of page.results) seen.push(r.id)
        if (page.paging?.next === undefined) break
        below = page.results.at(-1)!.id
      }
      assert.strictEqual(pages, 60)
      assert.deepStrictEqual(seen, [...ids].reverse())
      // Paging by offset still stops at 10,000 results.
      const capped = yield* search(sim, "contacts", {
        filterGroups: [{ filters: [byId("GT", "0")] }],
        sorts: [{ propertyName: "hs_object_id", direction: "DESCENDING" }],
        limit: 200,
        after: "9900"
      })
      assert.strictEqual(capped.status, 400)
      assert.include(capped.text, "10000")
    }), 60_000)

  it.scoped("searches by id count against search's own 5 a second", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 100, rateLimit: { max: 0, windowMillis: 1000 } })
      const body = { filterGroups: [{ filters: [byId("GT", "0")] }], limit: 10 }
      const statuses: Array<number> = []
      for (let i = 0; i < 6; i++) statuses.push((yield* search(sim, "contacts", body)).status)
      assert.deepStrictEqual(statuses, [200, 200, 200, 200, 200, 429])
      assert.strictEqual((yield* sim.counters).searchRequests, 5)
    }))
})
