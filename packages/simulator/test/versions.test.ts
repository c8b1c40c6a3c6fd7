/**
 * Dataset versions (issue 16): version 0 is the portal as it always was; version 1 is version 0 with objects
 * archived, added and edited, and nothing else. A test exports version 0, switches, exports again and compares.
 */
import type { AssociationRow } from "@assoc-etl/core"
import { ObjectType } from "@assoc-etl/core"
import { AssociationsApi as Api, Flatten } from "@assoc-etl/hubspot"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { SimulatedPortal, Simulator } from "../src/index.js"

const types = ["contacts", "companies", "deals", "tickets"]
const pairs = [["contacts", "companies"], ["deals", "tickets"], ["companies", "companies"]] as const
const hour = 3_600_000
/** In the past, as a modified-since run needs: its search window ends before it starts. */
const changedAt = Date.UTC(2026, 0, 10, 12)

const v0 = SimulatedPortal.make({ seed: 7, objects: 2000, types })
const v1 = SimulatedPortal.make({ seed: 7, objects: 2000, types, version: 1, changedAt })

const rowKey = (r: AssociationRow.AssociationRow) =>
  `${r.from_object_id}|${r.to_object_id}|${r.association_category}|${r.association_type_id}|${r.association_label}`

/** The rows of `a` not in `b`, as multisets. */
const minus = (a: ReadonlyArray<AssociationRow.AssociationRow>, b: ReadonlyArray<AssociationRow.AssociationRow>) => {
  const counts = new Map<string, number>()
  for (const r of b) counts.set(rowKey(r), (counts.get(rowKey(r)) ?? 0) + 1)
  return a.filter((r) => {
    const n = counts.get(rowKey(r)) ?? 0
    if (n > 0) counts.set(rowKey(r), n - 1)
    return n === 0
  })
}

const sorted = (ids: ReadonlyArray<string>) => [...ids].sort(SimulatedPortal.compareObjectIds)

/** The rows of one object in a portal, but those to an object of `archivedTo`. */
const keptRows = (
  portal: SimulatedPortal.SimulatedPortal,
  from: string,
  to: string,
  id: string,
  archivedTo: ReadonlySet<string>
) => SimulatedPortal.groundTruth(portal, from, to, [id]).rows.filter((r) => !archivedTo.has(r.to_object_id))

