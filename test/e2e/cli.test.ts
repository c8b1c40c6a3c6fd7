import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { readNdjson } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness, filesOf, sortedKeys, writeIds } from "./support.js"

const token = "e2e-secret-token-4f9a"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 200, rateLimit: "150/1s" })

describe("assoc-etl (built CLI as a child process)", () => {
  it.live("--help answers a newcomer's questions", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["export", "--help"])
      assert.strictEqual(ran.code, 0)
      for (const s of ["HUBSPOT_ACCESS_TOKEN", "--out", "resume", "errors.ndjson", "--ids", "--rate-limit", "stdin"]) {
        assert.include(ran.stdout, s)
      }
      const version = yield* cli(["--version"])
      assert.match(version.stdout, /\d+\.\d+\.\d+/)
    }))

  it.scopedLive("exports an id file exactly, then says it is complete without a request", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 300)
      const file = writeIds(dir, ["id", ...ids])
      const out = path.join(dir, "out")
      const ran = yield* cli([...exportArgs(sim.baseUrl, out, "--ids", file)], { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, "complete")
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
      const rows = yield* readNdjson(path.join(out, "*.ndjson"))
      assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows))
      assert.isTrue(fs.existsSync(path.join(out, "_SUCCESS")))
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
      assert.strictEqual(manifest.totals.rows, truth.rows.length)

      const before = (yield* sim.counters).requests
      const again = yield* cli([...exportArgs(sim.baseUrl, out, "--ids", file)], { env })
      assert.strictEqual(again.code, 0)
      assert.include(again.stderr, "already complete")
      assert.strictEqual((yield* sim.counters).requests, before)
    }))

  it.scopedLive("a bad id line stops the run before any request, naming the line (exit 2)", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const file = writeIds(dir, ["1", "2", "x3", "4"])
      const ran = yield* cli(exportArgs(sim.baseUrl, path.join(dir, "out"), "--ids", file), { env })
      assert.strictEqual(ran.code, 2)
      assert.include(ran.stderr, "line 3")
      assert.strictEqual((yield* sim.counters).requests, 0)
    }))

  it.scopedLive("--skip-bad-lines writes them to errors.ndjson; refused ids exit 3", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const known = sim.portal.ids("contacts").slice(0, 20)
      const file = writeIds(dir, [...known, "oops", "999999999999"])
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", file, "--skip-bad-lines"), { env })
      assert.strictEqual(ran.code, 3, ran.stderr)
      const errors = fs.readFileSync(path.join(out, "_errors", "errors.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      assert.deepStrictEqual(errors.map((e) => e.category).sort(), ["INVALID_INPUT", "OBJECT_NOT_FOUND"])
      assert.isTrue(errors.some((e) => e.object_id === "999999999999"))
    }))

  it.scopedLive("reads ids from stdin", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 50)
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", "-"), { env, stdin: ids.join("\n") })
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* assertExact(out, sim.portal, ids)
    }))

  it.scopedLive("a resume with other arguments is refused, saying what differs and how to start over", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ rateLimit: { max: 200, windowMillis: 1000 } })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 30)
      const out = path.join(dir, "out")
      fs.mkdirSync(out)
      // An unfinished export: a 403 (a scope missing) stops it after its checkpoint exists.
      const refusing = yield* simulator({ scopes: ["crm.objects.companies.read"] })
      const first = yield* cli(exportArgs(refusing.baseUrl, out, "--ids", writeIds(dir, ids)), { env })
      assert.strictEqual(first.code, 1)
      assert.include(first.stderr, "403")
      const other = yield* cli([...exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids.slice(1), "other.txt"))], { env })
      assert.strictEqual(other.code, 2, other.stderr)
      assert.include(other.stderr, "holds another export")
      assert.include(other.stderr, "To start over")
    }))

  it.scopedLive("a wrong token fails at once (exit 1), and no token reaches an output or a file", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 30)
      const out = path.join(dir, "out")
      const bad = yield* cli(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids)), {
        env: { HUBSPOT_ACCESS_TOKEN: "not-the-token-1234" }
      })
      assert.strictEqual(bad.code, 1)
      assert.include(bad.stderr, "401")
      assert.strictEqual((yield* sim.counters).requests, 1, "401 is not retried")
      assert.notInclude(bad.stdout + bad.stderr, "not-the-token-1234")
      const good = yield* cli(exportArgs(sim.baseUrl, path.join(dir, "out2"), "--ids", writeIds(dir, ids, "b.txt")), { env })
      assert.strictEqual(good.code, 0, good.stderr)
      assert.notInclude(good.stdout + good.stderr, token)
      for (const { file, text } of filesOf(dir)) assert.notInclude(text, token, file)
    }))

  it.scopedLive("Ctrl-C stops cleanly (exit 130), keeps what is committed and says how to resume", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ latencyMillis: [50, 50] })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const out = path.join(dir, "out")
      const file = writeIds(dir, ids)
      const args = [
        ...exportArgs(sim.baseUrl, out, "--ids", file, "--batch-size", "20").filter((a) => a !== "150/1s" && a !== "--rate-limit"),
        "--rate-limit",
        "5/1s"
      ]
      const ran = yield* cli(args, {
        env,
        onSpawn: (child) => {
          const timer = setInterval(() => {
            if (fs.existsSync(path.join(out, ".checkpoint.json")) && Effect.runSync(sim.counters).requests >= 3) {
              clearInterval(timer)
              child.kill("SIGINT")
            }
          }, 20)
        }
      })
      assert.strictEqual(ran.code, 130, JSON.stringify(ran))
      assert.include(ran.stderr, "run the same command again to resume")
      assert.isFalse(fs.existsSync(path.join(out, "_SUCCESS")))
      const resumed = yield* cli(exportArgs(sim.baseUrl, out, "--ids", file), { env })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      assert.include(resumed.stderr, "resumed")
      yield* assertExact(out, sim.portal, ids)
    }))
})
