import type { AssociationRow } from "@assoc-etl/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parquetSchema } from "../../../test/support/DuckDb.js"
import { edgeRows, syntheticRows, tempDir } from "../../../test/support/Parts.js"
import { ChangesManifest, Diff } from "../src/index.js"
import { changeKey, changeKeys, expectedChanges, type Kind, readChanges, writeExport } from "./exports.js"

type Row = AssociationRow.AssociationRow

const row = (from: string, to: string, typeId: number, label: string | null, category = "HUBSPOT_DEFINED"): Row => ({
  from_object_type: "contacts",
  from_object_id: from,
  to_object_type: "companies",
  to_object_id: to,
  association_category: category,
  association_type_id: typeId,
  association_label: label
})

const a = row("1", "10", 1, "Primary")
const b = row("2", "20", 279, null)
const c = row("3", "30", 5, "Billing", "USER_DEFINED")
const cRelabelled = row("3", "30", 5, "Champion", "USER_DEFINED")
const d = row("4", "40", 1, null)
const e = row("5", "50", 2147483647, null, "INTEGRATOR_DEFINED")

/** A twice in OLD and once in NEW, B once and twice, C relabelled, D removed, E added; edge rows unchanged. */
const oldRows: ReadonlyArray<Row> = [a, a, b, c, d, ...edgeRows]
const newRows: ReadonlyArray<Row> = [...edgeRows, e, b, c, b, a].map((r) => r === c ? cRelabelled : r)
const handMade = [
  changeKey(a, "delete"),
  changeKey(b, "insert"),
  changeKey(c, "delete"),
  changeKey(cRelabelled, "insert"),
  changeKey(d, "delete"),
  changeKey(e, "insert")
].sort()

const run = (options: Diff.DiffOptions) => Diff.run(options).pipe(Effect.provide(NodeContext.layer))
const runError = (options: Diff.DiffOptions) => Effect.flip(run(options))

/** Every file under `dir` with its size and modification time: what "nothing was touched" compares. */
const snapshot = (dir: string) =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((f) => {
    const p = path.join(f.parentPath, f.name)
    const s = fs.statSync(p)
    return `${path.relative(dir, p)} ${s.isFile() ? s.size : "dir"} ${s.mtimeMs}`
  }).sort()

const pair = (dir: string, oldKind: Kind, newKind: Kind, rows = { old: oldRows, new: newRows }) =>
  Effect.gen(function*() {
    // Several parts a side, of other sizes on each.
    const old = yield* writeExport(path.join(dir, "old"), rows.old, {
      kind: oldKind,
      partMaxRows: Math.max(4, Math.ceil(rows.old.length / 4))
    })
    const neu = yield* writeExport(path.join(dir, "new"), rows.new, {
      kind: newKind,
      partMaxRows: Math.max(5, Math.ceil(rows.new.length / 3)),
      startedAt: Date.parse("2026-11-29T00:00:00Z")
    })
    return { old, new: neu, out: path.join(dir, "changes") }
  })