describe("SimulatedPortal versions", () => {
  it("version 0 is the default portal: the same ids, associations and times, no changes", () => {
    const explicit = SimulatedPortal.make({ seed: 7, objects: 2000, types, version: 0, changedAt })
    assert.strictEqual(v0.version, 0)
    assert.strictEqual(explicit.version, 0)
    assert.strictEqual(explicit.changedAt, undefined)
    for (const type of types) {
      assert.deepStrictEqual(explicit.ids(type), v0.ids(type))
      const none = { archived: [], added: [], changedVisibly: [], changedSilently: [] }
      assert.deepStrictEqual(explicit.changes(type), none)
      for (const id of v0.ids(type).slice(0, 300)) {
        assert.strictEqual(explicit.lastModified(type, id), v0.lastModified(type, id))
        assert.strictEqual(explicit.createdAt(type, id), v0.createdAt(type, id))
        assert.strictEqual(explicit.changeOf(type, id), undefined)
      }
    }
    for (const [from, to] of pairs) {
      assert.deepStrictEqual(SimulatedPortal.groundTruth(explicit, from, to), SimulatedPortal.groundTruth(v0, from, to))
    }
    assert.throws(() => SimulatedPortal.make({ seed: 7, objects: 10, types, version: 2 }), /version 2/)
  })

  it("version 1 is drawn from the seed: the same changes for a seed, times that follow changedAt", () => {
    const again = SimulatedPortal.make({ seed: 7, objects: 2000, types, version: 1, changedAt })
    const later = SimulatedPortal.make({ seed: 7, objects: 2000, types, version: 1, changedAt: changedAt + 86_400_000 })
    const other = SimulatedPortal.make({ seed: 8, objects: 2000, types, version: 1, changedAt })
    assert.strictEqual(v1.version, 1)
    assert.strictEqual(v1.changedAt, changedAt)
    for (const type of types) {
      assert.deepStrictEqual(again.changes(type), v1.changes(type))
      assert.deepStrictEqual(later.ids(type), v1.ids(type))
      for (const id of v1.changes(type).added) {
        assert.strictEqual(later.lastModified(type, id), v1.lastModified(type, id) + 86_400_000)
      }
    }
    assert.notDeepEqual(other.changes("contacts").archived, v1.changes("contacts").archived)
    assert.deepStrictEqual(
      SimulatedPortal.groundTruth(again, "contacts", "companies"),
      SimulatedPortal.groundTruth(v1, "contacts", "companies")
    )
  })

  it("archives about 1%, adds 1% with new ids, edits about 2%, half of those visibly", () => {
    for (const type of types) {
      const changes = v1.changes(type)
      const share = (ids: ReadonlyArray<string>) => ids.length / 2000
      assert.isAtLeast(share(changes.archived), 0.004)
      assert.isAtMost(share(changes.archived), 0.02)
      assert.strictEqual(changes.added.length, 20)
      assert.isAtLeast(share(changes.changedVisibly), 0.004)
      assert.isAtMost(share(changes.changedVisibly), 0.02)
      assert.isAtLeast(share(changes.changedSilently), 0.004)
      assert.isAtMost(share(changes.changedSilently), 0.02)
      const all = [...changes.archived, ...changes.added, ...changes.changedVisibly, ...changes.changedSilently]
      assert.strictEqual(new Set(all).size, all.length)
      for (const [change, ids] of Object.entries(changes)) {
        assert.deepStrictEqual(ids, sorted(ids))
        for (const id of ids) assert.strictEqual(v1.changeOf(type, id), change)
      }

      // The ids: version 0's without the archived, with the added, ascending; every position and membership agree.
      const archived = new Set(changes.archived)
      const expected = sorted([...v0.ids(type).filter((id) => !archived.has(id)), ...changes.added])
      assert.deepStrictEqual(v1.ids(type), expected)
      assert.strictEqual(v1.size(type), expected.length)
      expected.forEach((id, i) => assert.strictEqual(v1.idAt(type, i), id))
      assert.strictEqual(v1.idAt(type, expected.length), undefined)
      for (const id of changes.archived) assert.isFalse(v1.has(type, id))
      for (const id of changes.added) {
        assert.isTrue(v1.has(type, id))
        assert.isFalse(v0.has(type, id))
        assert.isTrue(BigInt(id) > BigInt(v0.ids(type)[0]!))
      }
      for (const id of v0.ids(type).slice(0, 300)) {
        if (!archived.has(id)) assert.isTrue(v1.has(type, id))
      }
      // The added ids come after version 0's ordinary ids and before its big ones, so some are beyond 2^53 still.
      assert.isTrue(expected.some((id) => BigInt(id) > 2n ** 53n))
    }
  })

  it("dates the added and the visibly edited in the change window, and nothing else", () => {
    const start = changedAt - hour
    for (const type of types) {
      const changes = v1.changes(type)
      for (const id of changes.added) {
        const created = v1.createdAt(type, id)
        const modified = v1.lastModified(type, id)
        assert.isAtLeast(created, start)
        assert.isAtMost(created, modified)
        assert.isBelow(modified, changedAt)
      }
      for (const id of changes.changedVisibly) {
        const modified = v1.lastModified(type, id)
        assert.isAtLeast(modified, start)
        assert.isBelow(modified, changedAt)
        assert.strictEqual(v1.createdAt(type, id), v0.createdAt(type, id))
      }
      const moved = new Set([...changes.added, ...changes.changedVisibly])
      for (const id of v1.ids(type)) {
        if (moved.has(id)) continue
        assert.strictEqual(v1.lastModified(type, id), v0.lastModified(type, id))
        assert.strictEqual(v1.createdAt(type, id), v0.createdAt(type, id))
      }
    }
  })

  it("differs from version 0's rows as the changes say: a multiset diff, category by category", () => {
    let relabelled = 0
    let toAdded = 0
    for (const [from, to] of pairs) {
      const old = SimulatedPortal.groundTruth(v0, from, to)
      const now = SimulatedPortal.groundTruth(v1, from, to)
      const deleted = minus(old.rows, now.rows)
      const inserted = minus(now.rows, old.rows)
      const fromChanges = v1.changes(from)
      const archivedFrom = new Set(fromChanges.archived)
      const archivedTo = new Set(v1.changes(to).archived)
      const addedFrom = new Set(fromChanges.added)
      const addedTo = new Set(v1.changes(to).added)
      const edited = new Set([...fromChanges.changedVisibly, ...fromChanges.changedSilently])

      // Every deletion is from an archived or edited object, or to an archived one; every insertion from an
      // added or edited object; and only edited objects gain associations to added ones.
      for (const r of deleted) {
        const explained = archivedFrom.has(r.from_object_id) || archivedTo.has(r.to_object_id) ||
          edited.has(r.from_object_id)
        assert.isTrue(explained, rowKey(r))
      }
      for (const r of inserted) {
        assert.isTrue(addedFrom.has(r.from_object_id) || edited.has(r.from_object_id), rowKey(r))
        if (addedTo.has(r.to_object_id)) toAdded++
      }
      for (const r of now.rows) assert.isFalse(archivedTo.has(r.to_object_id))

      // The archived are gone whole, and refused as unknown; the added are new whole.
      const archivedRows = old.rows.filter((r) => archivedFrom.has(r.from_object_id))
      assert.isAbove(archivedRows.length, 0)
      assert.deepStrictEqual(minus(archivedRows, deleted), [])
      const refused = SimulatedPortal.groundTruth(v1, from, to, fromChanges.archived).unknownIds
      assert.deepStrictEqual(refused, fromChanges.archived)
      const addedRows = now.rows.filter((r) => addedFrom.has(r.from_object_id))
      assert.isAbove(addedRows.length, 0)
      assert.deepStrictEqual(minus(addedRows, inserted), [])

      // Each edited object differs (beyond what archiving took), visibly or not; a relabel keeps the object.
      for (const id of edited) {
        const before = keptRows(v0, from, to, id, archivedTo)
        const after = SimulatedPortal.groundTruth(v1, from, to, [id]).rows
        const gone = minus(before, after)
        const came = minus(after, before)
        assert.isAbove(gone.length + came.length, 0, id)
        const goneTo = new Set(gone.map((r) => r.to_object_id))
        if (came.some((r) => goneTo.has(r.to_object_id))) relabelled++
      }

      // Any other object keeps its rows, but those to archived objects.
      for (const id of v1.ids(from)) {
        if (edited.has(id) || addedFrom.has(id)) continue
        const before = keptRows(v0, from, to, id, archivedTo)
        assert.deepStrictEqual(SimulatedPortal.groundTruth(v1, from, to, [id]).rows, before)
      }
    }
    assert.isAbove(relabelled, 0)
    assert.isAbove(toAdded, 0)
  })

  it("stays lazy at 1,000,000 objects a type: memberships by formula, one small index per type", () => {
    const huge = SimulatedPortal.make({ seed: 3, objects: 1_000_000, types, version: 1, changedAt })
    const base = SimulatedPortal.make({ seed: 3, objects: 1_000_000, types })
    const changes = huge.changes("contacts")
    assert.strictEqual(changes.added.length, 10_000)
    assert.strictEqual(huge.size("contacts"), 1_000_000 - changes.archived.length + 10_000)
    const last = huge.idAt("contacts", huge.size("contacts") - 1)!
    const archived = new Set(changes.archived)
    let i = 999_999
    while (archived.has(base.idAt("contacts", i)!)) i--
    assert.strictEqual(last, base.idAt("contacts", i))
    assert.isTrue(huge.has("contacts", changes.added[9_999]!))
    assert.isFalse(huge.has("contacts", changes.archived[0]!))
    for (const id of [changes.added[0]!, changes.changedSilently[0]!, last]) {
      for (const a of huge.associations("contacts", "deals", id)) assert.isTrue(huge.has("deals", a.toObjectId))
    }
  })
})

