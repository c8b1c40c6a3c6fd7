/**
 * HubSpot's own id sources under `Export.run`: the modified-since search against a search endpoint whose
 * objects are modified while the run pages through them, as a busy account's are (batch reads go to the
 * simulator), and the chaining of incremental runs.
 */
import { type AssociationRow, Export, type IdSource, type Manifest, ObjectId, ObjectType, RowSink } from "@assoc-etl/core"
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Exit, Layer, Metric, Option, Redacted, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Manifests from "../../../test/support/Manifests.js"
import { tempDir } from "../../../test/support/Parts.js"
import { type AssociationsApi, BatchRead, HubSpotClient, HubSpotError, HubSpotIdSource, RequestBudget } from "../src/index.js"

const contacts = ObjectType.unsafeMake("contacts")
const companies = ObjectType.unsafeMake("companies")
const pair = { fromType: contacts, toType: companies }
const token = "id-source-test-token"

/**
 * HubSpot's search semantics over `modified` (id → epoch millis): the filters on the contacts' lastmodifieddate, oldest
 * first, `after` an offset, at most 10,000 results a query. After each answer, `touch` may modify objects (their
 * time becomes now, after any window of the run).
 */
const fakeSearch = (modified: Map<string, number>, touch: (answered: ReadonlyArray<string>) => ReadonlyArray<string>) => {
  const searches: Array<AssociationsApi.SearchRequest> = []
  const search: HubSpotClient.Service["search"] = (_type, request) =>
    Effect.sync(() => {
      searches.push(request)
      const filters = request.filterGroups[0]!.filters
      for (const f of filters) assert.strictEqual(f.propertyName, "lastmodifieddate", "contacts' own name for it")
      const bound = (op: string) => Number(filters.find((f) => f.operator === op)!.value)
      const lo = bound("GTE")
      const hi = bound("LT")
      const matches = [...modified].filter(([, m]) => m >= lo && m < hi)
        .sort(([a, ma], [b, mb]) => ma - mb || SimulatedPortal.compareObjectIds(a, b))
      const offset = Number(request.after ?? "0")
      const limit = request.limit ?? 10
      assert.isAtMost(offset + limit, 10_000, "HubSpot refuses to page beyond 10,000 results")
      const page = matches.slice(offset, offset + limit)
      const answer: AssociationsApi.SearchResponse = {
        total: matches.length,
        results: page.map(([id, m]) => ({ id: ObjectId.unsafeMake(id), properties: { lastmodifieddate: new Date(m).toISOString() } })),
        ...(offset + page.length < matches.length ? { paging: { next: { after: String(offset + page.length) } } } : {})
      }
      for (const id of touch(page.map(([id]) => id))) modified.set(id, Date.now())
      return answer
    })
  return { search, searches }
}

/**
 * `Export.run` of the objects modified since `since`, with `search` answering the searches and the simulator the
 * batch reads (in batches of `batchSize`), into `sink`; the journal in `dir`.
 */
const runExport = (
  sim: Simulator.SimulatorService,
  search: HubSpotClient.Service["search"],
  since: string,
  dir: string,
  sink: RowSink.MemorySink,
  batchSize?: number
) => {
  const client = Layer.effect(
    HubSpotClient.HubSpotClient,
    Effect.map(HubSpotClient.make({ token: Redacted.make(token), baseUrl: sim.baseUrl }), (c) => ({ ...c, search }))
  ).pipe(
    Layer.provide(RequestBudget.layer({ limit: { max: 1000, windowMillis: 1000 }, searchLimit: { max: 1000, windowMillis: 1000 } })),
    Layer.provide(NodeHttpClient.layerUndici)
  )
  return Effect.exit(
    Export.run({
      pair,
      source: HubSpotIdSource.modifiedSince(contacts, Date.parse(since), { journal: path.join(dir, ".listed-ids") }),
      stage: BatchRead.stage(batchSize === undefined ? {} : { batchSize }),
      sink
    }).pipe(Effect.tagMetrics("test_run", path.basename(dir) + String(Math.random())), Effect.provide(client))
  )
}

/**
 * A simulator of 3,000 contacts, a scoped directory for the journal, and the contacts' modification times, of
 * which those from `since` on are searched (`inWindow`).
 */
