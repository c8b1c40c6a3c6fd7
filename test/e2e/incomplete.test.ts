/**
 * Answers that are not COMPLETE, through the built CLI: HubSpot leaves an id with no associations out of
 * `results`, so a `CANCELED` or `PROCESSING` answer cut short looks like ids without associations. Such an answer
 * is retried like a 5xx and never committed: under 20 % of them the export is exact; when every answer is
 * `CANCELED` the run fails (exit 1) naming the status with nothing committed, and the same command then resumes
 * to an exact dataset.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness, writeIds } from "./support.js"

const token = "e2e-incomplete-token-5e02"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 200, rateLimit: "150/1s" })

/** The rows in the NDJSON parts of `out`, as lines (none when there is no part). */
const rowLines = (out: string): ReadonlyArray<string> =>
  fs.existsSync(out)
    ? fs.readdirSync(out)
      .filter((f) => f.endsWith(".ndjson"))
      .flatMap((f) => fs.readFileSync(path.join(out, f), "utf8").split("\n").filter((l) => l.length > 0))
    : []

describe("answers that are not COMPLETE (built CLI)", () => {
  it.scopedLive("with 20 % of answers CANCELED or PROCESSING (results cut short), the export is exact", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({
        seed: 20,
        incomplete: { probability: 0.2, statuses: ["CANCELED", "PROCESSING"] }
      })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids), "--batch-size", "10"), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* assertExact(out, sim.portal, ids)
      const counters = yield* sim.counters
      assert.isAbove(counters.incomplete.CANCELED, 0, "some answers were CANCELED")
      assert.isAbove(counters.incomplete.PROCESSING, 0, "some answers were PROCESSING")
      assert.strictEqual(counters.incomplete.PENDING, 0)
      // Each was refused and retried: the summary counts them among the retries.
      const refused = counters.incomplete.CANCELED + counters.incomplete.PROCESSING
      assert.match(ran.stderr, new RegExp(`retries +\\d+ \\(.*Incomplete ${refused}\\b`))
    }))

  it.scopedLive("every answer CANCELED: exit 1 after its retries naming the status, nothing committed; resume exact", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ seed: 21, incomplete: { probability: 1, statuses: ["CANCELED"] } })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 120)
      const file = writeIds(dir, ids)
      const out = path.join(dir, "out")
      const args = exportArgs(sim.baseUrl, out, "--ids", file, "--batch-size", "50")
      const failed = yield* cli([...args, "--max-retries", "2"], { env })
      assert.strictEqual(failed.code, 1, failed.stderr)
      assert.include(failed.stderr, "CANCELED")
      assert.include(failed.stderr, "run the same command again to resume")
      const counters = yield* sim.counters
      assert.isAbove(counters.batchReads, 0)
      assert.strictEqual(counters.incomplete.CANCELED, counters.batchReads, "every answer was CANCELED")
      // Nothing of those answers was written or checkpointed.
      assert.deepStrictEqual(rowLines(out), [])
      assert.isFalse(fs.existsSync(path.join(out, "_SUCCESS")))
      const checkpointFile = path.join(out, ".checkpoint.json")
      if (fs.existsSync(checkpointFile)) {
        const checkpoint = JSON.parse(fs.readFileSync(checkpointFile, "utf8")).payload
        assert.deepStrictEqual(checkpoint.done, [], "no id done")
        assert.deepStrictEqual(checkpoint.pending, [], "no cursor kept")
        assert.strictEqual(checkpoint.counters.rows, 0)
      }

      yield* sim.setIncomplete(undefined)
      const resumed = yield* cli(args, { env })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      yield* assertExact(out, sim.portal, ids)
    }))
})