const decodeBatch = Schema.decodeUnknownSync(Api.BatchReadResponse)
const decodeList = Schema.decodeUnknownSync(Api.ListObjectsResponse)
const decodeSearch = Schema.decodeUnknownSync(Api.SearchResponse)
const noLimits = { rateLimit: { max: 0, windowMillis: 10_000 }, searchRateLimit: { max: 0, windowMillis: 1000 } }
const pair: AssociationRow.Pair = {
  fromType: ObjectType.unsafeMake("contacts"),
  toType: ObjectType.unsafeMake("companies")
}

const call = (sim: Simulator.SimulatorService, path: string, body?: unknown) =>
  Effect.promise(async () => {
    const init: RequestInit = {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sim-token" }
    }
    if (body !== undefined) init.body = JSON.stringify(body)
    const res = await fetch(sim.baseUrl + path, init)
    return { status: res.status, text: await res.text() }
  })

/** Every row of `ids` through batch read, following each cursor, and the ids refused as OBJECT_NOT_FOUND. */
const exportRows = (sim: Simulator.SimulatorService, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const rows: Array<AssociationRow.AssociationRow> = []
    const refused: Array<string> = []
    let pending: Array<{ id: string; after?: string }> = ids.map((id) => ({ id }))
    while (pending.length > 0) {
      const reply = yield* call(sim, "/crm/associations/2026-03/contacts/companies/batch/read", {
        inputs: pending.slice(0, 1000)
      })
      pending = pending.slice(1000)
      assert.include([200, 207], reply.status, reply.text.slice(0, 300))
      const answer = decodeBatch(JSON.parse(reply.text))
      rows.push(...Flatten.rows(pair, answer))
      for (const e of answer.errors ?? []) {
        assert.strictEqual(e.category, "OBJECT_NOT_FOUND")
        refused.push(...(e.context?.["fromObjectId"] ?? []))
      }
      for (const result of answer.results) {
        const after = result.paging?.next?.after
        if (after !== undefined) pending.push({ id: result.from.id, after })
      }
    }
    return { rows, refused }
  })