const searchedPortal = Effect.gen(function*() {
  const sim = yield* Simulator.make({ objects: 3000, token, rateLimit: { max: 0, windowMillis: 1000 } })
  const dir = yield* tempDir
  const since = "2025-03-01T00:00:00.000Z"
  const modified = new Map(sim.portal.ids("contacts").map((id) => [id, sim.portal.lastModified("contacts", id)]))
  const inWindow = [...modified].filter(([, m]) => m >= Date.parse(since)).map(([id]) => id)
  return { sim, dir, since, modified, inWindow }
})

const key = (r: AssociationRow.AssociationRow) => `${r.from_object_id}|${r.to_object_id}|${r.association_type_id}`

describe("HubSpotIdSource.modifiedSince", () => {
  it.scopedLive("objects modified while the run pages through the window do not push others out of it", () =>
    Effect.gen(function*() {
      const { dir, inWindow, modified, since, sim } = yield* searchedPortal
      assert.isAbove(inWindow.length, 1000, "several pages")
      // Each answer's first object is modified at once: it was answered, but it leaves the window.
      const { search, searches } = fakeSearch(modified, (answered) => answered.slice(0, 1))
      const sink = RowSink.memory()
      const startedAt = Date.now()
      const exit = yield* runExport(sim, search, since, dir, sink)
      assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
      const summary = Exit.isSuccess(exit) ? exit.value : undefined
      // Every object still in the window has its associations exported (those without any yield no row), once.
      const rows = (yield* sink.committed).rows
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", inWindow).rows
      assert.deepStrictEqual(rows.map(key).sort(), truth.map(key).sort())
      assert.isAbove(searches.length, 5)
      assert.strictEqual(summary?.idsDone, inWindow.length)
      // The window ends the index lag before the run's start: the first search's upper bound.
      const hi = Number(searches[0]!.filterGroups[0]!.filters.find((f) => f.operator === "LT")!.value)
      assert.isAtLeast(hi, startedAt - HubSpotIdSource.searchIndexLagMillis)
      assert.isAtMost(hi, Date.now() - HubSpotIdSource.searchIndexLagMillis)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a resume takes each id once though objects of the page it resumes in left the window", () =>
    Effect.gen(function*() {
      const { dir, inWindow, modified, since, sim } = yield* searchedPortal
      const sink = RowSink.memory()
      const checkpointDone = Effect.map(sink.committed, (state) =>
        Option.match(state.payload, {
          onNone: () => 0,
          onSome: (p) => (p as { done: ReadonlyArray<readonly [number, number]> }).done.reduce((n, [a, b]) => n + b - a, 0)
        }))
      // The first run stops at its fourth search, once some ids are committed (not all it listed, as a rule).
      // Its source waits on the sink: the stage sends only full batches while the source goes on, so they are
      // of 100 ids, fewer than the 600 its first three searches list.
      const { search: healthy } = fakeSearch(modified, () => [])
      let calls = 0
      const failing: HubSpotClient.Service["search"] = (type, request) =>
        ++calls < 4 ? healthy(type, request) : Effect.gen(function*() {
          while ((yield* checkpointDone) < 150) yield* Effect.sleep("20 millis")
          return yield* new HubSpotError.HubSpotError({ reason: "BadRequest", method: "POST", path: "/search" })
        })
      const first = yield* runExport(sim, failing, since, dir, sink, 100)
      assert.isTrue(Exit.isFailure(first))
      const done = yield* checkpointDone
      assert.isAbove(done, 0)
      // Before the resume, objects the first run listed, on both sides of the last committed ordinal, leave the
      // window: searching the window again would number every later object differently.
      const listed = fs.readFileSync(path.join(dir, ".listed-ids"), "utf8").split("\n").filter((l) => l !== "")
        .flatMap((l) => JSON.parse(l).ids as Array<string>)
      assert.isAbove(listed.length, done)
      const touched = [...listed.slice(Math.max(0, done - 20), done), ...listed.slice(done, done + 5)]
      for (const id of touched) modified.set(id, Date.now())
      const { search } = fakeSearch(modified, () => [])
      const resumed = yield* runExport(sim, search, since, dir, sink)
      assert.isTrue(Exit.isSuccess(resumed), Exit.isFailure(resumed) ? Cause.pretty(resumed.cause) : "")
      // Every object of the window as first listed, each exactly once.
      const rows = (yield* sink.committed).rows
      assert.deepStrictEqual(
        rows.map(key).sort(),
        SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", inWindow).rows.map(key).sort()
      )
    }).pipe(Effect.provide(NodeContext.layer)), 60_000)

  it("a window ends the index lag before the run's start, but never before it starts", () => {
    const since = Date.parse("2025-06-01T12:00:00.000Z")
    assert.strictEqual(
      HubSpotIdSource.searchUntil(since, Date.parse("2025-06-02T00:00:00.000Z")),
      Date.parse("2025-06-01T23:55:00.000Z")
    )
    // Chained two minutes after the run before: an empty window, whose end is where the next run starts.
    assert.strictEqual(HubSpotIdSource.searchUntil(since, Date.parse("2025-06-01T12:02:00.000Z")), since)
  })

  it.scopedLive("more than 10,000 objects modified in one millisecond fail the run as SearchTooDense", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 100, token, rateLimit: { max: 0, windowMillis: 1000 } })
      const dir = yield* tempDir
      const moment = Date.parse("2025-06-01T12:00:00.000Z")
      const modified = new Map(Array.from({ length: 10_050 }, (_, i) => [String(1_000_000 + i), moment] as const))
      const { search } = fakeSearch(modified, () => [])
      const exit = yield* runExport(sim, search, "2025-01-01T00:00:00.000Z", dir, RowSink.memory())
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      const error = Option.getOrThrow(failure)
      assert.instanceOf(error, HubSpotIdSource.HubSpotIdSourceError)
      assert.strictEqual((error as HubSpotIdSource.HubSpotIdSourceError).reason, "SearchTooDense")
      assert.include(error.message, "2025-06-01T12:00:00.000Z")
    }).pipe(Effect.provide(NodeContext.layer)), 60_000)
})

