/**
 * The examples of `examples/`, compiled, run as a user runs them (node, the token and base URL from the
 * environment) against the simulator: their output read back by DuckDB and compared with the simulator's
 * ground truth.
 */
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import type { ChildProcess } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { diffRows, literal, query, readParquet, type Row } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { root, run, writeIds } from "./support.js"

const token = "examples-token"

const example = (name: string, args: ReadonlyArray<string>, baseUrl: string, onSpawn?: (child: ChildProcess) => void) =>
  run(process.execPath, [path.join(root, "examples/dist", `${name}.js`), ...args], {
    env: { HUBSPOT_ACCESS_TOKEN: token, HUBSPOT_BASE_URL: baseUrl },
    ...(onSpawn === undefined ? {} : { onSpawn })
  })

/** The CSV the example writes, read by DuckDB, as rows of the pair (an empty label is read as null). */
const readCsv = (file: string) =>
  Effect.map(
    query(`SELECT * FROM read_csv(${literal(file)}, header = true, quote = '"', escape = '"', all_varchar = true)`),
    (records) =>
      records.map((r): Row => ({
        from_object_type: "contacts",
        from_object_id: String(r["from_id"]),
        to_object_type: "companies",
        to_object_id: String(r["to_id"]),
        association_category: String(r["category"]),
        association_type_id: Number(r["type_id"]),
        association_label: r["label"] === null ? null : String(r["label"])
      }))
  )

describe("examples", () => {
  it.scopedLive("csv-sink: killed at random moments and run again, every association once in the CSV", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({
        seed: 5,
        objects: 3000,
        pageSize: 100,
        token,
        rateLimit: { max: 200, windowMillis: 1000 },
        latencyMillis: [5, 25],
        faults: { status503: 0.02, drop: 0.02, truncate: 0.02 }
      })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const file = writeIds(dir, ids)
      const csv = path.join(dir, "out.csv")
      const requests = Effect.map(sim.counters, (c) => c.requests)
      let killed = 0
      let finished = false
      for (let attempt = 0; attempt < 40 && !finished; attempt++) {
        let child: ChildProcess | undefined
        const before = yield* requests
        // Killed three times, each a random moment after the run's third request arrived (the export makes dozens,
        // so a kill never comes after the run ended and resumes always have work left).
        const killer = yield* Effect.fork(Effect.gen(function*() {
          yield* Effect.repeat(requests, { until: (n) => n > before + 2, schedule: Schedule.spaced("2 millis") })
          yield* Effect.sleep(Math.floor(Math.random() * 150))
          if (killed < 3 && child !== undefined) child.kill("SIGKILL")
        }))
        const ran = yield* example("csv-sink", [file, csv], sim.baseUrl, (c) => child = c)
        yield* Fiber.interrupt(killer)
        if (ran.signal === "SIGKILL") {
          killed++
          // A kill between an append and its commit leaves rows past the last commit: as if it had, the resume
          // must cut them away.
          if (fs.existsSync(csv)) fs.appendFileSync(csv, "1,2,UNCOMMITTED,1,a row appended but never committed\n")
        } else {
          assert.strictEqual(ran.code, 0, ran.stderr)
          finished = true
        }
      }
      assert.isTrue(finished)
      assert.strictEqual(killed, 3)
      // Each killed run left work: the whole export took many more requests than the kills came after.
      assert.isAbove(yield* requests, 3 * 3 + 10)
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids).rows
        .map((r) => ({ ...r, association_label: r.association_label === "" ? null : r.association_label }))
      const rows = yield* readCsv(csv)
      const diff = diffRows(truth, rows)
      assert.deepStrictEqual([diff.missing.length, diff.extra.length], [0, 0], JSON.stringify(diff.extra.slice(0, 3)))

      // Finished: a rerun asks nothing.
      const after = yield* requests
      const again = yield* example("csv-sink", [file, csv], sim.baseUrl)
      assert.strictEqual(again.code, 0, again.stderr)
      assert.include(again.stdout + again.stderr, "already-complete")
      assert.strictEqual(yield* requests, after)
    }), { timeout: 180_000 })

  it.scopedLive("stream-to-parquet: ids from the program's own stream into a Parquet dataset", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 6, objects: 1500, pageSize: 100, token, rateLimit: { max: 200, windowMillis: 1000 } })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").filter((_, i) => i % 3 !== 0)
      const json = path.join(dir, "ids.json")
      fs.writeFileSync(json, JSON.stringify(ids))
      const out = path.join(dir, "out")
      const ran = yield* example("stream-to-parquet", [json, out], sim.baseUrl)
      assert.strictEqual(ran.code, 0, ran.stderr)
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids).rows
      const diff = diffRows(truth, yield* readParquet(path.join(out, "*.parquet")))
      assert.deepStrictEqual([diff.missing.length, diff.extra.length], [0, 0])
      assert.isTrue(fs.existsSync(path.join(out, "_SUCCESS")))
      // Without a key, the ids were copied aside and their digest identifies them: the manifest says which.
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
      assert.strictEqual(manifest.export.source.kind, "stream")
      const digest = crypto.createHash("sha256").update(ids.map((id) => `${id}\n`).join("")).digest("hex")
      assert.strictEqual(manifest.export.source.key, digest)
    }), { timeout: 120_000 })

  it.scopedLive("several-pairs and custom-sink run against the simulator", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ seed: 7, objects: 400, pageSize: 100, token, rateLimit: { max: 100, windowMillis: 1000 } })
      const dir = yield* tempDir
      const several = yield* example("several-pairs", [dir], sim.baseUrl)
      assert.strictEqual(several.code, 0, several.stderr)
      for (const [from, to] of [["contacts", "companies"], ["deals", "companies"], ["tickets", "contacts"]] as const) {
        const truth = SimulatedPortal.groundTruth(sim.portal, from, to).rows
        const diff = diffRows(truth, yield* readParquet(path.join(dir, `${from}-${to}`, "*.parquet")))
        assert.deepStrictEqual([diff.missing.length, diff.extra.length], [0, 0], `${from} → ${to}`)
      }
      const deals = sim.portal.ids("deals").slice(0, 5)
      const counted = yield* example("custom-sink", deals, sim.baseUrl)
      assert.strictEqual(counted.code, 0, counted.stderr)
      const truth = SimulatedPortal.groundTruth(sim.portal, "deals", "companies", deals).rows
      const primary = truth.filter((r) => r.association_label === "Primary").length
      assert.match(counted.stdout, new RegExp(`Primary\\D+${primary}\\b`))
    }), { timeout: 120_000 })
})
