/**
 * The spec's variants HubSpot may answer with (DESIGN.md, "Be liberal"): category `WORK`, `toObjectId` as a JSON
 * number, `fromObjectTypeId`/`toObjectTypeId`, and version 2026-09's partial failures in a 200. What the simulator
 * sends for each, and that the client's batch-read stage reads each, on 2026-03 and 2026-09, to the ground truth.
 */
import type { AssociationRow } from "@assoc-etl/core"
import { ObjectId, ObjectType } from "@assoc-etl/core"
import { AssociationsApi as Api, BatchRead, HubSpotClient } from "@assoc-etl/hubspot"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Metric, Schema, Stream } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { SimulatedPortal, Simulator } from "../src/index.js"

const from = ObjectType.unsafeMake("contacts")
const to = ObjectType.unsafeMake("companies")
const noLimits = { rateLimit: { max: 0, windowMillis: 10_000 } }
const decodeBatch = Schema.decodeUnknownSync(Api.BatchReadResponse)

const post = (sim: Simulator.SimulatorService, path: string, inputs: ReadonlyArray<{ readonly id: string }>) =>
  Effect.orDie(Effect.tryPromise(async () => {
    const res = await fetch(sim.baseUrl + path, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.options.token}`, "content-type": "application/json" },
      body: JSON.stringify({ inputs })
    })
    return { status: res.status, text: await res.text() }
  }))

const batchPath = (version: string, fromType = "contacts", toType = "companies") =>
  version === "v4"
    ? `/crm/v4/associations/${fromType}/${toType}/batch/read`
    : `/crm/associations/${version}/${fromType}/${toType}/batch/read`

/** Rows as a sorted list of their columns: a multiset to compare. */
const multiset = (rows: ReadonlyArray<AssociationRow.AssociationRow>): ReadonlyArray<string> =>
  rows.map((r) =>
    JSON.stringify([
      r.from_object_type,
      r.from_object_id,
      r.to_object_type,
      r.to_object_id,
      r.association_category,
      r.association_type_id,
      r.association_label
    ])
  ).sort()

/** Ids that have associations and ids that have none, of the simulator's contacts. */
const split = (sim: Simulator.SimulatorService) => {
  const ids = sim.portal.ids("contacts")
  return {
    some: ids.filter((id) => sim.portal.associations("contacts", "companies", id).length > 0),
    none: ids.filter((id) => sim.portal.associations("contacts", "companies", id).length === 0)
  }
}

describe("Simulator spec variants, over HTTP", () => {
  it.scoped("2026-09 answers a 200 with errors[] and numErrors where 2026-03 and v4 answer 207: the same body", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 200, noAssociationsFound: true, ...noLimits })
      const { none, some } = split(sim)
      const inputs = [some[0]!, "17", none[0]!, some[1]!].map((id) => ({ id }))
      const in207 = yield* post(sim, batchPath("2026-03"), inputs)
      const in200 = yield* post(sim, batchPath("2026-09"), inputs)
      const v4 = yield* post(sim, batchPath("v4"), inputs)
      assert.strictEqual(in207.status, 207)
      assert.strictEqual(v4.status, 207)
      assert.strictEqual(in200.status, 200)
      // The same clock (a TestClock at 0), the same body.
      assert.strictEqual(in200.text, in207.text)
      assert.strictEqual(in200.text, v4.text)
      const answer = decodeBatch(JSON.parse(in200.text))
      assert.strictEqual(answer.numErrors, 2)
      assert.deepStrictEqual(answer.errors?.map((e) => e.subCategory), [
        "crm.associations.FROM_OBJECT_NOT_FOUND",
        "crm.associations.NO_ASSOCIATIONS_FOUND"
      ])
      // Without errors, 200 on every version.
      for (const version of ["2026-03", "2026-09", "v4"]) {
        assert.strictEqual((yield* post(sim, batchPath(version), [{ id: some[0]! }])).status, 200)
      }
      // The other date-versioned paths are served on 2026-09 too.
      for (const path of ["/crm/objects/2026-09/contacts?limit=1", "/account-info/2026-09/details"]) {
        const res = yield* Effect.promise(() =>
          fetch(sim.baseUrl + path, { headers: { authorization: `Bearer ${sim.options.token}` } })
        )
        assert.strictEqual(res.status, 200, path)
      }
    }))

  it.scoped("objectTypeIds names the from type on each result and the to type on each of its to items", () =>
    Effect.gen(function*() {
      const types = ["contacts", "companies", "2-12345"]
      const plain = yield* Simulator.make({ objects: 100, types, ...noLimits })
      const named = yield* Simulator.make({ objects: 100, types, objectTypeIds: true, ...noLimits })
      const { some } = split(named)
      const inputs = some.slice(0, 5).map((id) => ({ id }))
      const text = (yield* post(named, batchPath("2026-03"), inputs)).text
      assert.include(text, `{"fromObjectTypeId":"0-1","from":{"id":"${some[0]}"},"to":[{"toObjectId":"`)
      assert.match(text, /"toObjectId":"\d+","toObjectTypeId":"0-2","associationTypes":\[/)
      const custom = (yield* post(named, batchPath("2026-03", "contacts", "2-12345"), inputs)).text
      assert.include(custom, `"toObjectTypeId":"2-12345"`)
      // Through the aliases of the path, the same names.
      assert.strictEqual((yield* post(named, batchPath("2026-03", "0-1", "0-2"), inputs)).text, text)
      // Off (the default): absent, and the answer is otherwise the same.
      const bare = (yield* post(plain, batchPath("2026-03"), inputs)).text
      assert.notInclude(bare, "ObjectTypeId")
      assert.deepStrictEqual(decodeBatch(JSON.parse(text)), decodeBatch(JSON.parse(bare)))
    }))

  it.scoped("numericToObjectId sends bare numbers, digits past 2^53 included, read back digit for digit", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 500, numericToObjectId: true, ...noLimits })
      const ids = sim.portal.ids("contacts")
      const id = ids.find((i) =>
        sim.portal.associations("contacts", "companies", i).some((a) => BigInt(a.toObjectId) > 2n ** 53n)
      )!
      const big = sim.portal.associations("contacts", "companies", id).find((a) => BigInt(a.toObjectId) > 2n ** 53n)!
      assert.notStrictEqual(String(Number(big.toObjectId)), big.toObjectId)
      const text = (yield* post(sim, batchPath("2026-03"), [{ id }])).text
      assert.include(text, `"toObjectId":${big.toObjectId},`)
      assert.notInclude(text, `"toObjectId":"`)
      const answer = decodeBatch(JSON.parse(Api.quoteBareIds(text)))
      assert.deepStrictEqual(
        answer.results[0]!.to.map((t) => t.toObjectId),
        sim.portal.associations("contacts", "companies", id).map((a) => a.toObjectId)
      )
    }))

  it.scoped("workCategory makes some types WORK and changes no association; the default portal is unchanged", () =>
    Effect.gen(function*() {
      const plain = yield* Simulator.make({ objects: 300, ...noLimits })
      const work = yield* Simulator.make({ objects: 300, workCategory: true, ...noLimits })
      const truth = SimulatedPortal.groundTruth(plain.portal, from, to)
      const workTruth = SimulatedPortal.groundTruth(work.portal, from, to)
      assert.isTrue(workTruth.rows.some((r) => r.association_category === "WORK"))
      assert.isFalse(truth.rows.some((r) => r.association_category === "WORK"))
      // Row for row the same but the category of the types made WORK (USER_DEFINED before).
      assert.strictEqual(workTruth.rows.length, truth.rows.length)
      workTruth.rows.forEach((r, i) => {
        const before = truth.rows[i]!
        assert.deepStrictEqual({ ...r, association_category: "" }, { ...before, association_category: "" })
        if (r.association_category === "WORK") assert.strictEqual(before.association_category, "USER_DEFINED")
        else assert.strictEqual(r.association_category, before.association_category)
      })
      // The catalogue's extra types are not among the types associations draw from.
      for (const portal of [plain.portal, work.portal]) {
        const types = portal.associationTypes("contacts", "companies")
        assert.strictEqual(types.length, 8)
        assert.deepStrictEqual(portal.definedTypes("contacts", "companies").slice(0, 8), [...types])
      }
    }))
})

