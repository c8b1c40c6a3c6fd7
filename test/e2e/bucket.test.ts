/**
 * `--out s3://bucket/prefix` through the built CLI, against s3rver on loopback (test/support/S3Server.ts) and the
 * simulator as HubSpot: the rows in the bucket, read back by DuckDB from the objects as a reader's glob finds them,
 * are exactly the simulator's; kill -9 at random moments and a rerun from a new staging directory (each process
 * stages in a temporary directory of its own, as another machine would) end exact, no `part-*` key is partial
 * after any kill, and nothing committed is asked of HubSpot again; a second writer on the prefix is refused; bad
 * credentials, a missing bucket, a bad URL: exit 2 before any request, the bucket named; `s3://` snapshots as
 * `--diff-against`, `--ids-from`, `--since` and `diff` inputs.
 */
import { SimulatedPortal } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Schedule } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { columnTypes, diffRows, literal, query, readNdjson, readParquet, type Row, rowKey } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import * as S3Server from "../support/S3Server.js"
import {
  assertCommittedNotAskedAgain,
  cli,
  type CommittedWork,
  committedWork,
  exportHarness,
  type Ran,
  sortedKeys,
  writeIds
} from "./support.js"

const token = "bucket-test-token-41c7"
const { env: hubspotEnv, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 400, rateLimit: "300/1s" })

/**
 * The temporary directory of the test's CLI runs (`TMPDIR`), inside the test's own: a staging directory is removed
 * by its run as it ends, but not by one killed with kill -9.
 */
const scratch = (dir: string) => {
  const tmp = path.join(dir, "tmp")
  fs.mkdirSync(tmp, { recursive: true })
  return tmp
}

/** The staging and download directories (@assoc-etl/bucket's) left in `dir`'s scratch. */
const leftovers = (dir: string) => fs.readdirSync(scratch(dir)).filter((n) => /^assoc-etl-(staging|replica)-/.test(n))

/** A key a reader's `prefix/part-*` glob picks up (not a hidden journal, not a folder's file). */
const isPart = (name: string) => /^part-[^/]*$/.test(name)

const url = (server: S3Server.S3Server, prefix: string) => `s3://${server.bucket}/${prefix}`

/** Fails when a run's output holds what must never be shown: the token, the AWS secret, a staging path. */
const assertClean = (ran: Ran, server: S3Server.S3Server) => {
  const output = ran.stdout + ran.stderr
  assert.notInclude(output, token)
  assert.notInclude(output, server.env["AWS_SECRET_ACCESS_KEY"]!)
  // The temporary directories standing for the bucket's locations (@assoc-etl/bucket's staging and replicas).
  assert.notMatch(output, /assoc-etl-(staging|replica)-/, "the output names the s3:// URL, never a temporary directory")
  assert.notInclude(output, "NodeVersionSupportWarning")
}

/** The changes rows of `glob` (an export's `_changes` or a diff's `--out`), as sorted `op key` strings. */
const changesIn = (glob: string, format: "ndjson" | "parquet") => {
  const columns = [...columnTypes, ["op", "VARCHAR"]].map(([n, t]) => `${n}: '${t}'`).join(", ")
  const source = format === "parquet"
    ? `read_parquet(${literal(glob)})`
    : `read_json(${literal(glob)}, format = 'newline_delimited', columns = {${columns}})`
  return Effect.map(query(`SELECT * FROM ${source}`), (rows) =>
    rows.map((r) => {
      const row = { ...(r as unknown as Row), association_label: (r["association_label"] ?? null) as string | null }
      return `${r["op"]} ${rowKey(row)}`
    }).sort())
}

/** The changes from `old` to `neu` as multisets, counted here: sorted `op key` strings. */
const expectedChanges = (old: ReadonlyArray<Row>, neu: ReadonlyArray<Row>): ReadonlyArray<string> => {
  const counts = new Map<string, number>()
  for (const r of neu) counts.set(rowKey(r), (counts.get(rowKey(r)) ?? 0) + 1)
  for (const r of old) counts.set(rowKey(r), (counts.get(rowKey(r)) ?? 0) - 1)
  const out: Array<string> = []
  for (const [key, n] of counts) for (let i = 0; i < Math.abs(n); i++) out.push(`${n > 0 ? "insert" : "delete"} ${key}`)
  return out.sort()
}

