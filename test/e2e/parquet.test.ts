/**
 * Parquet exports as readers meet them, through the built CLI against the simulator: row groups of 122,880 rows
 * with min/max statistics on every column chunk (DuckDB's `parquet_metadata`), every row exactly once, and a
 * kill -9 while a part is being encoded (its first row group written, the next in the worker), then a rerun.
 */
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { diffRows, literal, query, readParquet } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { cli, writeIds } from "./support.js"

const token = "parquet-test-token"
const groupRows = 122_880

const simulator = Simulator.make({
  seed: 19,
  objects: 8000,
  token,
  rateLimit: { max: 1000, windowMillis: 1000 }
})

const exportArgs = (baseUrl: string, ids: string, out: string, ...more: ReadonlyArray<string>) => [
  "export", "--from", "contacts", "--to", "companies", "--out", out, "--ids", ids, "--format", "parquet",
  "--base-url", baseUrl, "--rate-limit", "1000/1s", ...more
]
const env = { HUBSPOT_ACCESS_TOKEN: token }

/** Each part's row groups and, per column chunk, whether it has both statistics. */
const layoutOf = (out: string) =>
  query(
    `SELECT file_name AS file, row_group_id AS g, row_group_num_rows::INTEGER AS n, path_in_schema AS col,
       stats_min_value IS NOT NULL AND stats_max_value IS NOT NULL AS stats
     FROM parquet_metadata(${literal(path.join(out, "*.parquet"))}) ORDER BY file_name, row_group_id, column_id`
  )

/** The parts' rows against the portal's, and the layout every part must have. */
const assertExport = (out: string, portal: SimulatedPortal.SimulatedPortal, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const truth = SimulatedPortal.groundTruth(portal, "contacts", "companies", ids)
    const rows = yield* readParquet(path.join(out, "*.parquet"))
    const diff = diffRows(truth.rows, rows)
    assert.deepStrictEqual([diff.missing.length, diff.extra.length], [0, 0], "every row exactly once")

    const chunks = yield* layoutOf(out)
    const byFile = new Map<string, Map<number, number>>()
    for (const c of chunks) {
      assert.isTrue(c["stats"], `${c["file"]} group ${c["g"]}: min and max of ${c["col"]}`)
      const groups = byFile.get(String(c["file"])) ?? new Map<number, number>()
      groups.set(Number(c["g"]), Number(c["n"]))
      byFile.set(String(c["file"]), groups)
    }
    let total = 0
    for (const [file, groups] of byFile) {
      const sizes = [...groups.values()]
      // Full groups, then the part's rest.
      sizes.slice(0, -1).forEach((n) => assert.strictEqual(n, groupRows, file))
      assert.isAtMost(sizes.at(-1)!, groupRows, file)
      total += sizes.reduce((a, b) => a + b, 0)
    }
    assert.strictEqual(total, truth.rows.length)
    return { parts: byFile.size, groups: [...byFile.values()].reduce((n, g) => n + g.size, 0), rows: total }
  })

describe("Parquet export", () => {
  it.scopedLive("row groups of 122,880 rows with statistics on every column chunk, every row once", () =>
    Effect.gen(function*() {
      const sim = yield* simulator
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const file = writeIds(dir, ids)
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, file, out, "--part-rows", "200000"), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      const layout = yield* assertExport(out, sim.portal, ids)
      assert.isAbove(layout.rows, 2 * groupRows, "enough rows for full groups")
      assert.isAbove(layout.groups, layout.parts, "parts of more than one group")
    }), { timeout: 180_000 })

  it.scopedLive("--compression zstd: ZSTD column chunks DuckDB reads, every row once; with ndjson it is refused", () =>
    Effect.gen(function*() {
      const sim = yield* simulator
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 2000)
      const file = writeIds(dir, ids)
      const out = path.join(dir, "zstd")
      const ran = yield* cli(exportArgs(sim.baseUrl, file, out, "--compression", "zstd"), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* assertExport(out, sim.portal, ids)
      const codecs = yield* query(
        `SELECT DISTINCT compression FROM parquet_metadata(${literal(path.join(out, "*.parquet"))})`
      )
      assert.deepStrictEqual(codecs.map((c) => String(c["compression"]).toUpperCase()), ["ZSTD"])
      const labels = yield* query(`SELECT count(*)::INTEGER AS n FROM read_parquet(${literal(path.join(out, "_labels/labels.parquet"))})`)
      assert.isAbove(Number(labels[0]!["n"]), 0)

      const refused = yield* cli(
        ["export", "--from", "contacts", "--to", "companies", "--out", path.join(dir, "nd"), "--ids", file,
          "--compression", "zstd", "--base-url", sim.baseUrl],
        { env }
      )
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr, "--compression: only with --format parquet")
      assert.isFalse(fs.existsSync(path.join(dir, "nd")))
    }), { timeout: 180_000 })

  it.scopedLive("kill -9 while a part is encoded, then a rerun: no partial part is ever visible, every row once", () =>
    Effect.gen(function*() {
      const sim = yield* simulator
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const file = writeIds(dir, ids)
      const out = path.join(dir, "out")
      const args = exportArgs(sim.baseUrl, file, out)
      /** The open part's temp file holds a finished row group: the worker encodes the next one meanwhile. */
      const encoding = () =>
        fs.existsSync(out) && fs.readdirSync(out).some((n) =>
          /^\.part-\d+\.parquet\.tmp$/.test(n) && fs.statSync(path.join(out, n)).size > 4
        )
      let child: ChildProcess | undefined
      const killer = yield* Effect.fork(Effect.gen(function*() {
        yield* Effect.repeat(Effect.sync(encoding), { until: (yes) => yes, schedule: Schedule.spaced("5 millis") })
        child?.kill("SIGKILL")
      }))
      const killed = yield* cli(args, { env, onSpawn: (c) => child = c })
      yield* Fiber.interrupt(killer)
      assert.strictEqual(killed.signal, "SIGKILL", `killed while encoding (it exited ${killed.code}: ${killed.stderr})`)
      // What a reader sees after the kill: no part, or only whole ones the checkpoint lists.
      const visible = fs.readdirSync(out).filter((n) => n.startsWith("part-"))
      const checkpoint = JSON.parse(fs.readFileSync(path.join(out, ".checkpoint.json"), "utf8"))
      const listed = (checkpoint.dataset.parts as ReadonlyArray<{ name: string; bytes: number }>)
      for (const name of visible) {
        const entry = listed.find((p) => p.name === name)
        assert.isDefined(entry, `${name} is committed`)
        assert.strictEqual(fs.statSync(path.join(out, name)).size, entry!.bytes, `${name} is whole`)
      }
      if (visible.length > 0) yield* readParquet(path.join(out, "part-*.parquet"))
      assert.isFalse(fs.existsSync(path.join(out, "_SUCCESS")))

      const rerun = yield* cli(args, { env })
      assert.strictEqual(rerun.code, 0, rerun.stderr)
      yield* assertExport(out, sim.portal, ids)
      assert.deepStrictEqual(fs.readdirSync(out).filter((n) => n.startsWith(".part-")), [])
    }), { timeout: 180_000 })
})
