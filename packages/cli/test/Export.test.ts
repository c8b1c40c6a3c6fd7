/**
 * The search source of `Export.run` (`--since`) against a search endpoint whose objects are modified while the
 * run pages through them, as a busy HubSpot account's are; batch reads go to the simulator.
 */
import type { Api } from "@assoc-etl/core"
import { ObjectId, ObjectType } from "@assoc-etl/core"
import { HubSpotClient, HubSpotError, RequestBudget } from "@assoc-etl/hubspot"
import { Dataset, Simulator } from "@assoc-etl/simulator"
import { FileSystem } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Export } from "../src/index.js"

const contacts = ObjectType.unsafeMake("contacts")
const companies = ObjectType.unsafeMake("companies")
const token = "export-test-token"

/**
 * HubSpot's search semantics over `modified` (id → epoch millis): the filters on the contacts' lastmodifieddate, oldest
 * first, `after` an offset, at most 10,000 results a query. After each answer, `touch` may modify objects (their
 * time becomes now, after any window of the run).
 */
const fakeSearch = (modified: Map<string, number>, touch: (answered: ReadonlyArray<string>) => ReadonlyArray<string>) => {
  const searches: Array<Api.SearchRequest> = []
  const search: HubSpotClient.Service["search"] = (_type, request) =>
    Effect.sync(() => {
      searches.push(request)
      const filters = request.filterGroups[0]!.filters
      for (const f of filters) assert.strictEqual(f.propertyName, "lastmodifieddate", "contacts' own name for it")
      const bound = (op: string) => Number(filters.find((f) => f.operator === op)!.value)
      const lo = bound("GTE")
      const hi = bound("LT")
      const matches = [...modified].filter(([, m]) => m >= lo && m < hi)
        .sort(([a, ma], [b, mb]) => ma - mb || Dataset.compareObjectIds(a, b))
      const offset = Number(request.after ?? "0")
      const limit = request.limit ?? 10
      assert.isAtMost(offset + limit, 10_000, "HubSpot refuses to page beyond 10,000 results")
      const page = matches.slice(offset, offset + limit)
      const answer: Api.SearchResponse = {
        total: matches.length,
        results: page.map(([id, m]) => ({ id: ObjectId.unsafeMake(id), properties: { lastmodifieddate: new Date(m).toISOString() } })),
        ...(offset + page.length < matches.length ? { paging: { next: { after: String(offset + page.length) } } } : {})
      }
      for (const id of touch(page.map(([id]) => id))) modified.set(id, Date.now())
      return answer
    })
  return { search, searches }
}

const runExport = (sim: Simulator.SimulatorService, search: HubSpotClient.Service["search"], since: string, at?: string) =>
  Effect.gen(function*() {
    const fileSystem = yield* FileSystem.FileSystem
    const out = at ?? path.join(yield* fileSystem.makeTempDirectoryScoped(), "out")
    const client = Layer.effect(
      HubSpotClient.HubSpotClient,
      Effect.map(HubSpotClient.make({ token: Redacted.make(token), baseUrl: sim.baseUrl }), (c) => ({ ...c, search }))
    ).pipe(
      Layer.provide(RequestBudget.layer({ limit: { max: 1000, windowMillis: 1000 }, searchLimit: { max: 1000, windowMillis: 1000 } })),
      Layer.provide(NodeHttpClient.layerUndici)
    )
    const exit = yield* Effect.exit(
      Export.run({ from: contacts, to: companies, out, format: "ndjson", input: { kind: "search", since } }).pipe(
        Effect.provide(client)
      )
    )
    return { out, exit }
  })

const exportedFromIds = (out: string): Set<string> => {
  const ids = new Set<string>()
  for (const name of fs.readdirSync(out).filter((n) => n.endsWith(".ndjson"))) {
    for (const line of fs.readFileSync(path.join(out, name), "utf8").split("\n")) {
      if (line !== "") ids.add(JSON.parse(line).from_object_id)
    }
  }
  return ids
}