describe("export --out s3://bucket/prefix (built CLI, s3rver on loopback)", () => {
  it.scopedLive("ndjson: every association once in the bucket, the summary naming the URL; a rerun is done", () =>
    Effect.gen(function*() {
      const server = yield* S3Server.start()
      const bucket = S3Server.reader(server)
      const sim = yield* simulator()
      const dir = yield* tempDir
      const env = { ...hubspotEnv, ...server.env, TMPDIR: scratch(dir) }
      const prefix = "nightly/contacts-companies"
      const out = url(server, prefix)

      const ran = yield* cli(exportArgs(sim.baseUrl, out), { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, `export complete: ${out}`)
      assert.include(ran.stderr, `${out}/part-*.ndjson`)
      assertClean(ran, server)

      // What a reader's glob finds: whole parts, as the manifest lists them, and the files beside them.
      const keys = yield* bucket.fetch(prefix, dir)
      const names = keys.map((k) => k.name)
      for (const name of ["manifest.json", "_SUCCESS", "_labels/labels.ndjson"]) assert.include(names, name)
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
      const parts = keys.filter((k) => isPart(k.name))
      assert.deepStrictEqual(
        parts.map((k) => [k.name, k.size]),
        manifest.parts.map((p: { name: string; bytes: number }) => [p.name, p.bytes])
      )
      const rows = yield* readNdjson(path.join(dir, "part-*.ndjson"))
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies")
      assert.isAbove(truth.rows.length, 500)
      assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows))
      assert.strictEqual(manifest.totals.rows, truth.rows.length)
      // Nothing in the bucket holds a secret.
      for (const file of names) {
        const text = fs.readFileSync(path.join(dir, file)).toString("latin1")
        assert.notInclude(text, token, file)
        assert.notInclude(text, server.env["AWS_SECRET_ACCESS_KEY"]!, file)
      }

      // The same command again, from another staging directory: already complete, nothing asked.
      const before = (yield* sim.counters).batchReads
      const again = yield* cli(exportArgs(sim.baseUrl, out), { env })
      assert.strictEqual(again.code, 0, again.stderr)
      assert.include(again.stderr, `${out} is already complete`)
      assert.strictEqual((yield* sim.counters).batchReads, before)
      assert.deepStrictEqual(leftovers(dir), [], "each run removed its staging directory")
    }))

  it.scopedLive("parquet, --pairs under an s3:// root, killed once and resumed: each pair's dataset exact, typed", () =>
    Effect.gen(function*() {
      const server = yield* S3Server.start()
      const bucket = S3Server.reader(server)
      const sim = yield* simulator({ objects: 300 })
      const dir = yield* tempDir
      const env = { ...hubspotEnv, ...server.env, TMPDIR: scratch(dir) }
      const root = url(server, "job/2026-12-03")
      const args = [
        "export", "--pairs", "contacts:companies,deals:contacts", "--format", "parquet", "--out", root,
        "--base-url", sim.baseUrl, "--rate-limit", "30/1s", "--batch-size", "20", "--part-rows", "700"
      ]
      // Killed in the middle of its batch reads; the rerun, staged afresh, restores both pairs and the shared lists.
      let child: ChildProcess | undefined
      const killer = yield* Effect.fork(Effect.gen(function*() {
        yield* Effect.repeat(sim.counters, { until: (c) => c.batchReads > 5, schedule: Schedule.spaced("5 millis") })
        yield* Effect.sleep(Math.floor(Math.random() * 300))
        child?.kill("SIGKILL")
      }))
      const killed = yield* cli(args, { env, onSpawn: (c) => child = c })
      yield* Fiber.interrupt(killer)
      assert.strictEqual(killed.signal, "SIGKILL", killed.stderr)
      const ran = yield* cli(args, { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, `job complete: ${root}, 2 pairs`)
      assertClean(ran, server)
      for (const [from, to] of [["contacts", "companies"], ["deals", "contacts"]] as const) {
        const local = path.join(dir, `${from}-${to}`)
        const keys = yield* bucket.fetch(`job/2026-12-03/${from}-${to}`, local)
        const names = keys.map((k) => k.name)
        assert.include(names, "_SUCCESS")
        assert.include(names, "_labels/labels.parquet")
        const manifest = JSON.parse(fs.readFileSync(path.join(local, "manifest.json"), "utf8"))
        assert.deepStrictEqual(
          keys.filter((k) => isPart(k.name)).map((k) => k.name),
          manifest.parts.map((p: { name: string }) => p.name),
          `${from}-${to}: the parts the manifest lists, and no other`
        )
        assert.isTrue(keys.filter((k) => isPart(k.name)).every((k) => k.name.endsWith(".parquet")))
        const rows = yield* readParquet(path.join(local, "part-*.parquet"))
        const truth = SimulatedPortal.groundTruth(sim.portal, from, to)
        assert.isAbove(truth.rows.length, 0)
        assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows), `${from}-${to}`)
        const glob = literal(path.join(local, "part-*.parquet"))
        const [described] = yield* query(`SELECT typeof(association_type_id) AS t FROM read_parquet(${glob}) LIMIT 1`)
        assert.strictEqual(described?.["t"], "INTEGER")
      }
    }))

  it.scopedLive("s3:// snapshots as inputs: --diff-against, --ids-from, --since, and assoc-etl diff, exact", () =>
    Effect.gen(function*() {
      const server = yield* S3Server.start()
      const bucket = S3Server.reader(server)
      const sim = yield* simulator()
      const dir = yield* tempDir
      const env = { ...hubspotEnv, ...server.env, TMPDIR: scratch(dir) }
      const ids = sim.portal.ids("contacts")
      const idsNew = ids.slice(100)
      const truthAll = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies").rows
      const truthNew = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", idsNew).rows
      const want = expectedChanges(truthAll, truthNew)
      assert.isAbove(want.length, 20)
      assert.isTrue(want.every((c) => c.startsWith("delete")))

      // The night before: every contact, listed (so it keeps the list of its ids for the next night).
      const old = url(server, "snapshots/old")
      const first = yield* cli(exportArgs(sim.baseUrl, old), { env })
      assert.strictEqual(first.code, 0, first.stderr)

      // Tonight's ids, diffed against the bucket's snapshot as it finishes: _changes/ in the bucket, exact.
      const neu = url(server, "snapshots/new")
      const second = yield* cli(
        exportArgs(sim.baseUrl, neu, "--ids", writeIds(dir, idsNew), "--format", "parquet", "--diff-against", old),
        { env }
      )
      assert.strictEqual(second.code, 0, second.stderr)
      assert.include(second.stderr, `changes since ${old}: 0 inserted, ${want.length} deleted rows in ${neu}/_changes`)
      assertClean(second, server)
      const newDir = path.join(dir, "new")
      const newKeys = (yield* bucket.fetch("snapshots/new", newDir)).map((k) => k.name)
      assert.include(newKeys, "_changes/_SUCCESS")
      assert.deepStrictEqual(yield* changesIn(path.join(newDir, "_changes", "part-*.parquet"), "parquet"), want)
      // The changes' manifest names both sides by their locations in the bucket.
      const sides = JSON.parse(fs.readFileSync(path.join(newDir, "_changes", "manifest.json"), "utf8"))
      assert.deepStrictEqual([sides.old.path, sides.new.path], [old, neu])
      assert.deepStrictEqual(sortedKeys(yield* readParquet(path.join(newDir, "part-*.parquet"))), sortedKeys(truthNew))

      // assoc-etl diff of the two bucket snapshots, into a local directory: the same changes.
      const changes = path.join(dir, "changes")
      const diffed = yield* cli(["diff", old, neu, "--out", changes], { env })
      assert.strictEqual(diffed.code, 0, diffed.stderr)
      assertClean(diffed, server)
      assert.include(diffed.stderr, `old       ${old}`)
      assert.include(diffed.stderr, `new       ${neu}`)
      assert.deepStrictEqual(yield* changesIn(path.join(changes, "part-*.parquet"), "parquet"), want)
      const diffed2 = JSON.parse(fs.readFileSync(path.join(changes, "manifest.json"), "utf8"))
      assert.deepStrictEqual([diffed2.old.path, diffed2.new.path], [old, neu])
      const again = yield* cli(["diff", old, neu, "--out", changes], { env })
      assert.strictEqual(again.code, 0, again.stderr)
      assert.include(again.stderr, "already complete")

      // Chained to the bucket's snapshot: its ids (and the objects modified since, none here), nothing listed.
      const listedBefore = (yield* sim.counters).listRequests
      const chained = url(server, "snapshots/chained")
      const third = yield* cli(exportArgs(sim.baseUrl, chained, "--ids-from", old), { env })
      assert.strictEqual(third.code, 0, third.stderr)
      assert.strictEqual((yield* sim.counters).listRequests, listedBefore, "nothing listed")
      const chainedDir = path.join(dir, "chained")
      yield* bucket.fetch("snapshots/chained", chainedDir)
      const chainedRows = yield* readNdjson(path.join(chainedDir, "part-*.ndjson"))
      assert.deepStrictEqual(sortedKeys(chainedRows), sortedKeys(truthAll))

      // --since the bucket's snapshot: the window starts where that run's took every object.
      const oldManifest = JSON.parse((yield* bucket.get("snapshots/old/manifest.json")).toString("utf8"))
      const since = url(server, "snapshots/since")
      const fourth = yield* cli(exportArgs(sim.baseUrl, since, "--since", old), { env })
      assert.strictEqual(fourth.code, 0, fourth.stderr)
      assert.deepStrictEqual(leftovers(dir), [], "each run removed its staging and download directories")
      const sinceManifest = JSON.parse((yield* bucket.get("snapshots/since/manifest.json")).toString("utf8"))
      const window = sinceManifest.export.source.details
      assert.strictEqual(sinceManifest.export.source.kind, "search")
      // (Set back by the search index's lag when its listing searched, as HubSpotIdSource.chainedSince says.)
      const lag = Number(oldManifest.export.source.details?.searchIndexLagMillis ?? 0)
      assert.strictEqual(Date.parse(window.since), Date.parse(oldManifest.startedAt) - lag)
    }))

  it.scopedLive("kill -9 at random, reruns staged afresh: exact, no committed id asked again, every part whole", () =>
    Effect.gen(function*() {
      const server = yield* S3Server.start()
      const bucket = S3Server.reader(server)
      const kills = 5
      // What the killed runs asked for, in order, with the time each request arrived.
      const arrived: Array<{ readonly at: number; readonly id: string; readonly after: string | undefined }> = []
      let recording = false
      const sim = yield* simulator({
        onBatchRead: (inputs, at) => {
          if (recording) for (const i of inputs) arrived.push({ at, id: i.id, after: i.after })
        },
        seed: 23,
        objects: 4000,
        pageSize: 100,
        latencyMillis: [5, 25],
        rateLimit: { max: 400, windowMillis: 1000 },
        faults: { status500: 0.02, drop: 0.02 }
      })
      const dir = yield* tempDir
      const env = { ...hubspotEnv, ...server.env, TMPDIR: scratch(dir) }
      const known = sim.portal.ids("contacts")
      const unknown = "999999999991"
      const ids = [...known.slice(0, 1500), unknown, ...known.slice(1500)]
      const file = writeIds(dir, ids)
      const args = (out: string) => [
        "export", "--from", "contacts", "--to", "companies", "--out", out, "--ids", file, "--format", "parquet",
        "--base-url", sim.baseUrl, "--rate-limit", "30/1s", "--batch-size", "50", "--concurrency", "3",
        "--part-rows", "1500"
      ]
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
      const requests = Effect.map(sim.counters, (c) => c.requests)

      // The uninterrupted run, for its duration.
      const cleanStarted = Date.now()
      const clean = yield* cli(args(url(server, "clean")), { env })
      const cleanMillis = Date.now() - cleanStarted
      assert.strictEqual(clean.code, 3, clean.stderr)

      const prefix = "killed"
      const out = url(server, prefix)
      recording = true
      // After each kill, what the checkpoint object says was committed; when each attempt's process had ended.
      const committed: Array<CommittedWork & { readonly run: number }> = []
      const ended: Array<number> = []
      let killed = 0
      let finished: Ran | undefined
      let partsSeen = 0
      for (let attempt = 0; attempt < 40 && finished === undefined; attempt++) {
        let child: ChildProcess | undefined
        const spawnAt = yield* requests
        // Half the kills from the start (while the bucket is read back and the lease taken), half once a request
        // arrived, early enough that the rerun, with less left to do, is still at work. Past `kills`, only until one
        // fell after this run put a part in the bucket (on a busy machine the first kills can all fall before any
        // part is committed, leaving the checks nothing): once it has, at once.
        const more = killed >= kills
        const fromStart = !more && attempt % 2 === 0
        const partsBefore = (yield* bucket.list(prefix)).filter((k) => isPart(k.name)).length
        const delay = Math.floor(Math.random() * cleanMillis * (more ? 0.02 : 0.25))
        const killer = yield* Effect.fork(Effect.gen(function*() {
          if (more) {
            const parts = Effect.map(bucket.list(prefix), (keys) => keys.filter((k) => isPart(k.name)).length)
            yield* Effect.repeat(parts, { until: (n) => n > partsBefore, schedule: Schedule.spaced("20 millis") })
          } else if (!fromStart) {
            yield* Effect.repeat(requests, { until: (n) => n > spawnAt, schedule: Schedule.spaced("5 millis") })
          }
          yield* Effect.sleep(delay)
          if ((killed < kills || partsSeen === 0) && child !== undefined) child.kill("SIGKILL")
        }))
        const ran = yield* cli(args(out), { env, onSpawn: (c) => child = c })
        ended.push(Date.now())
        yield* Fiber.interrupt(killer)
        if (ran.signal !== "SIGKILL") {
          finished = ran
          break
        }
        killed++
        const checkpoint = yield* bucket.find(prefix, ".checkpoint.json")
        const text = Option.getOrUndefined(Option.map(checkpoint, (b) => b.toString("utf8")))
        committed.push({ run: attempt, ...committedWork(text, ids) })
        // After each kill, what a reader's glob finds in the bucket: every part-* key a whole Parquet file.
        const killDir = path.join(dir, `kill-${killed}`)
        const parts = yield* bucket.fetch(prefix, killDir, isPart)
        for (const part of parts) {
          assert.isTrue(part.name.endsWith(".parquet"), part.name)
          const file = path.join(killDir, part.name)
          const read = yield* Effect.either(readParquet(file))
          assert.isTrue(read._tag === "Right", `after kill ${killed}, ${part.name} (${part.size} bytes) is not whole`)
        }
        partsSeen += parts.length
      }
      assert.isDefined(finished)
      assert.strictEqual(finished!.code, 3, finished!.stderr)
      assert.isAtLeast(killed, kills)
      assertClean(finished!, server)
      // Some kills fell after parts were committed, so the check above had parts to open.
      assert.isAbove(partsSeen, 0)

      // Work committed before a kill is never asked for again: an id done is not asked at all, and an id half done
      // only from a cursor, the first time from the one its checkpoint holds. (A request belongs to the attempt
      // that ended first after it arrived.)
      recording = false
      const asked = arrived.map((a) => ({ ...a, run: ended.findIndex((end) => a.at <= end) }))
      assert.isFalse(asked.some((a) => a.run < 0))
      const checked = assertCommittedNotAskedAgain(committed, asked)
      assert.isAbove(checked, 0, "the kills fell after commits, so there was committed work to check")

      const finalDir = path.join(dir, "final")
      const keys = yield* bucket.fetch(prefix, finalDir)
      const rows = yield* readParquet(path.join(finalDir, "part-*.parquet"))
      const diff = diffRows(truth.rows, rows)
      assert.deepStrictEqual(
        [diff.missing.length, diff.extra.length],
        [0, 0],
        `no row lost, no row twice: ${JSON.stringify(diff.extra.slice(0, 3))} ${
          JSON.stringify(diff.missing.slice(0, 3))
        }`
      )
      const errors = fs.readFileSync(path.join(finalDir, "_errors", "errors.ndjson"), "utf8").trim().split("\n")
      assert.deepStrictEqual(errors.map((l) => JSON.parse(l).object_id), [unknown])
      const manifest = JSON.parse(fs.readFileSync(path.join(finalDir, "manifest.json"), "utf8"))
      assert.strictEqual(manifest.totals.rows, truth.rows.length)
      assert.deepStrictEqual(
        keys.filter((k) => isPart(k.name)).map((k) => k.name),
        manifest.parts.map((p: { name: string }) => p.name),
        "the bucket holds the parts the manifest lists, and no other"
      )
    }), { timeout: 150_000 })

  it.scopedLive("a second writer on the prefix is refused while the first runs: exit 2, nothing sent", () =>
    Effect.gen(function*() {
      const server = yield* S3Server.start()
      const bucket = S3Server.reader(server)
      const sim = yield* simulator({ latencyMillis: [20, 40] })
      // The second writer's HubSpot: it must see no request at all.
      const other = yield* simulator()
      const dir = yield* tempDir
      const env = { ...hubspotEnv, ...server.env, TMPDIR: scratch(dir) }
      const out = url(server, "shared")
      // Slow enough to be running when the second starts: 10 ids a request, 10 requests a second.
      const args = (baseUrl: string) => [
        "export", "--from", "contacts", "--to", "companies", "--out", out, "--base-url", baseUrl,
        "--batch-size", "10", "--rate-limit", "10/1s"
      ]

      const first = yield* Effect.fork(cli(args(sim.baseUrl), { env }))
      // Once the first sends its requests, it holds the prefix.
      yield* Effect.repeat(sim.counters, { until: (c) => c.batchReads > 0, schedule: Schedule.spaced("20 millis") })
      const second = yield* cli(args(other.baseUrl), { env })
      assert.strictEqual(second.code, 2, second.stderr)
      assert.match(second.stderr, /Locked|lease|holder/i)
      assert.include(second.stderr, server.bucket)
      assertClean(second, server)
      assert.strictEqual((yield* other.counters).requests, 0, "the second writer sent nothing")

      const ran = yield* Fiber.join(first)
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* bucket.fetch("shared", dir)
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies")
      assert.deepStrictEqual(sortedKeys(yield* readNdjson(path.join(dir, "part-*.ndjson"))), sortedKeys(truth.rows))
      // Its lease ended with it: the same command again is free to run (and finds the export done).
      const after = yield* cli(args(other.baseUrl), { env })
      assert.strictEqual(after.code, 0, after.stderr)
      assert.include(after.stderr, "already complete")
      assert.deepStrictEqual(leftovers(dir), [], "the refused run, too, removed its staging directory")
    }), { timeout: 90_000 })

  it.scopedLive("bad credentials, a missing bucket, a bad URL: exit 2 before any request, the bucket named", () =>
    Effect.gen(function*() {
      const server = yield* S3Server.start()
      const sim = yield* simulator()
      const dir = yield* tempDir
      const env = { ...hubspotEnv, ...server.env, TMPDIR: scratch(dir) }
      const refused = (ran: Ran, named: string) => {
        assert.strictEqual(ran.code, 2, ran.stderr)
        assert.include(ran.stderr, named)
        assertClean(ran, server)
      }
      // (s3rver checks the access key, not the signature: a wrong secret alone it would take.)
      const wrongKey = { ...env, AWS_ACCESS_KEY_ID: "NOTAKEY", AWS_SECRET_ACCESS_KEY: "not-the-secret-9f3b" }
      const badKey = yield* cli(exportArgs(sim.baseUrl, url(server, "p")), { env: wrongKey })
      refused(badKey, server.bucket)
      assert.match(badKey.stderr, /credentials were refused/)
      assert.notInclude(badKey.stderr, "not-the-secret-9f3b")
      const missing = yield* cli(exportArgs(sim.baseUrl, "s3://assoc-etl-no-such-bucket/p"), { env })
      refused(missing, "assoc-etl-no-such-bucket")
      const badUrl = yield* cli(exportArgs(sim.baseUrl, "s3://Not_A_Bucket/p"), { env })
      refused(badUrl, "Not_A_Bucket")
      const badInput = yield* cli(
        exportArgs(sim.baseUrl, url(server, "p2"), "--diff-against", "s3://assoc-etl-no-such-bucket/old"),
        { env }
      )
      refused(badInput, "assoc-etl-no-such-bucket")
      const diffOut = yield* cli(["diff", url(server, "a"), url(server, "b"), "--out", url(server, "changes")], { env })
      refused(diffOut, "--out")
      assert.strictEqual((yield* sim.counters).requests, 0, "nothing was sent to HubSpot")
      // None of the refused runs left an object behind, nor a temporary directory.
      assert.deepStrictEqual(yield* S3Server.reader(server).list("p"), [])
      assert.deepStrictEqual(leftovers(dir), [])

      // A local --out needs nothing of AWS: the variables may point nowhere.
      const nowhere = { ...hubspotEnv, AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: "", AWS_REGION: "" }
      const local = yield* cli(exportArgs(sim.baseUrl, path.join(dir, "local")), { env: nowhere })
      assert.strictEqual(local.code, 0, local.stderr)
    }))
})