/** What a run of the batch-read stage counted, read under its own tag. */
const parsedAnswers = Effect.map(Metric.value(HubSpotClient.metrics.answersParsed), (s) => s.count)
let runs = 0

/**
 * The stage over the simulator's first 300 contacts (with an unknown id and repeats mixed in), against the ground
 * truth: every row once, the unknown id refused, nothing else; each answer read from its bytes.
 */
const exportAndCheck = Effect.suspend(() => Effect.gen(function*() {
  const sim = yield* Simulator.Simulator
  const ids = sim.portal.ids("contacts").slice(0, 300)
  const input = [...ids.slice(0, 150), "999999999999999", ...ids.slice(0, 20), ...ids.slice(150)]
  const truth = SimulatedPortal.groundTruth(sim.portal, from, to, input)
  const pages = Chunk.toReadonlyArray(
    yield* Stream.fromIterable(input.map(ObjectId.unsafeMake)).pipe(
      BatchRead.fromIds({ from, to, batchSize: 100, concurrency: 2 }),
      Stream.runCollect
    )
  )
  const rows = pages.flatMap((p) => p.rows.toArray())
  assert.strictEqual(rows.length, truth.rows.length)
  assert.deepStrictEqual(multiset(rows), multiset(truth.rows))
  assert.deepStrictEqual(pages.flatMap((p) => p.errors).map((e) => e.object_id), [...truth.unknownIds])
  assert.strictEqual(yield* parsedAnswers, 0)
  const counters = yield* sim.counters
  assert.isAbove(counters.inputs, new Set(input).size, "some ids were paged")
  return { sim, truth }
}).pipe(Effect.tagMetrics("drift_run", String(++runs))))

