/**
 * The export's contract under hostile use, through the built CLI: what is wrong is refused before anything is
 * sent or written (exit 2, naming the flag and the problem, with no advice to resume), a finished or unfinished
 * export is never continued with other arguments, a signal commits what is done, and an export with no rows
 * still gives every reader's glob a part to read.
 */
import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { query, readNdjson, readParquet } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness, sortedKeys, writeIds } from "./support.js"

const token = "e2e-contract-token-77c1"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 200, rateLimit: "150/1s" })

interface Refusal {
  readonly name: string
  /** The arguments after `export`, with `OUT`, `IDS`, `FILE` and `STRANGER` standing for paths of the test; a flag
   * given `NONE` is left out. */
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string | undefined>
  /** Fragments the message must hold: the flag, and what is wrong. */
  readonly says: ReadonlyArray<string>
}

const refusals: ReadonlyArray<Refusal> = [
  { name: "an unknown format", args: ["--format", "csv"], says: ["--format", "ndjson or parquet", "\"csv\""] },
  { name: "a batch size that is no number", args: ["--batch-size", "abc"], says: ["--batch-size", "1 to 1000"] },
  { name: "a batch size of 0", args: ["--batch-size", "0"], says: ["--batch-size", "from 1 to 1000", "\"0\""] },
  { name: "a concurrency of 0", args: ["--concurrency", "0"], says: ["--concurrency", "from 1 to 64"] },
  { name: "a negative concurrency", args: ["--concurrency", "-1"], says: ["--concurrency", "\"-1\""] },
  { name: "a part of 0 rows", args: ["--part-rows", "0"], says: ["--part-rows", "1 or more"] },
  { name: "negative retries", args: ["--max-retries", "-1"], says: ["--max-retries", "from 0 to 100"] },
  { name: "a rate limit that is no rate", args: ["--rate-limit", "fast"], says: ["--rate-limit", "N/duration"] },
  { name: "an unknown flag", args: ["--bogus"], says: ["--bogus"] },
  { name: "an unknown log format", args: ["--log-format", "xml"], says: ["--log-format", "logfmt or json"] },
  { name: "an object type no portal has", args: ["--from", "foo"], says: ["--from", "\"foo\"", "0-1"] },
  { name: "a missing id file", args: ["--ids", "missing.txt"], says: ["--ids", "missing.txt", "no such file"] },
  { name: "gzip with Parquet", args: ["--format", "parquet", "--gzip"], says: ["--gzip", "ndjson"] },
  { name: "--out naming a file", args: ["--out", "FILE"], says: ["--out", "not a directory"] },
  {
    name: "a non-empty directory that holds no export",
    args: ["--out", "STRANGER"],
    says: ["not empty", "data.ndjson"]
  },
  { name: "no token", args: [], env: { HUBSPOT_ACCESS_TOKEN: undefined }, says: ["HUBSPOT_ACCESS_TOKEN", "not set"] },
  { name: "an empty token", args: [], env: { HUBSPOT_ACCESS_TOKEN: "" }, says: ["HUBSPOT_ACCESS_TOKEN", "is empty"] },
  { name: "--since with --ids", args: ["--since", "2025-01-01"], says: ["--since", "--ids"] }
]

/**
 * Runs `args` against a copy of the harness's simulator (same portal) that refuses batch reads with 403 (a scope
 * missing): the run fails (exit 1) after its first checkpoint, leaving an unfinished export.
 */
const unfinishedExport = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const refusing = yield* simulator({ scopes: ["crm.objects.companies.read"] })
    const baseUrl = args[args.indexOf("--base-url") + 1]!
    return yield* cli(args.map((a) => a === baseUrl ? refusing.baseUrl : a), { env })
  })

/** `export --from contacts --to companies --out OUT --ids IDS`, with `args` replacing or adding flags. */
const exportWith = (baseUrl: string, paths: Record<string, string>, args: ReadonlyArray<string>) => {
  const flags = new Map<string, Array<string>>([
    ["--from", ["contacts"]],
    ["--to", ["companies"]],
    ["--out", ["OUT"]],
    ["--ids", ["IDS"]],
    ["--base-url", [baseUrl]]
  ])
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!
    const value = args[i + 1]
    if (value === undefined || value.startsWith("--")) flags.set(flag, [])
    else if (value === "NONE") {
      flags.delete(flag)
      i++
    } else {
      flags.set(flag, [value])
      i++
    }
  }
  return ["export", ...[...flags].flatMap(([flag, values]) => [flag, ...values.map((v) => paths[v] ?? v)])]
}

