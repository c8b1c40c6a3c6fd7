/**
 * The nightly job: several pairs in one run (`--pairs`, `--job`), one dataset each under the root, one request
 * budget for all, each `--from` type listed once, one summary and one exit status, and one rerun that resumes
 * them all after kill -9.
 */
import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { literal, query, readNdjson, readParquet } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import { cli, exportHarness, sortedKeys, writeIds } from "./support.js"

const token = "job-test-token"
// The server allows 40 requests a second and the job is told exactly that: one budget for all pairs keeps inside.
const { env, simulator } = exportHarness({ token, serverPerSecond: 40, rateLimit: "40/1s" })

const pairs = [["contacts", "companies"], ["contacts", "deals"], ["deals", "companies"]] as const
const pairsFlag = pairs.map(([f, t]) => `${f}:${t}`).join(",")

const jobArgs = (baseUrl: string, root: string, ...more: ReadonlyArray<string>) => [
  "export",
  "--pairs",
  pairsFlag,
  "--out",
  root,
  "--base-url",
  baseUrl,
  "--rate-limit",
  "40/1s",
  ...more
]

/** Fails unless each pair's dataset under `root` holds exactly the portal's rows of that pair. */
const assertEachExact = (root: string, portal: SimulatedPortal.SimulatedPortal, format: "ndjson" | "parquet") =>
  Effect.forEach(pairs, ([from, to]) =>
    Effect.gen(function*() {
      const dir = path.join(root, `${from}-${to}`)
      assert.isTrue(fs.existsSync(path.join(dir, "_SUCCESS")), `${dir} is sealed`)
      const rows = format === "parquet"
        ? yield* readParquet(path.join(dir, "*.parquet"))
        : yield* readNdjson(path.join(dir, "*.ndjson"))
      const truth = SimulatedPortal.groundTruth(portal, from, to)
      assert.strictEqual(rows.length, truth.rows.length, `${from}-${to}: row count`)
      assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows), `${from}-${to}: rows`)
      yield* assertLabels(dir, portal, from, to, format)
    }))

/**
 * Fails unless `_labels/labels.<ext>` holds the pair's catalogue, read by DuckDB: every type the portal defines, in
 * its order, those no row uses too (the simulator defines some), with `type_id` an INT32 in Parquet.
 */
const assertLabels = (
  dir: string,
  portal: SimulatedPortal.SimulatedPortal,
  from: string,
  to: string,
  format: "ndjson" | "parquet"
) =>
  Effect.gen(function*() {
    const file = path.join(dir, "_labels", format === "parquet" ? "labels.parquet" : "labels.ndjson")
    const source = format === "parquet"
      ? `read_parquet(${literal(file)})`
      : `read_json(${literal(file)}, format = 'newline_delimited', columns = {category: 'VARCHAR', type_id: 'INTEGER', label: 'VARCHAR'})`
    const rows = yield* query(`SELECT category, type_id, label, typeof(type_id) AS t FROM ${source}`)
    const defined = portal.definedTypes(from, to)
    assert.deepStrictEqual(
      rows.map((r) => [r["category"], r["type_id"], r["label"], r["t"]]),
      defined.map((d) => [d.category, d.typeId, d.label, "INTEGER"]),
      `${from}-${to}: labels`
    )
    const used = new Set(SimulatedPortal.groundTruth(portal, from, to).rows.map((r) => r.association_type_id))
    assert.isTrue(defined.some((d) => !used.has(d.typeId)), `${from}-${to}: the catalogue has types no row uses`)
  })