const listAll = (sim: Simulator.SimulatorService, type: string) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    let after: string | undefined
    do {
      const reply = yield* call(sim, `/crm/v3/objects/${type}?limit=100${after === undefined ? "" : `&after=${after}`}`)
      assert.strictEqual(reply.status, 200)
      const page = decodeList(JSON.parse(reply.text))
      ids.push(...page.results.map((r) => r.id))
      after = page.paging?.next?.after
    } while (after !== undefined)
    return ids
  })

/** The ids of `type` modified at or after `since`, through search by the type's modification property. */
const modifiedSince = (sim: Simulator.SimulatorService, type: string, property: string, since: number) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    let after: string | undefined
    do {
      const reply = yield* call(sim, `/crm/v3/objects/${type}/search`, {
        filterGroups: [{ filters: [{ propertyName: property, operator: "GTE", value: String(since) }] }],
        sorts: [{ propertyName: "hs_object_id", direction: "ASCENDING" }],
        limit: 200,
        ...(after === undefined ? {} : { after })
      })
      assert.strictEqual(reply.status, 200, reply.text)
      const page = decodeSearch(JSON.parse(reply.text))
      ids.push(...page.results.map((r) => r.id))
      after = page.paging?.next?.after
    } while (after !== undefined)
    return ids
  })

