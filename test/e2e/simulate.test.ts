/**
 * `assoc-etl simulate` as a user runs it: a server in its own process, its base URL on stdout, and an export
 * from it that holds the portal its flags describe.
 */
import { Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { tempDir } from "../support/Parts.js"
import { assertExact, bin, cli, exportHarness, root, writeIds } from "./support.js"

const { env, exportArgs } = exportHarness({ token: "sim-token", serverPerSecond: 0, rateLimit: "400/1s" })

/** `assoc-etl simulate ARGS` for the scope: its base URL, once it printed it. */
const simulate = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly baseUrl: string; readonly stop: () => void }, Error>((resume) => {
      const child = spawn(process.execPath, [bin, "simulate", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d)
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d
        const line = stdout.split("\n")
        if (line.length > 1) resume(Effect.succeed({ baseUrl: line[0]!, stop: () => child.kill("SIGTERM") }))
      })
      child.on("close", (code) => resume(Effect.fail(new Error(`simulate exited ${code}: ${stderr}`))))
      return Effect.sync(() => child.kill("SIGKILL"))
    }),
    (sim) => Effect.sync(sim.stop)
  )

describe("assoc-etl simulate (built CLI)", () => {
  it.scopedLive("serves the portal its flags describe: --shape heavy, --objects, --seed", () =>
    Effect.gen(function*() {
      const served = yield* simulate(["--shape", "heavy", "--objects", "700", "--seed", "3", "--rate-limit", "0"])
      // The same portal, made in this process: what the export must hold.
      const { portal } = yield* Simulator.make({ seed: 3, objects: 700, shape: "heavy" })
      const ids = portal.ids("contacts").slice(0, 12)
      for (const id of ids) {
        const n = portal.associations("contacts", "companies", id).length
        assert.isTrue(n >= 480 && n <= 600, `${id} has ${n} companies`)
      }
      const dir = yield* tempDir
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(served.baseUrl, out, "--ids", writeIds(dir, ids)), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* assertExact(out, portal, ids)
    }))
})
