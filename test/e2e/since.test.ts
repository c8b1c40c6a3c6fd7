/**
 * Incremental runs: `--since` takes only the --from objects modified in
 * [since, run start - index lag) through the search API, pages past the
 * search API's 10,000 results a query, and chains from an earlier run's
 * directory.
 */
import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { readNdjson } from "../support/DuckDb.js"
import * as Manifests from "../support/Manifests.js"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness, sortedKeys, writeIds } from "./support.js"

const token = "since-test-token"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 400, rateLimit: "300/1s" })
/** The window ends this long before the run starts (Export.searchIndexLagMillis, said in --since's help). */
const indexLagMillis = 5 * 60_000
const modifiedSince = (portal: SimulatedPortal.SimulatedPortal, since: string) =>
  portal.ids("contacts").filter((id) => portal.lastModified("contacts", id) >= Date.parse(since))
/** True once the checkpoint says ordinals beyond `n` are done (a torn read of it says false). */
const committedPast = (out: string, n: number) => {
  try {
    const done: ReadonlyArray<[number, number]> =
      JSON.parse(fs.readFileSync(path.join(out, ".checkpoint.json"), "utf8")).payload.done
    return done.some(([, end]) => end > n)
  } catch {
    return false
  }
}
const manifestOf = (out: string) => JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
/** The window a search run's manifest records. */
const windowOf = (out: string): { readonly since: string; readonly until: string } => manifestOf(out).export.source.details

/** The manifest of a finished export of `from` as this version writes it, or the first version did (`input`). */
const writeManifest = (
  dir: string,
  from: string,
  startedAt: string,
  source: { readonly kind: string; readonly since?: string; readonly until?: string },
  version: 1 | 2 = 2
) => {
  const { kind, ...details } = source
  const manifest = Manifests.finished(from, startedAt, { kind, key: details.since ?? from, description: kind, details })
  fs.mkdirSync(dir)
  fs.writeFileSync(
    path.join(dir, "manifest.json"),
    JSON.stringify(
      version === 2 ? manifest : { ...manifest, version, export: { from, to: "companies", input: source } }
    )
  )
}

