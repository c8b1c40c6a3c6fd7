/**
 * `assoc-etl diff OLD NEW --out CHANGES` through the built CLI, on exports of the simulator made by the CLI: two id
 * files of one pair that overlap give known changes (the rows of the ids only in NEW are inserts, of those only in
 * OLD deletes), checked against the simulator's ground truth, read back by DuckDB; and its refusals, exit 2, each
 * naming its argument, with nothing written.
 */
import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { columnTypes, literal, query, type Row, rowKey } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { cli, exportHarness, writeIds } from "./support.js"

const token = "diff-test-token-7c1a"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 400, rateLimit: "300/1s" })

/** The changes from `old` to `new` rows as multisets, counted here: sorted `op key` strings. */
const expected = (old: ReadonlyArray<Row>, neu: ReadonlyArray<Row>): ReadonlyArray<string> => {
  const counts = new Map<string, number>()
  for (const r of neu) counts.set(rowKey(r), (counts.get(rowKey(r)) ?? 0) + 1)
  for (const r of old) counts.set(rowKey(r), (counts.get(rowKey(r)) ?? 0) - 1)
  const out: Array<string> = []
  for (const [key, n] of counts) for (let i = 0; i < Math.abs(n); i++) out.push(`${n > 0 ? "insert" : "delete"} ${key}`)
  return out.sort()
}

/** The changes in `dir` (`part-*<extension>`), read by DuckDB: sorted `op key` strings. */
const changesIn = (dir: string, extension: string) => {
  const glob = literal(path.join(dir, `part-*${extension}`))
  const columns = [...columnTypes, ["op", "VARCHAR"]].map(([n, t]) => `${n}: '${t}'`).join(", ")
  const source = extension === ".parquet"
    ? `read_parquet(${glob})`
    : `read_json(${glob}, format = 'newline_delimited', compression = 'auto_detect', columns = {${columns}})`
  return Effect.map(query(`SELECT * FROM ${source}`), (rows) =>
    rows.map((r) => {
      const row = { ...(r as unknown as Row), association_label: (r["association_label"] ?? null) as string | null }
      return `${r["op"]} ${rowKey(row)}`
    }).sort())
}

