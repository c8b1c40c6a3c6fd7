/**
 * The memory budget end to end, through the built CLI: a portal whose every id has 480 to 600 associations (an
 * answer for one id is about 70 KB), exported with `--memory 64KiB`, smaller than one answer. The export
 * finishes exact, one id a request, and says so in a warning and in its summary.
 */
import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness, writeIds } from "./support.js"

const token = "e2e-memory-token-6a1f"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 500, rateLimit: "400/1s" })

describe("the memory budget (built CLI)", () => {
  it.scopedLive("--memory smaller than one answer finishes exact, one id a request, and says so", () =>
    Effect.gen(function*() {
      const sizes: Array<number> = []
      const sim = yield* simulator({
        objects: 700,
        shape: "heavy",
        pageSize: 500,
        latencyMillis: [5, 10],
        onBatchRead: (inputs) => void sizes.push(inputs.length)
      })
      const ids = sim.portal.ids("contacts").slice(0, 40)
      const dir = yield* tempDir
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids), "--memory", "64KiB"), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      // One id a request: 40 first pages, and the second pages of the ids with more than 500 associations.
      const paged = ids.filter((id) => sim.portal.associations("contacts", "companies", id).length > 500).length
      assert.strictEqual(sizes.length, ids.length + paged)
      assert.isTrue(sizes.every((n) => n === 1), `batch sizes ${[...new Set(sizes)].join(", ")}`)
      // Said once as it happens, and in the summary.
      assert.strictEqual(ran.stderr.split("is smaller than the answer for one id").length - 1, 1, ran.stderr)
      assert.match(ran.stderr, /memory +--memory 64 KiB bound \d+ batch/)
      assert.match(ran.stderr, /\d+ answers alone outweighed it, sent one id a request/)
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
      assert.isAbove(truth.rows.length, 20_000)
      yield* assertExact(out, sim.portal, ids)
      assert.notInclude(ran.stderr, token)
    }))

  it.scopedLive("--memory that is not a size is refused before any request, naming the flag", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      for (const bad of ["256", "1KB", "lots"]) {
        const ran = yield* cli(exportArgs(sim.baseUrl, path.join(dir, "out"), "--memory", bad), { env })
        assert.strictEqual(ran.code, 2, ran.stderr)
        assert.include(ran.stderr, "--memory")
        assert.include(ran.stderr, "expected a size of 64KiB or more")
      }
      assert.strictEqual((yield* sim.counters).requests, 0)
    }))
})