describe("export --pairs: the nightly job", () => {
  it.scopedLive("three pairs, one budget: each dataset exact, each --from type listed once, 0 × 429", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const root = path.join(yield* tempDir, "night")
      const ran = yield* cli(jobArgs(sim.baseUrl, root), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* assertEachExact(root, sim.portal, "ndjson")
      const counters = yield* sim.counters
      assert.strictEqual(counters.status429, 0)
      // 400 contacts and 400 deals, each listed once whatever the pairs: 2 steps each of the list API (100 up)
      // and search (200 down) walking the ids from both ends.
      assert.strictEqual(counters.listRequests, 4)
      assert.strictEqual(counters.searchRequests, 4)
      assert.include(ran.stderr, "job complete")
      for (const [from, to] of pairs) assert.match(ran.stderr, new RegExp(`${from}-${to}\\s+complete`))
      assert.notInclude(ran.stdout + ran.stderr, token)

      const again = yield* cli(jobArgs(sim.baseUrl, root), { env })
      assert.strictEqual(again.code, 0, again.stderr)
      assert.match(again.stderr, /already complete/)
      assert.strictEqual((yield* sim.counters).requests, counters.requests, "a finished job asks nothing")

      // The next night, chained to this one and diffed against it (the portal did not change): no listing, and
      // each pair's _changes/ is one empty part.
      const next = path.join(path.dirname(root), "next")
      const chained = yield* cli(jobArgs(sim.baseUrl, next, "--diff-against", root), { env })
      assert.strictEqual(chained.code, 0, chained.stderr)
      yield* assertEachExact(next, sim.portal, "ndjson")
      assert.strictEqual((yield* sim.counters).listRequests, 4, "the next night lists nothing")
      for (const [from, to] of pairs) {
        const changes = path.join(next, `${from}-${to}`, "_changes")
        assert.deepStrictEqual(fs.readdirSync(changes).filter((n) => !n.startsWith(".")).sort(), [
          "_SUCCESS",
          "manifest.json",
          "part-00000.ndjson"
        ])
        assert.strictEqual(fs.readFileSync(path.join(changes, "part-00000.ndjson"), "utf8"), "")
        assert.include(chained.stderr, `changes since ${path.join(root, `${from}-${to}`)}: 0 inserted, 0 deleted`)
      }
    }))

  it.scopedLive("killed with kill -9 at random moments, the rerun resumes every pair: each dataset exact", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ objects: 600 })
      const root = path.join(yield* tempDir, "killed")
      const args = jobArgs(sim.baseUrl, root, "--format", "parquet")
      let killed = 0
      let finished = false
      for (let attempt = 0; attempt < 40 && !finished; attempt++) {
        let child: ChildProcess | undefined
        const before = (yield* sim.counters).requests
        const after = 2 + Math.floor(Math.random() * 25)
        const killer = yield* Effect.fork(Effect.gen(function*() {
          yield* Effect.repeat(sim.counters, {
            until: (c) => c.requests >= before + after,
            schedule: Schedule.spaced("2 millis")
          })
          if (killed < 5 && child !== undefined) child.kill("SIGKILL")
        }))
        const ran = yield* cli(args, { env, onSpawn: (c) => child = c })
        yield* Fiber.interrupt(killer)
        if (ran.signal === "SIGKILL") killed++
        else {
          assert.strictEqual(ran.code, 0, ran.stderr)
          finished = true
        }
      }
      assert.isTrue(finished)
      assert.isAtLeast(killed, 3)
      yield* assertEachExact(root, sim.portal, "parquet")
      // A restarted process sends one request alone first and counts what the window holds as spent.
      assert.isAtMost((yield* sim.counters).status429, killed)
    }))

  it.scopedLive("--job: the settings from a file, a flag wins over it; a bad field is refused naming it, exit 2", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const job = path.join(dir, "nightly.json")
      fs.writeFileSync(
        job,
        JSON.stringify({
          pairs: pairs.map(([f, t]) => `${f}:${t}`),
          out: path.join(dir, "from-file"),
          baseUrl: sim.baseUrl,
          rateLimit: "40/1s",
          format: "parquet"
        })
      )
      const root = path.join(dir, "from-flag")
      const ran = yield* cli(["export", "--job", job, "--out", root], { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.isFalse(fs.existsSync(path.join(dir, "from-file")), "--out given on the command line wins")
      yield* assertEachExact(root, sim.portal, "parquet")

      fs.writeFileSync(job, JSON.stringify({ pairs: ["contacts:companies"], out: root, batchsize: 10 }))
      const typo = yield* cli(["export", "--job", job], { env })
      assert.strictEqual(typo.code, 2)
      assert.include(typo.stderr, `--job: ${job}: batchsize: is unexpected`)
      fs.writeFileSync(job, JSON.stringify({ pairs: ["contacts:widgets"], out: root }))
      const badType = yield* cli(["export", "--job", job], { env })
      assert.strictEqual(badType.code, 2)
      assert.include(badType.stderr, "pairs.0.toType: \"widgets\" is not an object type")
      assert.strictEqual((yield* sim.counters).requests > 0, true)
    }))

  it.scopedLive("--ids with --pairs of one --from type reads the file once for all; of two types it is refused", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const dir = yield* tempDir
      const ids = sim.portal.ids("contacts").slice(0, 150)
      const file = writeIds(dir, ids)
      const root = path.join(dir, "ids")
      const args = ["export", "--pairs", "contacts:companies,contacts:deals", "--out", root, "--ids", "-"]
      const ran = yield* cli([...args, "--base-url", sim.baseUrl, "--rate-limit", "40/1s"], {
        env,
        stdin: fs.readFileSync(file, "utf8")
      })
      assert.strictEqual(ran.code, 0, ran.stderr)
      for (const to of ["companies", "deals"]) {
        const rows = yield* readNdjson(path.join(root, `contacts-${to}`, "*.ndjson"))
        assert.deepStrictEqual(sortedKeys(rows), sortedKeys(SimulatedPortal.groundTruth(sim.portal, "contacts", to, ids).rows))
      }
      const before = (yield* sim.counters).requests
      const refused = yield* cli(jobArgs(sim.baseUrl, path.join(dir, "two"), "--ids", file), { env })
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr, "--ids: the pairs start from contacts and deals")
      assert.strictEqual((yield* sim.counters).requests, before, "nothing sent")
    }))
})
