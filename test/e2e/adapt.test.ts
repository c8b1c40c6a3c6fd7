/**
 * The built CLI adapts to what the server says instead of failing or fighting it: a lower batch limit, a
 * lower rate limit, a window spent by the process before a restart, ids listed a page at a time, and ids with
 * thousands of associations. Each against the simulator, with the rows checked against its ground truth.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness, writeIds } from "./support.js"

const token = "e2e-adapt-token-3b8e"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 200, rateLimit: "150/1s" })

/** `exportArgs` with the CLI's `--rate-limit` replaced. */
const withRateLimit = (args: ReadonlyArray<string>, limit: string) =>
  args.map((a, i) => (args[i - 1] === "--rate-limit" ? limit : a))

describe("the CLI adapts to the server (built CLI against the simulator)", () => {
  it.scopedLive("a server that takes 100 inputs a batch: batches go down to 100, the run finishes exact, and says so", () =>
    Effect.gen(function*() {
      const sizes: Array<number> = []
      const sim = yield* simulator({ maxInputs: 100, onBatchRead: (inputs) => sizes.push(inputs.length) })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids)), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, "batch size      lowered to 100")
      yield* assertExact(out, sim.portal, ids)
      const refused = sizes.filter((n) => n > 100)
      assert.strictEqual(refused.length, 1, "one refusal, then batches HubSpot takes")
    }))

  it.scopedLive("a server limit below --rate-limit is adopted from the answers' headers: at most 3 × 429", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ rateLimit: { max: 10, windowMillis: 1000 } })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const out = path.join(dir, "out")
      const args = withRateLimit(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids), "--batch-size", "8"), "100/10s")
      const ran = yield* cli(args, { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      const counters = yield* sim.counters
      assert.isAbove(counters.batchReads, 50)
      assert.isAtMost(counters.status429, 3)
      yield* assertExact(out, sim.portal, ids)
    }))

  it.scopedLive("restarted after kill -9, each run starts within what the server says is left: at most 1 × 429 a restart", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ rateLimit: { max: 20, windowMillis: 2000 } })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const out = path.join(dir, "out")
      const args = withRateLimit(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids), "--batch-size", "5"), "20/2s")
      const kills = 4
      for (let k = 0; k < kills; k++) {
        const before = (yield* sim.counters).requests
        const ran = yield* cli(args, {
          env,
          onSpawn: (child) => {
            const timer = setInterval(() => {
              if (Effect.runSync(sim.counters).requests >= before + 12) {
                clearInterval(timer)
                child.kill("SIGKILL")
              }
            }, 5)
          }
        })
        assert.strictEqual(ran.signal, "SIGKILL", ran.stderr)
      }
      const last = yield* cli(args, { env })
      assert.strictEqual(last.code, 0, last.stderr)
      assert.isAtMost((yield* sim.counters).status429, kills)
      yield* assertExact(out, sim.portal, ids)
    }))

  it.scopedLive("ids listed a page at a time go out in full batches", () =>
    Effect.gen(function*() {
      const fresh: Array<number> = []
      const sim = yield* simulator({
        latencyMillis: [20, 40],
        onBatchRead: (inputs) => fresh.push(inputs.filter((i) => i.after === undefined).length)
      })
      const dir = yield* tempDir
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--batch-size", "100"), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      // 400 contacts: the list API walks up 100 a page while search walks down 200 a page; they meet in 2 steps.
      assert.strictEqual((yield* sim.counters).listRequests, 2, "400 contacts, from both ends")
      // 400 ids in batches of 100: four batches carry them, full, whatever continuations ride along.
      const carrying = fresh.filter((n) => n > 0)
      assert.strictEqual(carrying.reduce((a, b) => a + b, 0), 400)
      assert.isAtMost(carrying.length, 5)
      yield* assertExact(out, sim.portal)
    }))

  it.scopedLive("ids with thousands of associations, 100 a page: batch reads within 1.3 × the fewest possible", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ objects: 3000, shape: "heavyTail", pageSize: 100 })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 1000)
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids)), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      // The fewest: every page of the id with the most must be asked one after another, and no request holds
      // more than 1,000 inputs.
      const pages = ids.map((id) => Math.max(1, Math.ceil(sim.portal.associations("contacts", "companies", id).length / 100)))
      const fewest = Math.max(Math.max(...pages), Math.ceil(pages.reduce((a, b) => a + b, 0) / 1000))
      assert.isAbove(fewest, 10, "the sample holds heavy ids")
      assert.isAtMost((yield* sim.counters).batchReads, Math.floor(1.3 * fewest))
      yield* assertExact(out, sim.portal, ids)
    }))
})
