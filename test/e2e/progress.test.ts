/**
 * What an export prints while it runs: a live line on a terminal, log lines elsewhere.
 */
import { Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { tempDir } from "../support/Parts.js"
import { bin, cli, run, writeIds } from "./support.js"

const token = "progress-token"

describe("progress output", () => {
  it.scopedLive("on a pseudo-terminal a live line; without one, logfmt or JSON lines; a summary always", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ objects: 300, pageSize: 50, token, rateLimit: { max: 100, windowMillis: 1000 } })
      const dir = yield* tempDir
      const file = writeIds(dir, sim.portal.ids("contacts"))
      const args = (out: string, ...more: ReadonlyArray<string>) => [
        "export", "--from", "contacts", "--to", "companies", "--out", path.join(dir, out), "--ids", file,
        "--base-url", sim.baseUrl, "--rate-limit", "4/1s", "--batch-size", "10", ...more
      ]
      const env = { HUBSPOT_ACCESS_TOKEN: token }

      const json = yield* cli(args("json", "--log-format", "json"), { env })
      assert.strictEqual(json.code, 0, json.stderr)
      const lines = json.stderr.split("\n").filter((l) => l.startsWith("{"))
      assert.isAtLeast(lines.length, 1, json.stderr)
      // Effect's JSON logger: the message, its level, and the figures as annotations.
      const first = JSON.parse(lines[0]!)
      assert.strictEqual(first.message, "progress")
      assert.strictEqual(first.logLevel, "INFO")
      for (const k of ["ids_done", "ids_total", "rows", "requests", "retries", "status_429", "rows_per_s"]) {
        assert.property(first.annotations, k)
      }
      assert.strictEqual(first.annotations.ids_total, 300)

      const logfmt = yield* cli(args("logfmt"), { env })
      assert.strictEqual(logfmt.code, 0, logfmt.stderr)
      assert.match(logfmt.stderr, /level=INFO .*message=progress .*ids_done=\d+/)
      assert.include(json.stderr, "export complete")
      assert.notInclude(json.stderr, "\r")

      // `script` gives the child a pseudo-terminal, as a user's shell does.
      const command = [process.execPath, bin, ...args("tty")].map((a) => `'${a}'`).join(" ")
      const tty = yield* run("script", ["-qfec", command, "/dev/null"], { env })
      assert.strictEqual(tty.code, 0, tty.stdout.slice(-2000))
      assert.include(tty.stdout, "\r\x1b[2K")
      assert.match(tty.stdout, /\d+\/300 ids · \d+ rows · \d+ requests · \d+ retries · \d+ 429s · \d+ rows\/s · ETA/)
      assert.notInclude(tty.stdout, "level=INFO")
      assert.include(tty.stdout, "export complete")
    }), { timeout: 120_000 })
})