/** A portal of `objects` contacts for the listing: no rate limits of its own, answers 2 to 10 ms late. */
const listedPortal = (objects: number, more: Simulator.SimulatorOptions = {}) =>
  Layer.merge(
    Simulator.layerTest({
      objects,
      pageSize: 100,
      rateLimit: { max: 0, windowMillis: 1000 },
      searchRateLimit: { max: 0, windowMillis: 1000 },
      latencyMillis: [2, 10],
      ...more
    }),
    NodeContext.layer
  )

/** Opens `source` as a run of an export would and reads its ids (up to `take`, when given), with its total then. */
const readIds = <E, R>(
  source: IdSource.IdSource<E, R>,
  run: IdSource.Run,
  take?: number
) =>
  Effect.scoped(Effect.gen(function*() {
    const opened = yield* source.open(run)
    const lines = yield* Stream.runCollect(take === undefined ? opened.ids : Stream.take(opened.ids, take))
    return { lines: Chunk.toReadonlyArray(lines), total: yield* opened.total, identity: opened.identity }
  }))

/** Fails unless `lines` number every id of `ids` once, 0..n-1 in order. */
const assertEveryIdOnce = (lines: ReadonlyArray<IdSource.IdLine>, ids: ReadonlyArray<string>) => {
  assert.deepStrictEqual(lines.map((l) => l.ordinal), lines.map((_, i) => i), "ordinals 0..n-1, in order")
  assert.strictEqual(new Set(lines.map((l) => l.id)).size, lines.length, "no id twice")
  assert.deepStrictEqual(lines.map((l) => l.id).sort(), [...ids].sort(), "every id")
}

/** The journal's ids, in order, line by line: what a resume reads back. */
interface JournalLine {
  readonly ids: ReadonlyArray<string>
  readonly next: unknown
}
const journalLines = (journal: string): ReadonlyArray<JournalLine> =>
  fs.readFileSync(journal, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))

/** The client, but its searches answered by `search` (given the client's own). */
const withSearch = (search: (own: HubSpotClient.Service) => HubSpotClient.Service["search"]) =>
  Effect.provideServiceEffect(
    HubSpotClient.HubSpotClient,
    Effect.map(HubSpotClient.HubSpotClient, (c) => ({ ...c, search: search(c) }))
  )