interface Variant {
  readonly name: string
  readonly options: Simulator.SimulatorOptions
  /** What the ground truth must show for the variant to be seen at all. */
  readonly seen: (rows: ReadonlyArray<AssociationRow.AssociationRow>) => boolean
}

const variants: ReadonlyArray<Variant> = [
  {
    name: "category WORK",
    options: { workCategory: true },
    seen: (rows) => rows.some((r) => r.association_category === "WORK")
  },
  {
    name: "toObjectId as a JSON number",
    options: { numericToObjectId: true },
    seen: (rows) => rows.some((r) => BigInt(r.to_object_id) > 2n ** 53n)
  },
  {
    name: "fromObjectTypeId and toObjectTypeId present",
    options: { objectTypeIds: true },
    seen: (rows) => rows.length > 0
  },
  {
    name: "all of them, ids without associations as NO_ASSOCIATIONS_FOUND items",
    options: { workCategory: true, numericToObjectId: true, objectTypeIds: true, noAssociationsFound: true },
    seen: (rows) => rows.some((r) => r.association_category === "WORK")
  }
]

describe("BatchRead over the spec variants", () => {
  for (const apiVersion of ["2026-03", "2026-09"] as const) {
    for (const variant of variants) {
      it.live(`${variant.name}, on ${apiVersion}: the exact ground truth`, () =>
        Effect.gen(function*() {
          const { truth } = yield* exportAndCheck
          assert.isTrue(variant.seen(truth.rows), "the variant is in the rows")
        }).pipe(
          Effect.provide(Simulator.layerTest(
            { objects: 300, pageSize: 40, ...noLimits, ...variant.options },
            { ...Simulator.quickClient, apiVersion }
          ))
        ))
    }
  }

  it.live("on 2026-09, refusals come in 200s, and the stage reads them as it reads 207s", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      yield* exportAndCheck
      // What the client was answered: a refusal in a 200, never a 207 on that version.
      const reply = yield* post(sim, batchPath("2026-09"), [{ id: "999999999999999" }])
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(decodeBatch(JSON.parse(reply.text)).numErrors, 1)
    }).pipe(
      Effect.provide(Simulator.layerTest(
        { objects: 300, pageSize: 40, noAssociationsFound: true, ...noLimits },
        { ...Simulator.quickClient, apiVersion: "2026-09" }
      ))
    ))
})

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

describe("bin flags of the spec variants", () => {
  it.scopedLive("--numeric-to-object-id, --object-type-ids and --work-category turn them on; 2026-09 is served", () =>
    Effect.gen(function*() {
      assert.isTrue(existsSync(bin), "packages/simulator/dist/bin.js is missing: run `npx tsc -b` first")
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(process.execPath, [
            bin, "--seed", "3", "--objects", "200", "--numeric-to-object-id", "--object-type-ids", "--work-category"
          ], { stdio: ["ignore", "pipe", "inherit"] })
        ),
        (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
      )
      const url = yield* Effect.async<string>((resume) => {
        let text = ""
        child.stdout.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8")
          const end = text.indexOf("\n")
          if (end >= 0) resume(Effect.succeed(text.slice(0, end)))
        })
      })
      // The same portal in this process, to pick ids from.
      const portal = SimulatedPortal.make({ seed: 3, objects: 200, types: Simulator.defaultTypes, workCategory: true })
      const hasWork = (id: string) =>
        portal.associations("contacts", "companies", id).some((a) => a.associationTypes.some((t) => t.category === "WORK"))
      const ids = portal.ids("contacts").filter(hasWork)
      const fetched = yield* Effect.promise(async () => {
        const res = await fetch(`${url}${batchPath("2026-09")}`, {
          method: "POST",
          headers: { authorization: "Bearer sim-token", "content-type": "application/json" },
          body: JSON.stringify({ inputs: [{ id: ids[0] }, { id: "17" }] })
        })
        return { status: res.status, text: await res.text() }
      })
      assert.strictEqual(fetched.status, 200)
      assert.match(fetched.text, /"fromObjectTypeId":"0-1","from":\{"id":"\d+"\},"to":\[\{"toObjectId":\d+,/)
      assert.match(fetched.text, /"toObjectId":\d+,"toObjectTypeId":"0-2","associationTypes"/)
      assert.include(fetched.text, `"category":"WORK"`)
      assert.include(fetched.text, `"numErrors":1`)
      const labels = yield* Effect.promise(() =>
        fetch(`${url}/crm/associations/2026-09/contacts/companies/labels`, {
          headers: { authorization: "Bearer sim-token" }
        }).then((r) => r.json())
      )
      assert.deepStrictEqual(Schema.decodeUnknownSync(Api.LabelsResponse)(labels).results, [
        ...portal.definedTypes("contacts", "companies")
      ])
      child.kill("SIGTERM")
    }))
})