describe("assoc-etl export --since (built CLI as a child process)", () => {
  it.scopedLive("takes exactly the objects modified since the date, and records the window", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const out = path.join(dir, "out")
      const since = "2025-07-01T00:00:00Z"
      const before = Date.now()
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--since", since), { env })
      const after = Date.now()
      assert.strictEqual(ran.code, 0, ran.stderr)
      const ids = modifiedSince(sim.portal, since)
      assert.isAbove(ids.length, 50)
      assert.isBelow(ids.length, 400)
      yield* assertExact(out, sim.portal, ids)
      assert.strictEqual(manifestOf(out).export.source.kind, "search")
      const window = windowOf(out)
      assert.strictEqual(window.since, "2025-07-01T00:00:00.000Z")
      // The window ends the search index's lag before the run started.
      assert.isAtLeast(Date.parse(window.until), before - indexLagMillis - 1000)
      assert.isAtMost(Date.parse(window.until), after - indexLagMillis)
      const counters = yield* sim.counters
      assert.isAbove(counters.searchRequests, 0)
      assert.strictEqual(counters.listRequests, 0)
    }))

  it.scopedLive("a window of more than 10,000 results is paged through by modification time and still exact", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ objects: 14_000, pageSize: 100 })
      const dir = yield* tempDir
      const out = path.join(dir, "out")
      const since = "2025-01-10T00:00:00Z"
      const ids = modifiedSince(sim.portal, since)
      assert.isAbove(ids.length, 10_000)
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--since", since, "--concurrency", "8"), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      const rows = yield* readNdjson(path.join(out, "*.ndjson"))
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
      assert.strictEqual(rows.length, truth.rows.length)
      assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows))
    }), 120_000)

  it.scopedLive("--since DIR starts where the earlier run's window ended (or when a non-search run started)", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      // A real chain: the second run's since is the first run's until.
      const first = path.join(dir, "first")
      assert.strictEqual((yield* cli(exportArgs(sim.baseUrl, first, "--since", "2025-10-01T00:00:00Z"), { env })).code, 0)
      const second = path.join(dir, "second")
      const chained = yield* cli(exportArgs(sim.baseUrl, second, "--since", first), { env })
      assert.strictEqual(chained.code, 0, chained.stderr)
      assert.strictEqual(windowOf(second).since, windowOf(first).until)

      // Earlier runs whose times fall inside the dataset's year, so rows prove the moment taken.
      // One written by the first version of the tool: its manifest is read too.
      const searchRun = path.join(dir, "search-run")
      writeManifest(searchRun, "contacts", "2025-03-01T00:00:00.000Z", {
        kind: "search",
        since: "2025-01-01T00:00:00.000Z",
        until: "2025-09-15T00:00:00.000Z"
      }, 1)
      const listRun = path.join(dir, "list-run")
      writeManifest(listRun, "contacts", "2025-11-20T12:00:00.000Z", { kind: "list" })
      for (const [previous, moment] of [[searchRun, "2025-09-15T00:00:00.000Z"], [listRun, "2025-11-20T12:00:00.000Z"]]) {
        const out = path.join(dir, `after-${path.basename(previous!)}`)
        const ran = yield* cli(exportArgs(sim.baseUrl, out, "--since", previous!), { env })
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.strictEqual(windowOf(out).since, moment)
        const ids = modifiedSince(sim.portal, moment!)
        assert.isAbove(ids.length, 0)
        const rows = yield* readNdjson(path.join(out, "*.ndjson"))
        assert.deepStrictEqual(
          sortedKeys(rows),
          sortedKeys(SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids).rows)
        )
      }
    }))

  it.scopedLive("an interrupted incremental run resumes in the same window and ends exact", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ objects: 3000, pageSize: 100 })
      const dir = yield* tempDir
      const out = path.join(dir, "out")
      const since = "2025-02-01T00:00:00Z"
      const args = exportArgs(sim.baseUrl, out, "--since", since, "--batch-size", "50", "--concurrency", "2")
      const first = yield* cli(args, {
        env,
        onSpawn: (child) => {
          const timer = setInterval(() => {
            if (committedPast(out, 400) && Effect.runSync(sim.counters).searchRequests >= 7) {
              clearInterval(timer)
              child.kill("SIGINT")
            }
          }, 10)
        }
      })
      assert.strictEqual(first.code, 130, first.stderr)
      const checkpoint = JSON.parse(fs.readFileSync(path.join(out, ".checkpoint.json"), "utf8"))
      const until = checkpoint.payload.source.details.until
      const listed = fs.readFileSync(path.join(out, ".listed-ids"), "utf8").split("\n").filter((l) => l !== "")
      assert.isAbove(listed.length, 0, "the interrupted run kept the pages it searched")
      assert.isAbove(checkpoint.payload.done.length, 0, "and committed some ids")
      const resumeStart = new Date().toISOString()
      const searchesBefore = (yield* sim.counters).searchRequests
      const resumed = yield* cli(args, { env })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      assert.include(resumed.stderr, "resumed")
      assert.strictEqual(windowOf(out).until, until)
      assert.isBelow(Date.parse(until), Date.parse(resumeStart))
      const ids = modifiedSince(sim.portal, since)
      const pages = Math.ceil(ids.length / 200)
      // The committed pages are not searched again.
      assert.isBelow((yield* sim.counters).searchRequests - searchesBefore, pages)
      yield* assertExact(out, sim.portal, ids)
    }))

  it.scopedLive("a bad --since, or --since with --ids, exits 2 before any request", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const notADate = yield* cli(exportArgs(sim.baseUrl, path.join(dir, "a"), "--since", "yesterday"), { env })
      assert.strictEqual(notADate.code, 2, notADate.stderr)
      assert.include(notADate.stderr, "--since")
      assert.include(notADate.stderr, "ISO date-time")
      const empty = path.join(dir, "empty")
      fs.mkdirSync(empty)
      const noManifest = yield* cli(exportArgs(sim.baseUrl, path.join(dir, "b"), "--since", empty), { env })
      assert.strictEqual(noManifest.code, 2, noManifest.stderr)
      assert.include(noManifest.stderr, "manifest.json")
      const deals = path.join(dir, "deals-run")
      writeManifest(deals, "deals", "2025-11-20T12:00:00.000Z", { kind: "list" })
      const otherType = yield* cli(exportArgs(sim.baseUrl, path.join(dir, "d"), "--since", deals), { env })
      assert.strictEqual(otherType.code, 2, otherType.stderr)
      assert.include(otherType.stderr, "is of deals, not contacts")
      const withIds = yield* cli(
        exportArgs(sim.baseUrl, path.join(dir, "c"), "--since", "2025-07-01", "--ids", writeIds(dir, ["1"])),
        { env }
      )
      assert.strictEqual(withIds.code, 2, withIds.stderr)
      assert.include(withIds.stderr, "--ids")
      assert.strictEqual((yield* sim.counters).requests, 0)
      const help = yield* cli(["export", "--help"])
      assert.include(help.stdout, "--since")
      assert.include(help.stdout, "search API")
      assert.include(help.stdout, "index lags")
    }))
})