describe("HubSpotIdSource.list", () => {
  it.scopedLive("lists every object once, and a fresh run forgets a journal it did not write", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const journal = path.join(dir, ".listed-ids")
      fs.writeFileSync(journal, `${JSON.stringify({ ids: ["1", "2"], next: null })}\n`)
      const sink = RowSink.memory()
      const summary = yield* Export.run({
        pair,
        source: HubSpotIdSource.list(contacts, { journal }),
        stage: BatchRead.stage(),
        sink
      }).pipe(Effect.tagMetrics("test_run", "list"))
      const sim = yield* Simulator.Simulator
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies").rows
      assert.deepStrictEqual((yield* sink.committed).rows.map(key).sort(), truth.map(key).sort())
      assert.strictEqual(summary.idsDone, sim.portal.ids("contacts").length)
      // 250 objects: the list API's first 100 and the search API's top 200 meet at once.
      const counters = yield* sim.counters
      assert.strictEqual(counters.listRequests, 1)
      assert.strictEqual(counters.searchRequests, 1)
      const requests = yield* Metric.value(HubSpotClient.metrics.requests).pipe(Effect.tagMetrics("test_run", "list"))
      assert.strictEqual(requests.count, counters.requests)
      const total = yield* Metric.value(Export.metrics.idsTotal).pipe(Effect.tagMetrics("test_run", "list"))
      assert.strictEqual(total.value, 250)
    }).pipe(Effect.provide(Layer.merge(Simulator.layerTest({ objects: 250, pageSize: 40 }), NodeContext.layer))))

  it.scopedLive("walks up by the list API, down by search, until they meet: every id once, a third of the lists", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids("contacts")
      const dir = yield* tempDir
      const both = yield* readIds(
        HubSpotIdSource.list(contacts, { journal: path.join(dir, "both") }),
        { startedAt: Date.now(), resumed: false }
      )
      assertEveryIdOnce(both.lines, ids)
      // The total is known from the first search answer.
      assert.deepStrictEqual(both.total, Option.some(3000))
      const walked = yield* sim.counters
      // A step is a page of each, 100 ids up and 200 down: 3,000 ids in 10 steps, and one more to see them met.
      assert.strictEqual(walked.listRequests, 11)
      assert.strictEqual(walked.searchRequests, 11)
      // The lowest ids came from the list walk, the highest from the search walk, and they met a third of the way.
      const lines = journalLines(path.join(dir, "both"))
      assert.deepStrictEqual(lines[0]!.ids.slice(0, 100), ids.slice(0, 100))
      assert.deepStrictEqual(lines[0]!.ids.slice(100), ids.slice(-200).reverse())
      assert.isNull(lines.at(-1)!.next)
      const lag = String(HubSpotIdSource.searchIndexLagMillis)
      assert.deepStrictEqual(both.identity.details, { searchIndexLagMillis: lag })

      // The list API alone, as before: three times the list requests, one after another, and no total.
      yield* sim.resetCounters
      const alone = yield* readIds(
        HubSpotIdSource.list(contacts, { journal: path.join(dir, "alone"), search: false }),
        { startedAt: Date.now(), resumed: false }
      )
      assertEveryIdOnce(alone.lines, ids)
      assert.deepStrictEqual(alone.lines.map((l) => l.id), ids)
      assert.deepStrictEqual(alone.total, Option.none())
      const listed = yield* sim.counters
      assert.strictEqual(listed.listRequests, 30)
      assert.strictEqual(listed.searchRequests, 0)
      assert.isBelow(walked.listRequests + walked.searchRequests, listed.listRequests)
    }).pipe(Effect.provide(listedPortal(3000))))

  it.scopedLive("stopped at random moments, a listing resumes with the same ordinals and walks on from both ends", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids("contacts")
      const dir = yield* tempDir
      const journal = path.join(dir, ".listed-ids")
      const source = HubSpotIdSource.list(contacts, { journal })
      const startedAt = Date.now()
      // What each stopped run gave, by ordinal: a resume must give each of them the same id.
      const given = new Map<number, string>()
      const stops = 12
      let midWalk = 0
      for (let run = 0; run < stops; run++) {
        // Stopped after a random number of ids, or at a random moment (a request in flight, say).
        const opened = { startedAt, resumed: run > 0 }
        const read = Math.random() < 0.5
          ? Effect.asSome(readIds(source, opened, 1 + Math.floor(Math.random() * 400)))
          : Effect.option(Effect.timeout(readIds(source, opened), Duration.millis(5 + Math.random() * 60)))
        const got = yield* read
        if (Option.isSome(got)) {
          for (const l of got.value.lines) {
            if (given.has(l.ordinal)) assert.strictEqual(l.id, given.get(l.ordinal), `ordinal ${l.ordinal}, run ${run}`)
            given.set(l.ordinal, l.id)
          }
        }
        if (fs.existsSync(journal) && journalLines(journal).at(-1)?.next !== null) midWalk++
      }
      assert.isAtLeast(midWalk, 3, "stops fell while the walks went on")
      const last = yield* readIds(source, { startedAt, resumed: true })
      assertEveryIdOnce(last.lines, ids)
      for (const l of last.lines) if (given.has(l.ordinal)) assert.strictEqual(l.id, given.get(l.ordinal))
      // Each run walked on from where the journal stood: a stop costs at most the step it was in (11 in all).
      const counters = yield* sim.counters
      assert.isAtMost(counters.listRequests, 11 + stops)
      assert.isAtMost(counters.searchRequests, 11 + stops)
      const steps = journalLines(journal).length
      assert.isAtMost(steps, 11)
      assert.isTrue(journalLines(journal).every((l, i) => (l.next === null) === (i === steps - 1)))
    }).pipe(Effect.provide(listedPortal(3000))), 120_000)

  it.scopedLive("a journal of the list API alone (written before the search walk) resumes as it began", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids("contacts")
      const dir = yield* tempDir
      const journal = path.join(dir, ".listed-ids")
      fs.writeFileSync(journal, `${JSON.stringify({ ids: ids.slice(0, 100), next: { after: ids[100] } })}\n`)
      const source = HubSpotIdSource.list(contacts, { journal })
      const resumed = yield* readIds(source, { startedAt: Date.now(), resumed: true })
      assertEveryIdOnce(resumed.lines, ids)
      assert.deepStrictEqual(resumed.lines.map((l) => l.id), ids)
      const counters = yield* sim.counters
      assert.strictEqual(counters.listRequests, 4)
      assert.strictEqual(counters.searchRequests, 0)
    }).pipe(Effect.provide(listedPortal(500))))

  it.scopedLive("a search HubSpot refuses (400), or an empty search index, leaves the list API to list on alone", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const ids = sim.portal.ids("contacts")
      const dir = yield* tempDir
      const list = (name: string) =>
        readIds(
          HubSpotIdSource.list(contacts, { journal: path.join(dir, name) }),
          { startedAt: Date.now(), resumed: false }
        )

      // Refused after two pages of each: the ids the search walk gave stay given, once.
      let searches = 0
      const refused = yield* list("refused").pipe(withSearch((own) => (type, request) =>
        ++searches <= 2
          ? own.search(type, request)
          : new HubSpotError.HubSpotError({ reason: "BadRequest", method: "POST", path: "/search", status: 400 })
      ))
      assertEveryIdOnce(refused.lines, ids)
      assert.deepStrictEqual(refused.total, Option.some(1000), "from the first search")
      const afterRefused = yield* sim.counters
      // Two steps took 200 ids up and 400 down; the list API alone then takes the 400 between (the third step's page
      // and three more), and one page more shows it reached the ids searched.
      assert.strictEqual(afterRefused.listRequests, 2 + 4 + 1)
      assert.strictEqual(afterRefused.searchRequests, 2)

      // An index that finds nothing: the list API lists everything.
      yield* sim.resetCounters
      const empty = yield* list("empty").pipe(withSearch(() => () => Effect.succeed({ total: 0, results: [] })))
      assertEveryIdOnce(empty.lines, ids)
      assert.strictEqual((yield* sim.counters).listRequests, 10)
    }).pipe(Effect.provide(listedPortal(1000))))

  it.scopedLive("objects archived and added between a stopped run and its resume: the ordinals given stand", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.Simulator
      const before = sim.portal.ids("contacts")
      const dir = yield* tempDir
      const journal = path.join(dir, ".listed-ids")
      const source = HubSpotIdSource.list(contacts, { journal })
      const startedAt = Date.now()
      const first = yield* readIds(source, { startedAt, resumed: false }, 700)
      yield* sim.setVersion(1)
      const after = sim.portal.ids("contacts")
      const changes = sim.portal.changes("contacts")
      assert.isAbove(changes.archived.length + changes.added.length, 0)
      const resumed = yield* readIds(source, { startedAt, resumed: true })
      const lines = resumed.lines
      assert.deepStrictEqual(lines.slice(0, first.lines.length), first.lines)
      assert.deepStrictEqual(lines.map((l) => l.ordinal), lines.map((_, i) => i))
      assert.strictEqual(new Set(lines.map((l) => l.id)).size, lines.length, "no id twice")
      // Every object that existed throughout is given; an archived one only if listed before it was archived.
      const got = new Set<string>(lines.map((l) => l.id))
      const archived = new Set(changes.archived)
      const now = new Set(after)
      for (const id of before) if (!archived.has(id)) assert.isTrue(got.has(id), id)
      for (const id of got) assert.isTrue(now.has(id) || archived.has(id), id)
    }).pipe(Effect.provide(listedPortal(3000))))
})

