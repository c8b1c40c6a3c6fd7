/**
 * Night after night against a portal that changes in between (the simulator's version 1 of its data: objects
 * archived and added, associations added, removed and relabelled, only some of them moving the object's
 * modification date): the chained snapshot (`--ids-from`, implied by `--diff-against`) is exact without listing
 * every object, its `_changes/` are exactly what changed, and a `--since` run misses the silent changes.
 */
import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { multiset, ndjsonSource, query, readNdjson, type Row, rowKey } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness, sortedKeys } from "./support.js"

const token = "nightly-test-token"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 400, rateLimit: "300/1s" })

const hour = 3_600_000

/** Sets back when a finished export says it started: as if it had run `millis` earlier. */
const startedEarlier = (dir: string, millis: number) => {
  const file = path.join(dir, "manifest.json")
  const manifest = JSON.parse(fs.readFileSync(file, "utf8"))
  manifest.startedAt = new Date(Date.parse(manifest.startedAt) - millis).toISOString()
  fs.writeFileSync(file, JSON.stringify(manifest))
}

/** The rows of `a` not in `b`, as multisets, as sorted keys. */
const minus = (a: ReadonlyArray<Row>, b: ReadonlyArray<Row>): ReadonlyArray<string> => {
  const left = multiset(b)
  const out: Array<string> = []
  for (const row of a) {
    const key = rowKey(row)
    const n = left.get(key) ?? 0
    if (n > 0) left.set(key, n - 1)
    else out.push(key)
  }
  return out.sort()
}

describe("the nightly snapshot, chained to the night before", () => {
  it.scopedLive("--diff-against: the snapshot chained, exact without listing; its _changes exact; --since misses some", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ objects: 600 })
      const dir = yield* tempDir
      const night1 = path.join(dir, "night1")
      const first = yield* cli(exportArgs(sim.baseUrl, night1), { env })
      assert.strictEqual(first.code, 0, first.stderr)
      const v0 = sim.portal
      // The night before ran 3 hours ago; the portal changed between then and an hour ago.
      startedEarlier(night1, 3 * hour)
      yield* sim.setVersion(1, { changedAt: Date.now() - hour })
      const v1 = sim.portal
      const changes = v1.changes("contacts")
      assert.isAbove(changes.changedSilently.length, 0)
      assert.isAbove(changes.archived.length, 0)

      const before = yield* sim.counters
      const night2 = path.join(dir, "night2")
      const second = yield* cli(exportArgs(sim.baseUrl, night2, "--diff-against", night1), { env })
      // Archived contacts of the night before come back refused: exit 3, each named in errors.ndjson.
      assert.strictEqual(second.code, 3, second.stderr)
      const truth = SimulatedPortal.groundTruth(v1, "contacts", "companies")
      yield* assertExact(night2, v1)
      const refused = fs.readFileSync(path.join(night2, "_errors/errors.ndjson"), "utf8").trim().split("\n")
        .map((l) => JSON.parse(l) as { object_id: string; category: string })
      assert.deepStrictEqual(refused.map((r) => r.object_id).sort(), [...changes.archived].sort())
      assert.isTrue(refused.every((r) => r.category === "OBJECT_NOT_FOUND"))
      const after = yield* sim.counters
      assert.strictEqual(after.listRequests - before.listRequests, 0, "nothing listed")
      assert.isAbove(after.searchRequests - before.searchRequests, 0, "the changed objects searched")
      assert.isAbove(truth.rows.length, 1000)

      // _changes/: exactly the multiset difference between the two versions' ground truths, covered by _SUCCESS.
      const old = SimulatedPortal.groundTruth(v0, "contacts", "companies").rows
      const changes2 = path.join(night2, "_changes")
      assert.isTrue(fs.existsSync(path.join(night2, "_SUCCESS")) && fs.existsSync(path.join(changes2, "_SUCCESS")))
      const changed = yield* query(
        `SELECT * FROM ${ndjsonSource(path.join(changes2, "*.ndjson")).replace(/\}\)$/, ", op: 'VARCHAR'})")}`
      )
      const keysOf = (op: string) =>
        changed.filter((r) => r["op"] === op).map((r) => rowKey(r as unknown as Row)).sort()
      const inserts = keysOf("insert")
      const deletes = keysOf("delete")
      assert.deepStrictEqual(inserts, minus(truth.rows, old))
      assert.deepStrictEqual(deletes, minus(old, truth.rows))
      assert.isAbove(inserts.length, 0)
      assert.isAbove(deletes.length, 0)
      assert.strictEqual(changed.length, inserts.length + deletes.length, "every row is an insert or a delete")
      assert.match(second.stderr, new RegExp(`changes since ${night1}: ${inserts.length} inserted, ${deletes.length} deleted`))

      // The same night as a --since run: only objects whose modification date moved, so the silent changes are
      // missed: their associations in version 1 are in no row of it, though they changed.
      const sinceRun = path.join(dir, "since")
      const third = yield* cli(exportArgs(sim.baseUrl, sinceRun, "--since", night1), { env })
      assert.strictEqual(third.code, 0, third.stderr)
      const seen = new Set((yield* readNdjson(path.join(sinceRun, "*.ndjson"))).map((r) => r.from_object_id))
      for (const id of changes.changedVisibly) assert.isTrue(seen.has(id) || v1.associations("contacts", "companies", id).length === 0)
      const missed = changes.changedSilently.filter((id) =>
        minus(
          SimulatedPortal.groundTruth(v1, "contacts", "companies", [id]).rows,
          SimulatedPortal.groundTruth(v0, "contacts", "companies", [id]).rows
        ).length > 0
      )
      assert.isAbove(missed.length, 0)
      for (const id of missed) assert.isFalse(seen.has(id), `${id} changed silently: a --since run cannot see it`)
      // The chained snapshot holds them.
      const chainedIds = new Set((yield* readNdjson(path.join(night2, "*.ndjson"))).map((r) => r.from_object_id))
      for (const id of missed) assert.isTrue(chainedIds.has(id))
      assert.deepStrictEqual(sortedKeys(truth.rows).length, truth.rows.length)
    }))
})
