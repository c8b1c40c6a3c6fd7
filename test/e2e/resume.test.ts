/**
 * kill -9 at random moments, then a rerun: the finished export holds every
 * association exactly once, read back by DuckDB, and the work committed
 * before each kill (as its checkpoint says) was not asked for again.
 */
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { diffRows, readNdjson, readParquet } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { assertCommittedNotAskedAgain, cli, committedWork, writeIds } from "./support.js"

const token = "kill-test-token"
const concurrency = 3
const kills = 10

/** What the checkpoint in `out` says is committed, as ids. */
const committedIn = (out: string, ids: ReadonlyArray<string>) => {
  const file = path.join(out, ".checkpoint.json")
  return committedWork(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined, ids)
}

describe("resume after kill -9", () => {
  for (const format of ["ndjson", "parquet"] as const) {
    it.scopedLive(`${format}: ${kills} kills at random moments, then every association exactly once`, () =>
      Effect.gen(function*() {
        // What the killed runs asked for, in order, with the time each request arrived.
        const arrived: Array<{ readonly at: number; readonly id: string; readonly after: string | undefined }> = []
        let recording = false
        const sim = yield* Simulator.make({
          seed: format === "ndjson" ? 11 : 12,
          objects: 4000,
          pageSize: 100,
          token,
          rateLimit: { max: 400, windowMillis: 1000 },
          latencyMillis: [5, 25],
          faults: { status500: 0.02, status503: 0.02, drop: 0.02, truncate: 0.02 },
          onBatchRead: (inputs, at) => {
            if (recording) for (const i of inputs) arrived.push({ at, id: i.id, after: i.after })
          }
        })
        const dir = yield* tempDir
        const known = sim.portal.ids("contacts")
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

        // The uninterrupted run, for its duration.
        const cleanStarted = Date.now()
        const clean = yield* cli(args(path.join(dir, "clean")), { env })
        const cleanMillis = Date.now() - cleanStarted
        assert.strictEqual(clean.code, 3, clean.stderr)

        // The same export, killed again and again. After each kill, its checkpoint says what was committed.
        const out = path.join(dir, "killed")
        recording = true
        const committed: Array<{ readonly run: number; readonly done: ReadonlySet<string>; readonly pending: ReadonlyMap<string, string> }> = []
        // When each attempt's process had ended: a request arrived in the attempt that ended first after it (the
        // simulator may answer a dead process's request later, so the order of answers would not do).
        const ended: Array<number> = []
        let killed = 0
        let finished = false
        for (let attempt = 0; attempt < 60 && !finished; attempt++) {
          let child: ChildProcess | undefined
          // A moment drawn at random in the run's work: once its first request arrived, a random delay.
          const spawnAt = yield* requests
          // (Past the first `kills`, later in the run: those kills are only made until one falls after a commit.)
          const delay = Math.floor(Math.random() * cleanMillis * (killed < kills ? 0.1 : 0.5))
          const killer = yield* Effect.fork(Effect.gen(function*() {
            yield* Effect.repeat(requests, { until: (n) => n > spawnAt, schedule: Schedule.spaced("2 millis") })
            yield* Effect.sleep(delay)
            // Kill until `kills` kills, and past them until one fell after a commit of done ids (on a busy machine the
            // first kills can all fall before the first answer is committed, leaving the checks below nothing).
            const doneCommitted = committed.some((c) => c.done.size > 0)
            if ((killed < kills || !doneCommitted) && child !== undefined) child.kill("SIGKILL")
          }))
          const ran = yield* cli(args(out), { env, onSpawn: (c) => child = c })
          ended.push(Date.now())
          yield* Fiber.interrupt(killer)
          if (ran.signal === "SIGKILL") {
            killed++
            committed.push({ run: attempt, ...committedIn(out, ids) })
          } else {
            assert.strictEqual(ran.code, 3, ran.stderr)
            finished = true
          }
        }
        recording = false
        const asked = arrived.map((a) => ({ ...a, run: ended.findIndex((end) => a.at <= end) }))
        assert.isFalse(asked.some((a) => a.run < 0))
        assert.isTrue(finished)
        assert.isAtLeast(killed, kills)

        // Work committed before a kill is never asked for again: an id done is not asked at all, and an id half
        // done is asked only from a cursor, the first time from the one its checkpoint holds.
        const checked = assertCommittedNotAskedAgain(committed, asked)
        // The kills fell after commits, so the check above had work to check.
        assert.isAbove(checked, 0)
        assert.isAbove(asked.length, 0)

        const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
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
      }), { timeout: 240_000 })
  }
})