describe("the export's contract under hostile use (built CLI)", () => {
  it.scopedLive("refuses what is wrong before any request or write: exit 2, naming the flag and the problem", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const stranger = path.join(dir, "stranger")
      fs.mkdirSync(stranger)
      fs.writeFileSync(path.join(stranger, "data.ndjson"), "{\"a\":1}\n")
      const file = path.join(dir, "a-file")
      fs.writeFileSync(file, "not a directory")
      const ids = writeIds(dir, sim.portal.ids("contacts").slice(0, 5))
      for (const [n, refusal] of refusals.entries()) {
        const out = path.join(dir, `out-${n}`)
        const args = exportWith(sim.baseUrl, { OUT: out, IDS: ids, FILE: file, STRANGER: stranger }, refusal.args)
        const ran = yield* cli(args, { env: { ...env, ...refusal.env } })
        const said = ran.stdout + ran.stderr
        assert.strictEqual(ran.code, 2, `${refusal.name}: ${said}`)
        for (const s of refusal.says) assert.include(said, s, refusal.name)
        assert.notInclude(said, "run the same command again", `${refusal.name}: no advice to resume`)
        assert.notInclude(said, "[object Object]", refusal.name)
        assert.isFalse(fs.existsSync(out), `${refusal.name}: nothing written`)
      }
      assert.deepStrictEqual(fs.readdirSync(stranger), ["data.ndjson"], "the stranger's directory is untouched")
      const counters = yield* sim.counters
      assert.strictEqual(counters.requests, 0, "no request was sent")
    }))

  it.scopedLive("a finished export rerun with other arguments is refused, naming what differs", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 40)
      const file = writeIds(dir, ids)
      const out = path.join(dir, "out")
      const done = yield* cli(exportWith(sim.baseUrl, { OUT: out, IDS: file }, []), { env })
      assert.strictEqual(done.code, 0, done.stderr)
      const before = (yield* sim.counters).requests
      const other = writeIds(dir, ids.slice(1), "other.txt")
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--to", "deals"], "contacts → deals"],
        [["--ids", "OTHER"], "other.txt"],
        [["--ids", "NONE"], "listed through the API"],
        [["--format", "parquet"], "parquet"],
        [["--gzip"], ".ndjson.gz"]
      ]
      for (const [args, differs] of cases) {
        const ran = yield* cli(exportWith(sim.baseUrl, { OUT: out, IDS: file, OTHER: other }, args), { env })
        assert.strictEqual(ran.code, 2, `${args.join(" ")}: ${ran.stderr}`)
        assert.include(ran.stderr, differs, args.join(" "))
        assert.notInclude(ran.stderr, "already complete", args.join(" "))
      }
      assert.strictEqual((yield* sim.counters).requests, before, "nothing asked")
      const same = yield* cli(exportWith(sim.baseUrl, { OUT: out, IDS: file }, []), { env })
      assert.strictEqual(same.code, 0)
      assert.include(same.stderr, "already complete")
    }))

  it.scopedLive("an unfinished export resumed with another format is refused (exit 2), then resumes as it was", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 60)
      const file = writeIds(dir, ids)
      const out = path.join(dir, "out")
      const first = yield* unfinishedExport(exportArgs(sim.baseUrl, out, "--ids", file))
      assert.strictEqual(first.code, 1)
      for (const more of [["--format", "parquet"], ["--gzip"]]) {
        const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", file, ...more), { env })
        assert.strictEqual(ran.code, 2, ran.stderr)
        assert.notInclude(ran.stderr, "run the same command again")
      }
      const resumed = yield* cli(exportArgs(sim.baseUrl, out, "--ids", file), { env })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      yield* assertExact(out, sim.portal, ids)
    }))

  it.scopedLive("an unfinished export resumed against another portal is refused (exit 2), naming both portals", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 60)
      const file = writeIds(dir, ids)
      const out = path.join(dir, "out")
      const first = yield* unfinishedExport(exportArgs(sim.baseUrl, out, "--ids", file))
      assert.strictEqual(first.code, 1, first.stderr)
      const portal = sim.options.portalId
      const other = yield* simulator({ portalId: portal + 1 })
      const ran = yield* cli(exportArgs(other.baseUrl, out, "--ids", file), { env })
      assert.strictEqual(ran.code, 2, ran.stderr)
      assert.include(ran.stderr, `it was read from HubSpot portal ${portal}, this run reads HubSpot portal ${portal + 1}`)
      assert.strictEqual((yield* other.counters).batchReads, 0, "nothing read from the other portal")
      const resumed = yield* cli(exportArgs(sim.baseUrl, out, "--ids", file), { env })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      yield* assertExact(out, sim.portal, ids)
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
      assert.strictEqual(manifest.export.origin.key, String(portal))
    }))

  it.scopedLive("an export with no rows writes one empty part, so a glob reads 0 rows (NDJSON and Parquet)", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const empty = writeIds(dir, [], "empty.txt")
      for (const format of ["ndjson", "parquet"] as const) {
        const out = path.join(dir, format)
        const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", empty, "--format", format), { env })
        assert.strictEqual(ran.code, 0, ran.stderr)
        const rows = yield* (format === "parquet" ? readParquet : readNdjson)(path.join(out, `*.${format}`))
        assert.strictEqual(rows.length, 0)
        const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
        assert.strictEqual(manifest.parts.length, 1)
        assert.strictEqual(manifest.totals.rows, 0)
      }
      const columns = yield* query(`DESCRIBE SELECT * FROM read_parquet('${path.join(dir, "parquet", "*.parquet")}')`)
      assert.strictEqual(columns.length, 7, "the empty Parquet part has the schema")
      assert.strictEqual((yield* sim.counters).batchReads, 0)
    }))

  it.scopedLive("ids HubSpot answers NO_ASSOCIATIONS_FOUND are ids without rows, counted in the manifest: exit 0", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ noAssociationsFound: true })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 200)
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
      const none = ids.filter((id) => sim.portal.associations("contacts", "companies", id).length === 0).length
      assert.isAbove(none, 0, "the sample holds ids without associations")
      const out = path.join(dir, "out")
      const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", writeIds(dir, ids)), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, `${none} with no associations`)
      const rows = yield* readNdjson(path.join(out, "*.ndjson"))
      assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows))
      assert.strictEqual(fs.readFileSync(path.join(out, "_errors", "errors.ndjson"), "utf8"), "")
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
      assert.deepStrictEqual(manifest.ids, { done: ids.length, withoutRows: none })
    }))

  it.scopedLive("--out where no directory can be made fails at once with the path named (exit 1)", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ran = yield* cli(exportArgs(sim.baseUrl, "/proc/assoc-etl-cannot-be-here", "--ids", writeIds(dir, ["1"])), { env })
      assert.strictEqual(ran.code, 1, ran.stderr)
      assert.include(ran.stderr, "/proc/assoc-etl-cannot-be-here")
      assert.strictEqual((yield* sim.counters).requests, 0)
    }), 20_000)

  it.scopedLive("SIGTERM commits what is done and exits 143; the same command resumes to an exact dataset", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ latencyMillis: [50, 50] })
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const out = path.join(dir, "out")
      const file = writeIds(dir, ids)
      const slow = ["--batch-size", "20", "--rate-limit", "5/1s"]
      let requestsAtSignal = 0
      const ran = yield* cli([...exportWith(sim.baseUrl, { OUT: out, IDS: file }, slow)], {
        env,
        onSpawn: (child) => {
          const timer = setInterval(() => {
            requestsAtSignal = Effect.runSync(sim.counters).batchReads
            if (fs.existsSync(path.join(out, ".checkpoint.json")) && requestsAtSignal >= 4) {
              clearInterval(timer)
              child.kill("SIGTERM")
            }
          }, 20)
        }
      })
      assert.strictEqual(ran.code, 143, JSON.stringify(ran))
      assert.include(ran.stderr, "stopped by SIGTERM")
      assert.include(ran.stderr, "run the same command again to resume")
      const checkpoint = JSON.parse(fs.readFileSync(path.join(out, ".checkpoint.json"), "utf8"))
      assert.isAbove(checkpoint.payload.counters.rows, 0, "the answers taken before the signal are committed")
      assert.isFalse(fs.existsSync(path.join(out, "_SUCCESS")))
      const resumed = yield* cli(exportWith(sim.baseUrl, { OUT: out, IDS: file }, []), { env })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      assert.include(resumed.stderr, "resumed")
      yield* assertExact(out, sim.portal, ids)
    }))
})