describe("HubSpotIdSource.chainedSince", () => {
  const manifest = (source: Manifest.Manifest["export"]["source"]) =>
    Manifests.finished("contacts", "2025-01-02T00:00:00.000Z", source)

  it.effect("takes a search run's window end, or another run's start (less a search's index lag); refuses others", () =>
    Effect.gen(function*() {
      const search = { kind: "search", key: "k", description: "d", details: { until: "2025-01-01T23:55:00.000Z" } }
      assert.strictEqual(yield* HubSpotIdSource.chainedSince(manifest(search), contacts), Date.parse("2025-01-01T23:55:00.000Z"))
      const list = { kind: "list", key: "contacts", description: "d" }
      assert.strictEqual(yield* HubSpotIdSource.chainedSince(manifest(list), contacts), Date.parse("2025-01-02T00:00:00.000Z"))
      const other = yield* Effect.flip(HubSpotIdSource.chainedSince(manifest(list), ObjectType.unsafeMake("deals")))
      assert.strictEqual(other.reason, "Since")
      assert.include(other.message, "contacts, not deals")
      const noEnd = yield* Effect.flip(HubSpotIdSource.chainedSince(manifest({ kind: "search", key: "k", description: "d" }), contacts))
      assert.strictEqual(noEnd.reason, "Since")
      const chained = { kind: "chained", key: "k", description: "d", details: { until: "2025-01-01T23:50:00.000Z" } }
      assert.strictEqual(yield* HubSpotIdSource.chainedSince(manifest(chained), contacts), Date.parse("2025-01-01T23:50:00.000Z"))
      // A listing that searched by id: its start less the search index's lag, which it records.
      const searched = { kind: "list", key: "contacts", description: "d", details: { searchIndexLagMillis: "300000" } }
      const lagged = yield* HubSpotIdSource.chainedSince(manifest(searched), contacts)
      assert.strictEqual(lagged, Date.parse("2025-01-01T23:55:00.000Z"))
    }))

  it("parseMoment reads a date, or a date-time without a zone, as UTC whatever the machine's zone", () => {
    // Node reads TZ again when it changes: a zone away from UTC, so that a local reading would show.
    const zone = process.env["TZ"]
    process.env["TZ"] = "America/New_York"
    try {
      assert.notStrictEqual(new Date(Date.parse("2025-06-30T08:15")).toISOString(), "2025-06-30T08:15:00.000Z")
      const iso = (text: string) => {
        const millis = HubSpotIdSource.parseMoment(text)
        return millis === undefined ? undefined : new Date(millis).toISOString()
      }
      assert.strictEqual(iso("2025-06-30"), "2025-06-30T00:00:00.000Z")
      assert.strictEqual(iso("2025-06-30T08:15"), "2025-06-30T08:15:00.000Z")
      assert.strictEqual(iso("2025-06-30 08:15:30.5"), "2025-06-30T08:15:30.500Z")
      assert.strictEqual(iso("2025-06-30T08:15:00+02:00"), "2025-06-30T06:15:00.000Z")
      assert.strictEqual(iso(" 2025-06-30T08:15:00Z "), "2025-06-30T08:15:00.000Z")
      assert.isUndefined(iso("yesterday"))
      assert.isUndefined(iso("2025-13-40"))
    } finally {
      if (zone === undefined) delete process.env["TZ"]
      else process.env["TZ"] = zone
    }
  })
})