describe("Diff.run", () => {
  for (
    const [oldKind, newKind] of [
      ["ndjson", "ndjson"],
      ["ndjson.gz", "ndjson.gz"],
      ["parquet", "parquet"],
      ["ndjson", "parquet"],
      ["parquet", "ndjson.gz"]
    ] as const
  ) {
    it.scoped(`the exact multiset changes, OLD ${oldKind} and NEW ${newKind}: duplicates, a relabel, null labels`, () =>
      Effect.gen(function*() {
        const dirs = yield* pair(yield* tempDir, oldKind, newKind)
        const summary = yield* run(dirs)
        assert.strictEqual(summary.status, "done")
        assert.deepStrictEqual(changeKeys(yield* readChanges(dirs.out, newKind)), handMade)
        assert.deepStrictEqual(expectedChanges(oldRows, newRows), handMade)
        assert.strictEqual(summary.inserts, 3)
        assert.strictEqual(summary.deletes, 3)
        assert.strictEqual(summary.extension, `.${newKind}`)
        const names = fs.readdirSync(dirs.out).filter((n) => !n.startsWith(".")).sort()
        assert.deepStrictEqual(names, ["_SUCCESS", "manifest.json", `part-00000.${newKind}`])
      }))
  }

  it.scoped("many rows in several parts: the changes a plain count finds, sorted, across formats", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const old = syntheticRows(3000, 11)
      // Every 7th row removed, every 11th relabelled, every 13th doubled, 200 rows added.
      const neu = old.flatMap((r, i) =>
        i % 7 === 0 ? [] : i % 11 === 0 ? [{ ...r, association_label: `new ${i % 3}` }] : i % 13 === 0 ? [r, r] : [r]
      ).concat(syntheticRows(200, 12))
      const dirs = yield* pair(dir, "ndjson.gz", "parquet", { old, new: neu })
      const summary = yield* run({ ...dirs, partMaxRows: 300 })
      const changes = yield* readChanges(dirs.out, "parquet")
      assert.deepStrictEqual(changeKeys(changes), expectedChanges(old, neu))
      assert.isAbove(changes.length, 900)
      const m = summary.manifest
      assert.strictEqual(m.parts.length, Math.ceil(changes.length / 300))
      assert.deepStrictEqual(m.parts.map((p) => p.rows), m.parts.map((_, i) => Math.min(300, changes.length - 300 * i)))
      assert.strictEqual(m.totals.rows, changes.length)
      assert.strictEqual(m.inserts + m.deletes, changes.length)
      assert.strictEqual(m.inserts, changes.filter((r) => r.op === "insert").length)
      for (const p of m.parts) assert.strictEqual(fs.statSync(path.join(dirs.out, p.name)).size, p.bytes)
      // Sorted on the columns: the parts, read in order, are in order (DuckDB keeps the files' order).
      for (let i = 1; i < changes.length; i++) {
        const [p, q] = [changes[i - 1]!, changes[i]!]
        const order = p.from_object_id === q.from_object_id
          ? p.to_object_id <= q.to_object_id
          : p.from_object_id < q.from_object_id
        assert.isTrue(order, `row ${i}: ${p.from_object_id} ${p.to_object_id} before ${q.from_object_id}`)
      }
    }))

  it.scoped("the manifest: NEW's format, the schema with op, parts, totals, inserts, deletes, both exports", () =>
    Effect.gen(function*() {
      const dirs = yield* pair(yield* tempDir, "ndjson", "parquet")
      yield* run(dirs)
      const text = fs.readFileSync(path.join(dirs.out, "manifest.json"), "utf8")
      const m = yield* ChangesManifest.decodeJson(text)
      assert.strictEqual(m.kind, "changes")
      assert.strictEqual(m.format, "parquet")
      assert.deepStrictEqual(m.schema.map((c) => `${c.name} ${c.type}${c.nullable ? "?" : ""}`), [
        "from_object_type string",
        "from_object_id string",
        "to_object_type string",
        "to_object_id string",
        "association_category string",
        "association_type_id int32",
        "association_label string?",
        "op string"
      ])
      assert.deepStrictEqual(m.parts.map((p) => [p.name, p.rows]), [["part-00000.parquet", 6]])
      assert.deepStrictEqual([m.inserts, m.deletes, m.totals.rows, m.totals.parts], [3, 3, 6, 1])
      assert.deepStrictEqual(m.pair, { from: "contacts", to: "companies" })
      assert.deepStrictEqual([m.old.path, m.old.format, m.old.rows, m.old.startedAt], [
        dirs.old,
        "ndjson",
        oldRows.length,
        "2026-11-28T00:00:00.000Z"
      ])
      assert.deepStrictEqual([m.new.path, m.new.format, m.new.rows, m.new.startedAt], [
        dirs.new,
        "parquet",
        newRows.length,
        "2026-11-29T00:00:00.000Z"
      ])
      // The Parquet schema of an export's part, then op: only the label OPTIONAL, the type id INT32.
      const leaves = yield* parquetSchema(path.join(dirs.out, "part-00000.parquet"))
      assert.deepStrictEqual(leaves.map((l) => `${l.name} ${l.type} ${l.repetitionType}`), [
        "from_object_type BYTE_ARRAY REQUIRED",
        "from_object_id BYTE_ARRAY REQUIRED",
        "to_object_type BYTE_ARRAY REQUIRED",
        "to_object_id BYTE_ARRAY REQUIRED",
        "association_category BYTE_ARRAY REQUIRED",
        "association_type_id INT32 REQUIRED",
        "association_label BYTE_ARRAY OPTIONAL",
        "op BYTE_ARRAY REQUIRED"
      ])
    }))

  for (const kind of ["ndjson", "ndjson.gz", "parquet"] as const) {
    it.scoped(`no changes: one empty ${kind} part all the same, which a reader's glob reads`, () =>
      Effect.gen(function*() {
        const dirs = yield* pair(yield* tempDir, "ndjson", kind, { old: oldRows, new: [...oldRows].reverse() })
        const summary = yield* run(dirs)
        assert.deepStrictEqual([summary.inserts, summary.deletes], [0, 0])
        assert.deepStrictEqual(summary.manifest.parts.map((p) => [p.name, p.rows]), [[`part-00000.${kind}`, 0]])
        assert.deepStrictEqual(yield* readChanges(dirs.out, kind), [])
        if (kind === "parquet") assert.lengthOf(yield* parquetSchema(path.join(dirs.out, "part-00000.parquet")), 8)
      }))
  }

  it.scoped("empty exports on either side: every row of the other is a change", () =>
    Effect.gen(function*() {
      const dirs = yield* pair(yield* tempDir, "parquet", "ndjson", { old: [], new: newRows })
      yield* run(dirs)
      assert.deepStrictEqual(changeKeys(yield* readChanges(dirs.out, "ndjson")), expectedChanges([], newRows))
      const back = { old: dirs.new, new: dirs.old, out: path.join(path.dirname(dirs.out), "back") }
      yield* run(back)
      assert.deepStrictEqual(changeKeys(yield* readChanges(back.out, "parquet")), expectedChanges(newRows, []))
    }))

  it.scoped("a rerun on a finished diff returns the same summary at once and touches nothing", () =>
    Effect.gen(function*() {
      const dirs = yield* pair(yield* tempDir, "ndjson", "ndjson.gz")
      const first = yield* run(dirs)
      const before = snapshot(dirs.out)
      const second = yield* run(dirs)
      assert.strictEqual(second.status, "already-done")
      assert.deepStrictEqual({ ...second, status: "done" }, first)
      assert.deepStrictEqual(snapshot(dirs.out), before)
    }))

  it.scoped("a crashed run's leftovers are removed and the diff done again", () =>
    Effect.gen(function*() {
      const dirs = yield* pair(yield* tempDir, "ndjson", "parquet")
      yield* run(dirs)
      // What a run killed before `_SUCCESS` leaves: a finished part of other rows, a part being written, DuckDB's
      // spill files, the manifest's temp, the manifest itself.
      fs.rmSync(path.join(dirs.out, "_SUCCESS"))
      fs.writeFileSync(path.join(dirs.out, "part-00000.parquet"), "not these rows")
      fs.writeFileSync(path.join(dirs.out, "part-00001.parquet"), "a part of a larger run")
      fs.writeFileSync(path.join(dirs.out, ".part-00002.parquet.tmp"), "half")
      fs.mkdirSync(path.join(dirs.out, ".duckdb-spill"))
      fs.writeFileSync(path.join(dirs.out, ".duckdb-spill", "duckdb_temp_storage-0.tmp"), "spilled")
      fs.writeFileSync(path.join(dirs.out, ".manifest.json.tmp"), "{")
      const summary = yield* run(dirs)
      assert.strictEqual(summary.status, "done")
      assert.deepStrictEqual(changeKeys(yield* readChanges(dirs.out, "parquet")), handMade)
      assert.deepStrictEqual(fs.readdirSync(dirs.out).sort(), [
        ".assoc-etl-diff",
        "_SUCCESS",
        "manifest.json",
        "part-00000.parquet"
      ])
    }))

  it.live("a run interrupted at any moment leaves what the next run cleans: the changes are exact", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "assoc-etl-diff-test-"))
      try {
        const old = syntheticRows(4000, 3)
        const neu = old.filter((_, i) => i % 5 !== 0).concat(syntheticRows(500, 4))
        const dirs = yield* pair(dir, "ndjson", "parquet", { old, new: neu })
        for (const millis of [0, 5, 20, 60, 150]) {
          const fiber = yield* Effect.fork(run({ ...dirs, partMaxRows: 200 }))
          yield* Effect.sleep(millis)
          yield* Fiber.interrupt(fiber)
          const summary = yield* run({ ...dirs, partMaxRows: 200 })
          assert.deepStrictEqual(changeKeys(yield* readChanges(dirs.out, "parquet")), expectedChanges(old, neu))
          assert.isFalse(fs.existsSync(path.join(dirs.out, ".duckdb-spill")))
          assert.strictEqual(summary.manifest.totals.rows, summary.inserts + summary.deletes)
          fs.rmSync(dirs.out, { recursive: true })
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 120_000)

  it.scoped("an unsealed NEW (manifest, no _SUCCESS) only with acceptUnsealedNew", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const old = yield* writeExport(path.join(dir, "old"), oldRows)
      const neu = yield* writeExport(path.join(dir, "new"), newRows, { unsealed: true })
      const out = path.join(neu, "_changes")
      const refused = yield* runError({ old, new: neu, out })
      assert.deepStrictEqual([refused.reason, refused.argument], ["NotFinished", "NEW"])
      assert.include(refused.message, neu)
      assert.isFalse(fs.existsSync(out))
      yield* run({ old, new: neu, out, acceptUnsealedNew: true })
      assert.deepStrictEqual(changeKeys(yield* readChanges(out, "ndjson")), handMade)
      // OLD must be finished whatever the option says.
      const refusedOld = yield* runError({ old: neu, new: old, out: path.join(dir, "x"), acceptUnsealedNew: true })
      assert.deepStrictEqual([refusedOld.reason, refusedOld.argument], ["NotFinished", "OLD"])
    }))

  it.scoped("refusals name the argument and write nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const old = yield* writeExport(path.join(dir, "old"), oldRows)
      const neu = yield* writeExport(path.join(dir, "new"), newRows)
      const deals = yield* writeExport(path.join(dir, "deals"), newRows, { from: "deals" })
      const out = path.join(dir, "out")
      const cases: ReadonlyArray<[Diff.DiffOptions, string, string, string]> = [
        [{ old: path.join(dir, "nope"), new: neu, out }, "Missing", "OLD", "no such directory"],
        [{ old, new: path.join(old, "manifest.json"), out }, "Missing", "NEW", "not a directory"],
        [{ old: path.join(dir, "empty"), new: neu, out }, "NotAnExport", "OLD", "no manifest.json"],
        [{ old, new: deals, out }, "PairMismatch", "NEW", "contacts → companies"]
      ]
      fs.mkdirSync(path.join(dir, "empty"))
      for (const [options, reason, argument, words] of cases) {
        const error = yield* runError(options)
        assert.deepStrictEqual([error.reason, error.argument], [reason, argument], error.message)
        assert.include(error.message, words)
        assert.isTrue(error.message.startsWith(`${argument} `), error.message)
        assert.isTrue(Diff.isBadInput(error))
        assert.isFalse(fs.existsSync(out))
      }
      const mismatch = yield* runError({ old, new: deals, out })
      assert.include(mismatch.message, old)
      assert.include(mismatch.message, deals)
      assert.include(mismatch.message, "deals → companies")

      // A listed part gone.
      const broken = yield* writeExport(path.join(dir, "broken"), oldRows, { partMaxRows: 4 })
      fs.rmSync(path.join(broken, "part-00001.ndjson"))
      const corrupt = yield* runError({ old: broken, new: neu, out })
      assert.deepStrictEqual([corrupt.reason, corrupt.argument], ["Corrupt", "OLD"])
      assert.include(corrupt.message, "part-00001.ndjson")

      // An export in progress (a checkpoint, no manifest yet).
      const running = yield* writeExport(path.join(dir, "running"), oldRows)
      fs.rmSync(path.join(running, "manifest.json"))
      fs.rmSync(path.join(running, "_SUCCESS"))
      assert.strictEqual((yield* runError({ old: running, new: neu, out })).reason, "NotFinished")

      // A diff's output is not an export.
      yield* run({ old, new: neu, out })
      const notExport = yield* runError({ old: out, new: neu, out: path.join(dir, "out2") })
      assert.deepStrictEqual([notExport.reason, notExport.argument], ["NotAnExport", "OLD"])
      assert.include(notExport.message, "changes of a diff")
    }))

  it.scoped("an --out that holds anything else is refused, untouched", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const old = yield* writeExport(path.join(dir, "old"), oldRows)
      const neu = yield* writeExport(path.join(dir, "new"), newRows)
      const other = yield* writeExport(path.join(dir, "other"), newRows, {
        startedAt: Date.parse("2026-12-01T00:00:00Z")
      })

      // Another tool's files; an export; a file.
      const foreign = path.join(dir, "foreign")
      fs.mkdirSync(foreign)
      fs.writeFileSync(path.join(foreign, "notes.txt"), "mine")
      const file = path.join(dir, "file")
      fs.writeFileSync(file, "x")
      for (const out of [foreign, neu, file]) {
        const before = fs.statSync(out).isDirectory() ? snapshot(out) : []
        const error = yield* runError({ old, new: neu, out })
        assert.deepStrictEqual([error.reason, error.argument], ["OutNotUsable", "--out"], error.message)
        assert.include(error.message, out)
        if (before.length > 0) assert.deepStrictEqual(snapshot(out), before)
      }

      // A diff's directory with a file of someone else's in it.
      const out = path.join(dir, "changes")
      yield* run({ old, new: neu, out })
      fs.rmSync(path.join(out, "_SUCCESS"))
      fs.writeFileSync(path.join(out, "notes.txt"), "mine")
      const before = snapshot(out)
      assert.strictEqual((yield* runError({ old, new: neu, out })).reason, "OutNotUsable")
      assert.deepStrictEqual(snapshot(out), before)

      // The finished diff of other exports.
      const finished = path.join(dir, "finished")
      yield* run({ old, new: neu, out: finished })
      const kept = snapshot(finished)
      const error = yield* runError({ old, new: other, out: finished })
      assert.strictEqual(error.reason, "OutNotUsable")
      assert.include(error.message, "finished diff of other exports")
      assert.deepStrictEqual(snapshot(finished), kept)
      assert.isTrue(fs.existsSync(path.join(finished, "_SUCCESS")))
    }))

  it.live("past its memory limit DuckDB spills into --out (removed at the end), and the changes are exact", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "assoc-etl-diff-test-"))
      try {
        const old = syntheticRows(400_000, 21)
        const neu = old.filter((_, i) => i % 97 !== 0).concat(syntheticRows(3000, 22))
        const dirs = yield* pair(dir, "ndjson", "parquet", { old, new: neu })
        const spill = path.join(dirs.out, ".duckdb-spill")
        let spilled = 0
        const watch = Effect.sync(() => {
          try {
            for (const f of fs.readdirSync(spill)) spilled = Math.max(spilled, fs.statSync(path.join(spill, f)).size)
          } catch {
            // Not there (yet, or any more).
          }
        }).pipe(Effect.zipRight(Effect.sleep(5)), Effect.forever)
        const watcher = yield* Effect.fork(watch)
        yield* run({ ...dirs, memoryLimit: 128 * 1024 * 1024, threads: 1 })
        yield* Fiber.interrupt(watcher)
        assert.isAbove(spilled, 1024 * 1024, "DuckDB wrote to its spill directory")
        assert.isFalse(fs.existsSync(spill))
        assert.deepStrictEqual(changeKeys(yield* readChanges(dirs.out, "parquet")), expectedChanges(old, neu))
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 120_000)
})