describe("Export.run --since (search source)", () => {
  it.scopedLive("objects modified while the run pages through the window do not push others out of it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 3000, token, rateLimit: { max: 0, windowMillis: 1000 } })
      const since = "2025-03-01T00:00:00.000Z"
      const modified = new Map(sim.dataset.ids("contacts").map((id) => [id, sim.dataset.lastModified("contacts", id)]))
      const inWindow = [...modified].filter(([, m]) => m >= Date.parse(since)).map(([id]) => id)
      assert.isAbove(inWindow.length, 1000, "several pages")
      // Each answer's first object is modified at once: it was answered, but it leaves the window.
      const { search, searches } = fakeSearch(modified, (answered) => answered.slice(0, 1))
      const { exit, out } = yield* runExport(sim, search, since)
      assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
      const summary = Exit.isSuccess(exit) ? exit.value : undefined
      // Every object still in the window has its associations exported (those without any yield no row).
      const withRows = new Set(Dataset.groundTruth(sim.dataset, "contacts", "companies", inWindow).rows.map((r) => r.from_object_id))
      assert.deepStrictEqual([...exportedFromIds(out)].sort(), [...withRows].sort())
      assert.isAbove(searches.length, 5)
      // The first answer's total is the number of ids, shown as "done of total".
      assert.strictEqual(summary?.progress.idsTotal, inWindow.length)
      assert.strictEqual(summary?.progress.idsDone, inWindow.length)
      // The window ends the index lag before the run's start.
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
      assert.strictEqual(
        Date.parse(manifest.export.input.until),
        Date.parse(manifest.startedAt) - Export.searchIndexLagMillis
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a resume takes each id once though objects of the page it resumes in left the window", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 3000, token, rateLimit: { max: 0, windowMillis: 1000 } })
      const since = "2025-03-01T00:00:00.000Z"
      const modified = new Map(sim.dataset.ids("contacts").map((id) => [id, sim.dataset.lastModified("contacts", id)]))
      const inWindow = [...modified].filter(([, m]) => m >= Date.parse(since)).map(([id]) => id)
      const out = path.join(yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped(), "out")
      const checkpointDone = () => {
        try {
          const done: ReadonlyArray<readonly [number, number]> = JSON.parse(
            fs.readFileSync(path.join(out, ".checkpoint.json"), "utf8")
          ).payload.done
          return done.reduce((n, [a, b]) => n + b - a, 0)
        } catch {
          return 0
        }
      }
      // The first run stops at its fourth search, once some ids are committed (not all it listed, as a rule).
      const { search: healthy } = fakeSearch(modified, () => [])
      let calls = 0
      const failing: HubSpotClient.Service["search"] = (type, request) =>
        ++calls < 4 ? healthy(type, request) : Effect.gen(function*() {
          while (checkpointDone() < 150) yield* Effect.sleep("20 millis")
          return yield* new HubSpotError.HubSpotError({ reason: "BadRequest", method: "POST", path: "/search" })
        })
      const first = yield* runExport(sim, failing, since, out)
      assert.isTrue(Exit.isFailure(first.exit))
      const done = checkpointDone()
      assert.isAbove(done, 0)
      // Before the resume, objects the first run listed, on both sides of the last committed ordinal, leave the
      // window: searching the window again would number every later object differently.
      const listed = fs.readFileSync(path.join(out, ".listed-ids"), "utf8").split("\n").filter((l) => l !== "")
        .flatMap((l) => JSON.parse(l).ids as Array<string>)
      assert.isAbove(listed.length, done)
      const touched = [...listed.slice(Math.max(0, done - 20), done), ...listed.slice(done, done + 5)]
      for (const id of touched) modified.set(id, Date.now())
      const { search } = fakeSearch(modified, () => [])
      const resumed = yield* runExport(sim, search, since, out)
      assert.isTrue(Exit.isSuccess(resumed.exit), Exit.isFailure(resumed.exit) ? Cause.pretty(resumed.exit.cause) : "")
      // Every object of the window as first listed, each exactly once.
      const rows: Array<string> = []
      for (const name of fs.readdirSync(out).filter((n) => n.endsWith(".ndjson"))) {
        for (const line of fs.readFileSync(path.join(out, name), "utf8").split("\n")) if (line !== "") rows.push(line)
      }
      const key = (r: { from_object_id: string; to_object_id: string; association_type_id: number }) =>
        `${r.from_object_id}|${r.to_object_id}|${r.association_type_id}`
      assert.deepStrictEqual(
        rows.map((l) => key(JSON.parse(l))).sort(),
        Dataset.groundTruth(sim.dataset, "contacts", "companies", inWindow).rows.map(key).sort()
      )
    }).pipe(Effect.provide(NodeContext.layer)), 60_000)

  it("a window ends the index lag before the run's start, but never before it starts", () => {
    const since = "2025-06-01T12:00:00.000Z"
    assert.strictEqual(Export.searchUntil(since, "2025-06-02T00:00:00.000Z"), "2025-06-01T23:55:00.000Z")
    // Chained two minutes after the run before: an empty window, whose end is where the next run starts.
    assert.strictEqual(Export.searchUntil(since, "2025-06-01T12:02:00.000Z"), since)
  })

  it.scopedLive("more than 10,000 objects modified in one millisecond fail the run as SearchTooDense", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 100, token, rateLimit: { max: 0, windowMillis: 1000 } })
      const moment = Date.parse("2025-06-01T12:00:00.000Z")
      const modified = new Map(Array.from({ length: 10_050 }, (_, i) => [String(1_000_000 + i), moment] as const))
      const { search } = fakeSearch(modified, () => [])
      const { exit } = yield* runExport(sim, search, "2025-01-01T00:00:00.000Z")
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(failure))
      const error = Option.getOrThrow(failure) as Export.ExportError
      assert.strictEqual(error._tag, "ExportError")
      assert.strictEqual(error.reason, "SearchTooDense")
      assert.include(error.message, "2025-06-01T12:00:00.000Z")
      assert.include(error.message, "without --since")
    }).pipe(Effect.provide(NodeContext.layer)), 60_000)
})