describe("Simulator versions", () => {
  it.scoped("switches a running simulator to version 1: refuses the archived, lists the added, exports its rows", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 7, objects: 2000, pageSize: 50, ...noLimits })
      assert.strictEqual(sim.portal.version, 0)
      const ids0 = sim.portal.ids("contacts")
      const before = yield* exportRows(sim, ids0)
      assert.deepStrictEqual(before.refused, [])
      const truth0 = SimulatedPortal.groundTruth(v0, "contacts", "companies")
      assert.deepStrictEqual(sorted(before.rows.map(rowKey)), sorted(truth0.rows.map(rowKey)))

      yield* sim.setVersion(1, { changedAt })
      assert.strictEqual(sim.portal.version, 1)
      assert.strictEqual(sim.portal.changedAt, changedAt)
      const changes = sim.portal.changes("contacts")
      assert.deepStrictEqual(changes, v1.changes("contacts"))

      // Version 0's ids again: the archived come back refused, as unknown ids, and the rows are version 1's.
      const after = yield* exportRows(sim, ids0)
      assert.deepStrictEqual(sorted(after.refused), changes.archived)
      const truth = SimulatedPortal.groundTruth(v1, "contacts", "companies", ids0)
      assert.deepStrictEqual(truth.unknownIds, changes.archived)
      assert.deepStrictEqual(sorted(after.rows.map(rowKey)), sorted(truth.rows.map(rowKey)))
      const added = yield* exportRows(sim, changes.added)
      assert.deepStrictEqual(added.refused, [])
      assert.deepStrictEqual(
        sorted(added.rows.map(rowKey)),
        sorted(SimulatedPortal.groundTruth(v1, "contacts", "companies", changes.added).rows.map(rowKey))
      )

      const listed = yield* listAll(sim, "contacts")
      assert.deepStrictEqual(listed, v1.ids("contacts"))
      const listedSet = new Set(listed)
      for (const id of changes.added) assert.isTrue(listedSet.has(id))
      for (const id of changes.archived) assert.isFalse(listedSet.has(id))

      // Back to version 0: the archived are there again.
      yield* sim.setVersion(0)
      assert.strictEqual(sim.portal.version, 0)
      assert.deepStrictEqual(yield* listAll(sim, "contacts"), ids0)
      assert.deepStrictEqual((yield* exportRows(sim, changes.archived)).refused, [])
    }))

  it.scoped("search by modification time finds the visibly edited and the added, not the silently edited", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 7, objects: 2000, version: 1, changedAt, ...noLimits })
      for (const [type, property] of [["contacts", "lastmodifieddate"], ["deals", "hs_lastmodifieddate"]] as const) {
        const changes = sim.portal.changes(type)
        // A run of version 0 ended before the window: what changed since is what a modified-since run sees.
        const found = yield* modifiedSince(sim, type, property, changedAt - hour)
        assert.deepStrictEqual(found, sorted([...changes.changedVisibly, ...changes.added]))
        const seen = new Set(found)
        for (const id of changes.changedSilently) assert.isFalse(seen.has(id))
        for (const id of changes.archived) assert.isFalse(seen.has(id))
      }
      // Version 0 has nothing modified in that window.
      yield* sim.setVersion(0)
      assert.deepStrictEqual(yield* modifiedSince(sim, "contacts", "lastmodifieddate", changedAt - hour), [])
    }))

  it.scoped("dates version 1 by the Clock unless told: the change window ends when the version was set", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(changedAt)
      const started = yield* Simulator.make({ objects: 100, version: 1, ...noLimits })
      assert.strictEqual(started.portal.changedAt, changedAt)
      const sim = yield* Simulator.make({ objects: 100, ...noLimits })
      yield* TestClock.adjust("2 hours")
      yield* sim.setVersion(1)
      assert.strictEqual(sim.portal.changedAt, changedAt + 2 * hour)
      for (const id of sim.portal.changes("contacts").added) {
        assert.isAtLeast(sim.portal.lastModified("contacts", id), changedAt + hour)
      }
    }))
})

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

const runBin = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })),
    (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

describe("bin --dataset-version", () => {
  it.scopedLive("serves version 1 with its change window from --changed-at; refuses another version", () =>
    Effect.gen(function*() {
      assert.isTrue(existsSync(bin), "packages/simulator/dist/bin.js is missing: run `npx tsc -b` first")
      const child = yield* runBin([
        "--objects", "300", "--seed", "5", "--rate-limit", "off",
        "--dataset-version", "1", "--changed-at", new Date(changedAt).toISOString()
      ])
      const url = yield* Effect.async<string>((resume) => {
        let text = ""
        child.stdout.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8")
          if (text.includes("\n")) resume(Effect.succeed(text.slice(0, text.indexOf("\n"))))
        })
      })
      const portal = SimulatedPortal.make({ seed: 5, objects: 300, types, version: 1, changedAt })
      const sim = { baseUrl: url } as Simulator.SimulatorService
      assert.deepStrictEqual(yield* listAll(sim, "contacts"), portal.ids("contacts"))
      const found = yield* modifiedSince(sim, "contacts", "lastmodifieddate", changedAt - hour)
      const changes = portal.changes("contacts")
      assert.deepStrictEqual(found, sorted([...changes.changedVisibly, ...changes.added]))

      const bad = yield* runBin(["--dataset-version", "2"])
      const code = yield* Effect.async<number | null>((resume) => {
        if (bad.exitCode !== null) resume(Effect.succeed(bad.exitCode))
        else bad.once("exit", (c) => resume(Effect.succeed(c)))
      })
      assert.strictEqual(code, 2)
    }))
})