describe("assoc-etl diff (built CLI as a child process)", () => {
  it.scopedLive("two exports of overlapping ids: exactly the rows of the ids only in NEW and only in OLD", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts")
      const idsOld = ids.slice(0, 300)
      const idsNew = ids.slice(100, 400)
      const old = path.join(dir, "old")
      const neu = path.join(dir, "new")
      const gz = path.join(dir, "new-gz")
      for (
        const [out, list, ...more] of [
          [old, idsOld, "--format", "ndjson"],
          [neu, idsNew, "--format", "parquet"],
          [gz, idsOld, "--gzip"]
        ] as const
      ) {
        const file = writeIds(dir, list, `${path.basename(out)}.txt`)
        const ran = yield* cli(exportArgs(sim.baseUrl, out, "--ids", file, ...more), { env })
        assert.strictEqual(ran.code, 0, ran.stderr)
      }
      const truthOld = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", idsOld).rows
      const truthNew = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", idsNew).rows

      // NDJSON to Parquet: the changes in Parquet, NEW's format.
      const changes = path.join(dir, "changes")
      const ran = yield* cli(["diff", old, neu, "--out", changes], { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      const want = expected(truthOld, truthNew)
      assert.isAbove(want.filter((c) => c.startsWith("insert")).length, 20)
      assert.isAbove(want.filter((c) => c.startsWith("delete")).length, 20)
      assert.deepStrictEqual(yield* changesIn(changes, ".parquet"), want)
      const manifest = JSON.parse(fs.readFileSync(path.join(changes, "manifest.json"), "utf8"))
      assert.strictEqual(manifest.format, "parquet")
      assert.strictEqual(manifest.inserts, want.filter((c) => c.startsWith("insert")).length)
      assert.strictEqual(manifest.deletes, want.filter((c) => c.startsWith("delete")).length)
      assert.deepStrictEqual(manifest.schema.map((c: { name: string }) => c.name).at(-1), "op")
      assert.isTrue(fs.existsSync(path.join(changes, "_SUCCESS")))
      assert.include(ran.stderr, "diff complete")
      assert.include(ran.stderr, `inserts   ${manifest.inserts}`)

      // Again: done at once, the same.
      const again = yield* cli(["diff", old, neu, "--out", changes], { env })
      assert.strictEqual(again.code, 0, again.stderr)
      assert.include(again.stderr, "already complete")
      assert.deepStrictEqual(yield* changesIn(changes, ".parquet"), want)

      // Back from Parquet to gzipped NDJSON: the reverse changes, as .ndjson.gz.
      const back = path.join(dir, "back")
      const ranBack = yield* cli(["diff", neu, gz, "--out", back, "--memory", "128MiB", "--part-rows", "50"], { env })
      assert.strictEqual(ranBack.code, 0, ranBack.stderr)
      const parts = fs.readdirSync(back).filter((n) => /^part-\d{5}\.ndjson\.gz$/.test(n))
      assert.strictEqual(parts.length, Math.ceil(want.length / 50))
      assert.deepStrictEqual(yield* changesIn(back, ".ndjson.gz"), expected(truthNew, truthOld))
    }))

  it.scopedLive("refusals: exit 2, the argument named, nothing written", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 50)
      const old = path.join(dir, "old")
      const deals = path.join(dir, "deals")
      const ran = yield* cli(exportArgs(sim.baseUrl, old, "--ids", writeIds(dir, ids)), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      const dealIds = writeIds(dir, sim.portal.ids("deals").slice(0, 20), "deals.txt")
      const dealsArgs = ["export", "--from", "deals", "--to", "companies", "--out", deals, "--ids", dealIds]
      const ranDeals = yield* cli([...dealsArgs, "--base-url", sim.baseUrl, "--rate-limit", "300/1s"], { env })
      assert.strictEqual(ranDeals.code, 0, ranDeals.stderr)
      const unsealed = path.join(dir, "unsealed")
      fs.cpSync(old, unsealed, { recursive: true })
      fs.rmSync(path.join(unsealed, "_SUCCESS"))
      const out = path.join(dir, "changes")

      const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
        [["diff", old, "--out", out], "NEW"],
        [["diff", old, path.join(dir, "nope"), "--out", out], "NEW: "],
        [["diff", path.join(dir, "nope"), old, "--out", out], "OLD: "],
        [["diff", old, unsealed, "--out", out], "NEW: "],
        [["diff", old, deals, "--out", out], "NEW: "],
        [["diff", old, old, "--out", deals], "--out: "],
        [["diff", old, old, "--out", path.join(old, "manifest.json")], "--out"],
        [["diff", old, old, "--out", out, "--memory", "lots"], "--memory: "]
      ]
      for (const [args, named] of cases) {
        const refused = yield* cli(args, { env })
        assert.strictEqual(refused.code, 2, `${args.join(" ")}\n${refused.stderr}`)
        assert.include(refused.stdout + refused.stderr, named, args.join(" "))
        assert.isFalse(fs.existsSync(out), args.join(" "))
      }
      const notFinished = yield* cli(["diff", old, unsealed, "--out", out], { env })
      assert.include(notFinished.stderr, "is not a finished export")
      const pairs = yield* cli(["diff", old, deals, "--out", out], { env })
      assert.include(pairs.stderr, "contacts → companies")
      assert.include(pairs.stderr, "deals → companies")
      assert.include(pairs.stderr, old)
      assert.include(pairs.stderr, deals)
    }))

  it.live("--help: its own page", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["diff", "--help"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stdout, "Usage: assoc-etl diff OLD NEW --out DIR [flags]")
      for (const section of ["Arguments:", "Output:", "Limits:", "Exit status:", "Examples:"]) {
        assert.include(ran.stdout, section)
      }
      const root = yield* cli(["--help"])
      assert.match(root.stdout, /\n {2}diff {2,}Write the rows added and removed/)
    }))
})
