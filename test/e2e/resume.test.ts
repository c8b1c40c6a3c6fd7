/**
 * kill -9 at random moments, then a rerun: the finished export holds every
 * association exactly once, read back by DuckDB, and the work committed
 * before each kill was not fetched again.
 */
import { Dataset, Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { diffRows, readNdjson, readParquet } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { cli, writeIds } from "./support.js"

const token = "kill-test-token"
const concurrency = 3
const kills = 10

describe("resume after kill -9", () => {
  for (const format of ["ndjson", "parquet"] as const) {
    it.scopedLive(`${format}: ${kills} kills at random moments, then every association exactly once`, () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({
          seed: format === "ndjson" ? 11 : 12,
          objects: 4000,
          pageSize: 100,
          token,
          rateLimit: { max: 400, windowMillis: 1000 },
          latencyMillis: [5, 25],
          faults: { status500: 0.02, status503: 0.02, drop: 0.02, truncate: 0.02 }
        })
        const dir = yield* tempDir
        const known = sim.dataset.ids("contacts")
        const unknown = ["999999999991", "999999999992"]
        const ids = [...known.slice(0, 1200), unknown[0]!, ...known.slice(1200), known[5]!, unknown[1]!, known[77]!]
        const file = writeIds(dir, ids)
        const args = (out: string) => [
          "export", "--from", "contacts", "--to", "companies", "--out", out, "--ids", file, "--format", format,
          "--base-url", sim.baseUrl, "--rate-limit", "30/1s", "--batch-size", "50",
          "--concurrency", String(concurrency), "--part-rows", "20000"
        ]
        const env = { HUBSPOT_ACCESS_TOKEN: token }
        const requests = Effect.map(sim.counters, (c) => c.requests)

        // The uninterrupted run, for the request count.
        const before = yield* requests
        const cleanStarted = Date.now()
        const clean = yield* cli(args(path.join(dir, "clean")), { env })
        const cleanMillis = Date.now() - cleanStarted
        assert.strictEqual(clean.code, 3, clean.stderr)
        const uninterrupted = (yield* requests) - before

        // The same export, killed again and again.
        const out = path.join(dir, "killed")
        const start = yield* requests
        let killed = 0
        let late = 0
        let finished = false
        for (let attempt = 0; attempt < 60 && !finished; attempt++) {
          let child: ChildProcess | undefined
          let triggeredAt: number | undefined
          // A moment drawn at random in the run's work: once its first request arrived, a random delay.
          const spawnAt = yield* requests
          const delay = Math.floor(Math.random() * cleanMillis * 0.1)
          const killer = yield* Effect.fork(Effect.gen(function*() {
            yield* Effect.repeat(requests, { until: (n) => n > spawnAt, schedule: Schedule.spaced("2 millis") })
            yield* Effect.sleep(delay)
            if (killed < kills && child !== undefined) {
              triggeredAt = yield* requests
              child.kill("SIGKILL")
            }
          }))
          const ran = yield* cli(args(out), { env, onSpawn: (c) => child = c })
          yield* Fiber.interrupt(killer)
          if (ran.signal === "SIGKILL") {
            killed++
            late += (yield* requests) - (triggeredAt ?? 0)
          } else {
            assert.strictEqual(ran.code, 3, ran.stderr)
            finished = true
          }
        }
        assert.isTrue(finished)
        assert.isAtLeast(killed, kills)
        const total = (yield* requests) - start

        const truth = Dataset.groundTruth(sim.dataset, "contacts", "companies", ids)
        const rows = format === "parquet"
          ? yield* readParquet(path.join(out, "*.parquet"))
          : yield* readNdjson(path.join(out, "*.ndjson"))
        const diff = diffRows(truth.rows, rows)
        assert.deepStrictEqual([diff.missing.length, diff.extra.length], [0, 0], `no row lost, no row twice: ${JSON.stringify(diff.extra.slice(0, 4))} ${JSON.stringify(diff.missing.slice(0, 4))}`)
        assert.strictEqual(rows.length, truth.rows.length)
        const errors = fs.readFileSync(path.join(out, "_errors", "errors.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
        assert.deepStrictEqual(errors.map((e) => e.object_id).sort(), [...unknown].sort())
        const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
        assert.strictEqual(manifest.totals.rows, truth.rows.length)
        assert.deepStrictEqual(fs.readdirSync(out).filter((n) => n.startsWith(".part-")), [])
        // A kill loses the requests in flight, those answered but not yet committed, and those waiting out a
        // retry backoff: each at most `concurrency`. Requests that arrived between the test's trigger and the
        // process's death (many milliseconds on a loaded machine) are counted apart.
        const allowed = Math.ceil(uninterrupted * 1.1) + killed * 3 * concurrency + late
        assert.isAtMost(total, allowed, `${total} requests with ${killed} kills (${late} after a trigger), ${uninterrupted} without`)
      }), { timeout: 240_000 })
  }
})
