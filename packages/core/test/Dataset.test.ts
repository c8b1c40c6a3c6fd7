import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { SystemError } from "@effect/platform/Error"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Schema, Scope, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { IdSource, PartEncoder } from "../src/index.js"
import { tempDir } from "../../../test/support/Parts.js"
import { AssociationRow, Dataset, ErrorRow, NdjsonRows, ObjectType, RowBatch } from "../src/index.js"
import { replayChunkBytes } from "../src/internal/dataset/part.js"

type Row = AssociationRow.AssociationRow

const row = (n: number, label: string | null = n % 3 === 0 ? null : `label ${n}, "q"\n✓`): Row => ({
  from_object_type: "contacts",
  from_object_id: String(1000 + Math.floor(n / 3)),
  to_object_type: "companies",
  to_object_id: String(2 ** 60 + n),
  association_category: "HUBSPOT_DEFINED",
  association_type_id: n % 5,
  association_label: label
})
const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => row(from + i))
const batch = (from: number, count: number) => RowBatch.fromRows(rows(from, count))
const ndjsonBytes = (rs: ReadonlyArray<Row>) => NdjsonRows.encodeRows(rs).length

const refusal = (id: number): ErrorRow.ErrorRow => ({
  from_object_type: "contacts",
  to_object_type: "companies",
  object_id: String(id),
  category: "OBJECT_NOT_FOUND",
  sub_category: null,
  message: `object ${id} not found, "quoted"`
})

/** Plain NDJSON: its bytes are the journal's, so the journal is the part. */
const ndjson: PartEncoder.PartEncoder = {
  format: "ndjson",
  extension: ".ndjson",
  open: Effect.succeed({
    write: (rs) => Effect.succeed([NdjsonRows.encode(rs)]),
    finish: Effect.succeed([])
  }),
  partIsJournal: true
}

/** A format with a trailer, like Parquet: the part is built beside the journal, and is whole only with `END`. */
const framed: PartEncoder.PartEncoder = {
  format: "framed",
  extension: ".framed",
  open: Effect.succeed({
    write: (rs) => Effect.succeed(rs.length === 0 ? [] : [NdjsonRows.encode(rs)]),
    finish: Effect.succeed([new TextEncoder().encode("END\n")])
  })
}

const outDir = Effect.map(tempDir, (dir) => path.join(dir, "out"))

const base = Layer.merge(NodeFileSystem.layer, NodePath.layer)

type Op = "writeAll" | "sync" | "rename" | "remove" | "truncate" | "writeFile"

interface Hooks {
  /** Runs before each operation that changes a file; failing (or never ending) stops the operation. */
  readonly before?: (op: Op, target: string) => Effect.Effect<void, PlatformError>
  /** Replaces a file's `writeAll`; `write` is the real one, so a hook can write part of the bytes, then fail. */
  readonly writeAll?: (
    target: string,
    bytes: Uint8Array,
    write: (bytes: Uint8Array) => Effect.Effect<void, PlatformError>
  ) => Effect.Effect<void, PlatformError>
}

const systemError = (method: string, code: string, text: string) =>
  new SystemError({ reason: "Unknown", module: "FileSystem", method, description: `${code}: ${text}`, cause: { code } })

/** The real Node file system, with hooks around the operations that change files. */
const instrumented = (hooks: Hooks) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (real) => {
      const before = (op: Op, target: string) => Effect.suspend(() => hooks.before?.(op, target) ?? Effect.void)
      return {
        ...real,
        rename: (from: string, to: string) => Effect.zipRight(before("rename", to), real.rename(from, to)),
        remove: (p: string, o?: FileSystem.RemoveOptions) => Effect.zipRight(before("remove", p), real.remove(p, o)),
        truncate: (p: string, n?: FileSystem.SizeInput) => Effect.zipRight(before("truncate", p), real.truncate(p, n)),
        writeFile: (p: string, data: Uint8Array, o?: FileSystem.WriteFileOptions) =>
          Effect.zipRight(before("writeFile", p), real.writeFile(p, data, o)),
        open: (p: string, o?: FileSystem.OpenFileOptions) =>
          Effect.map(real.open(p, o), (file): FileSystem.File => {
            // `sync` and `stat` are getters on the file's prototype: define, do not assign.
            const wrapped = Object.create(file) as FileSystem.File
            Object.defineProperty(wrapped, "writeAll", {
              value: (bytes: Uint8Array) =>
                Effect.zipRight(
                  before("writeAll", p),
                  hooks.writeAll?.(p, bytes, (b) => file.writeAll(b)) ?? file.writeAll(bytes)
                )
            })
            Object.defineProperty(wrapped, "sync", { get: () => Effect.zipRight(before("sync", p), file.sync) })
            return wrapped
          })
      } satisfies FileSystem.FileSystem
    })
  ).pipe(Layer.provide(NodeFileSystem.layer), Layer.merge(NodePath.layer))

/** A disk that fills after `budget` bytes: the write that crosses it writes what fits, then fails with ENOSPC. */
const fullDisk = (control: { budget: number }) =>
  instrumented({
    writeAll: (_target, bytes, write) => {
      if (bytes.length <= control.budget) {
        control.budget -= bytes.length
        return write(bytes)
      }
      const fits = bytes.subarray(0, control.budget)
      control.budget = 0
      const noSpace = Effect.fail(systemError("writeAll", "ENOSPC", "no space left on device"))
      return fits.length === 0 ? noSpace : Effect.zipRight(write(fits), noSpace)
    }
  })

/** The payload the tests commit: how much of the export is done. */
const Done = Schema.Struct({ done: Schema.Number })

/** Opens a dataset directory as a sink whose payload is `Done`. */
const open = (options: Dataset.DatasetOptions) => Dataset.sink(options).open(Done)

const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }
const source: IdSource.Identity = {
  kind: "file",
  key: "0c4f".repeat(16),
  description: "the id file /data/ids.txt (sha256 0c4f0c4f0c4f)",
  details: { path: "/data/ids.txt" }
}
const startedAt = "2026-01-01T00:00:00.000Z"
/** What the run tells the sink when it finishes. */
const facts = { pair, source, startedAt: Date.parse(startedAt) }

/** Opens a dataset in a scope of its own, so a test can drop it like a killed process would. */
const openWith = <P, I>(options: Dataset.DatasetOptions, payload: Schema.Schema<P, I>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const opened = yield* Dataset.sink(options).open(payload).pipe(Scope.extend(scope))
    return { ...opened, drop: Scope.close(scope, Exit.void) }
  })
const openScoped = (options: Dataset.DatasetOptions) => openWith(options, Done)

/** Reads the parts back the way a reader would: every `part-*` file, in name order, parsed line by line. */
const readParts = (dir: string, ext: string) =>
  fs.readdirSync(dir).filter((n) => n.startsWith("part-") && n.endsWith(ext)).sort().flatMap((n) => {
    const text = fs.readFileSync(path.join(dir, n), "utf8")
    if (ext === framed.extension) assert.isTrue(text.endsWith("END\n"), `${n} is whole`)
    return text.replace(/END\n$/, "").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as unknown)
  })

const readErrors = (dir: string) =>
  fs.readFileSync(path.join(dir, Dataset.errorsName), "utf8").split("\n").filter((l) => l.length > 0).map((l) =>
    JSON.parse(l) as Record<string, unknown>
  )

const readersSee = (dir: string) => fs.readdirSync(dir).filter((n) => !n.startsWith(".")).sort()

/** Every `part-*` present is listed by the checkpoint on disk, at its size: a reader never meets a part being built. */
const assertPartsWhole = (dir: string, ext: string, context: string) => {
  const checkpointPath = path.join(dir, Dataset.checkpointName)
  const listed = fs.existsSync(checkpointPath)
    ? (JSON.parse(fs.readFileSync(checkpointPath, "utf8")) as Dataset.CheckpointFile).dataset.parts
    : []
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(".")) continue
    assert.include(["_errors", "manifest.json", "_SUCCESS"].concat(listed.map((p) => p.name)), name, context)
    const entry = listed.find((p) => p.name === name)
    if (entry !== undefined) {
      assert.strictEqual(fs.statSync(path.join(dir, name)).size, entry.bytes, `${context}: ${name} size`)
      if (ext === framed.extension) {
        assert.isTrue(fs.readFileSync(path.join(dir, name), "utf8").endsWith("END\n"), `${context}: ${name} whole`)
      }
    }
  }
}

/** Units of work of the step tests: unit i has 1 to 3 rows; every third unit also has a refused input. */
const unitCount = 8
const unitStart = (i: number) => i * 3
const unitRows = (i: number) => rows(unitStart(i), 1 + (i % 3))
const unitBatch = (i: number) => RowBatch.fromRows(unitRows(i))
const unitErrors = (i: number) => (i % 3 === 0 ? [refusal(i)] : [])
const allRows = (units: number) => Array.from({ length: units }, (_, i) => unitRows(i)).flat()
const allErrors = (units: number) => Array.from({ length: units }, (_, i) => unitErrors(i)).flat()

describe("Dataset", () => {
  it.scoped("writes whole parts, errors.ndjson, the manifest, then _SUCCESS last", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const renamed: Array<string> = []
      const layer = instrumented({
        before: (op, target) => Effect.sync(() => op === "rename" && renamed.push(path.relative(dir, target)))
      })
      const writer = yield* open({ directory: dir, encoder: ndjson, partMaxRows: 5 }).pipe(
        Effect.provide(layer)
      )
      yield* writer.append(batch(0, 3), [])
      yield* writer.commit({ done: 1 })
      yield* writer.append(batch(3, 3), [refusal(42)])
      yield* writer.commit({ done: 2 })
      yield* writer.append(batch(6, 2), [refusal(43)])
      const finishedAt = "2026-01-01T02:30:00.000Z"
      yield* TestClock.setTime(Date.parse(finishedAt))
      const manifest = yield* writer.finish({ done: 3 }, facts)

      assert.deepStrictEqual(readersSee(dir), ["_SUCCESS", "_errors", "manifest.json", "part-00000.ndjson", "part-00001.ndjson"])
      assert.deepStrictEqual(readParts(dir, ".ndjson"), rows(0, 8))
      const intoPlace = renamed.filter((n) => !n.startsWith("."))
      assert.deepStrictEqual(intoPlace.slice(-2), ["manifest.json", "_SUCCESS"], "_SUCCESS is renamed into place last")

      const onDisk = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
      assert.deepStrictEqual(onDisk, JSON.parse(JSON.stringify(manifest)))
      const sizes = ["part-00000.ndjson", "part-00001.ndjson"].map((n) => fs.statSync(path.join(dir, n)).size)
      assert.deepStrictEqual(onDisk, {
        version: 2,
        tool: { name: "assoc-etl", version: Dataset.toolVersion },
        format: "ndjson",
        schema: AssociationRow.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
        parts: [
          { name: "part-00000.ndjson", rows: 6, bytes: sizes[0] },
          { name: "part-00001.ndjson", rows: 2, bytes: sizes[1] }
        ],
        totals: { rows: 8, bytes: sizes[0]! + sizes[1]!, parts: 2 },
        errors: { file: "_errors/errors.ndjson", rows: 2 },
        startedAt,
        finishedAt,
        export: { from: "contacts", to: "companies", source }
      })
      assert.deepStrictEqual(yield* Dataset.readManifest(dir), manifest)
      assert.deepStrictEqual(onDisk.schema.map((c: { name: string }) => c.name), [
        "from_object_type",
        "from_object_id",
        "to_object_type",
        "to_object_id",
        "association_category",
        "association_type_id",
        "association_label"
      ])
      const errors = readErrors(dir)
      assert.deepStrictEqual(errors, [refusal(42), refusal(43)])
      assert.deepStrictEqual(Object.keys(errors[0]!), Object.keys(ErrorRow.ErrorRow.fields), "ErrorRow field order")
      assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith(".") && n !== ".checkpoint.json"), [])
      const refused = yield* Effect.flip(writer.append(batch(9, 1), []))
      assert.strictEqual(refused.reason, "Finished")
      assert.include(refused.message, "finished export")
    }).pipe(Effect.provide(base)))

  for (const encoder of [ndjson, framed]) {
    it.scoped(`${encoder.format}: an export with no rows ends with one empty part, listed in the manifest`, () =>
      Effect.gen(function*() {
        const dir = yield* outDir
        const first = yield* openScoped({ directory: dir, encoder })
        yield* first.commit({ done: 1 })
        yield* first.drop
        const writer = yield* openScoped({ directory: dir, encoder })
        assert.deepStrictEqual(writer.resumed, Option.some({ done: 1 }))
        const manifest = yield* writer.finish({ done: 2 }, facts)
        const part = `part-00000${encoder.extension}`
        assert.deepStrictEqual(readersSee(dir), ["_SUCCESS", "_errors", "manifest.json", part])
        const bytes = fs.readFileSync(path.join(dir, part))
        assert.strictEqual(bytes.toString("utf8"), encoder === framed ? "END\n" : "", "the encoder's empty part")
        assert.deepStrictEqual(manifest.parts, [{ name: part, rows: 0, bytes: bytes.length }])
        assert.deepStrictEqual(manifest.totals, { rows: 0, bytes: bytes.length, parts: 1 })
        assert.deepStrictEqual(readParts(dir, encoder.extension), [])
        assert.strictEqual(fs.readFileSync(path.join(dir, Dataset.errorsName), "utf8"), "")
        assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith(".part-")), [])
        yield* writer.drop
      }).pipe(Effect.provide(base)))
  }

  it.scoped("an export whose last part is empty adds no empty part after its parts", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const writer = yield* open({ directory: dir, encoder: framed, partMaxRows: 2 })
      yield* writer.append(batch(0, 2), [refusal(1)])
      yield* writer.commit({ done: 1 }) // rolls: the open part is empty from here on
      const manifest = yield* writer.finish({ done: 2 }, facts)
      assert.deepStrictEqual(manifest.parts.map((p) => [p.name, p.rows]), [["part-00000.framed", 2]])
      assert.deepStrictEqual(readersSee(dir), ["_SUCCESS", "_errors", "manifest.json", "part-00000.framed"])
    }).pipe(Effect.provide(base)))

  it.scoped("parts roll over by rows only inside commit and never split one append", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const writer = yield* open({ directory: dir, encoder: framed, partMaxRows: 5 })
      const partRows = Effect.map(writer.state, (s) => s.parts.map((p) => p.rows))
      yield* writer.append(batch(0, 7), []) // one unit larger than a part
      assert.deepStrictEqual(yield* partRows, [], "append alone never rolls")
      yield* writer.commit({ done: 0 })
      assert.deepStrictEqual(yield* partRows, [7])
      for (let i = 0; i < 6; i++) yield* writer.append(batch(7 + i, 1), []) // 6 units, no commit between them
      assert.deepStrictEqual(readersSee(dir), ["_errors", "part-00000.framed"])
      yield* writer.commit({ done: 0 })
      assert.deepStrictEqual(yield* partRows, [7, 6], "the units between two commits stay together")
      yield* writer.append(batch(13, 2), [])
      yield* writer.commit({ done: 0 })
      yield* writer.append(batch(15, 2), [])
      yield* writer.commit({ done: 0 })
      assert.deepStrictEqual(yield* partRows, [7, 6], "4 rows are below the limit")
      yield* writer.append(batch(17, 2), [])
      yield* writer.commit({ done: 0 })
      assert.deepStrictEqual(yield* partRows, [7, 6, 6])
      yield* writer.append(batch(19, 1), [])
      const manifest = yield* writer.finish({ done: 0 }, facts)
      assert.deepStrictEqual(manifest.parts.map((p) => p.rows), [7, 6, 6, 1])
      assert.deepStrictEqual(manifest.parts.map((p) => p.name), [0, 1, 2, 3].map((i) => Dataset.partName(i, ".framed")))
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 20))
    }).pipe(Effect.provide(base)))

  it.scoped("an encoder whose part is its journal (partIsJournal) gets no journal file beside the part; others do", () =>
    Effect.gen(function*() {
      const workingFiles = (encoder: PartEncoder.PartEncoder) =>
        Effect.gen(function*() {
          const dir = yield* outDir
          const writer = yield* open({ directory: dir, encoder })
          yield* writer.append(batch(0, 3), [])
          yield* writer.commit({ done: 0 })
          return fs.readdirSync(dir).filter((n) => n.startsWith(".part-")).sort()
        })
      assert.deepStrictEqual(yield* workingFiles(ndjson), [".part-00000.ndjson.tmp"])
      assert.deepStrictEqual(yield* workingFiles({ ...ndjson, partIsJournal: false }), [
        ".part-00000.journal",
        ".part-00000.ndjson.tmp"
      ])
      assert.deepStrictEqual(yield* workingFiles(framed), [".part-00000.framed.tmp", ".part-00000.journal"])
    }).pipe(Effect.provide(base)))

  it.scoped("parts roll over by journal bytes", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const same = (n: number) => row(n, "same length")
      const unitBytes = ndjsonBytes([same(0), same(1)])
      const writer = yield* open({
        directory: dir,
        encoder: ndjson,
        partMaxBytes: Math.floor(unitBytes * 2.5)
      })
      for (let i = 0; i < 8; i++) {
        yield* writer.append(RowBatch.fromRows([same(2 * i), same(2 * i + 1)]), [])
        yield* writer.commit({ done: i + 1 })
      }
      const manifest = yield* writer.finish({ done: 0 }, facts)
      assert.deepStrictEqual(manifest.parts.map((p) => p.rows), [6, 6, 4])
      assert.deepStrictEqual(manifest.parts.map((p) => p.bytes), [3 * unitBytes, 3 * unitBytes, 2 * unitBytes])
      assert.deepStrictEqual(readParts(dir, ".ndjson"), Array.from({ length: 16 }, (_, n) => same(n)))
    }).pipe(Effect.provide(base)))

  for (const encoder of [ndjson, framed]) {
    it.scoped(`${encoder.format}: a crash loses only what was not committed; the resumed export holds each row once`, () =>
      Effect.gen(function*() {
        const dir = yield* outDir
        const first = yield* openScoped({ directory: dir, encoder, partMaxRows: 4 })
        yield* first.append(batch(0, 3), [refusal(1)])
        yield* first.commit({ done: 3 })
        yield* first.append(batch(3, 3), []) // rolls over at the next commit
        yield* first.commit({ done: 6 })
        yield* first.append(batch(6, 2), [refusal(2)])
        yield* first.commit({ done: 8 })
        yield* first.append(batch(100, 5), [refusal(100)]) // never committed
        yield* first.drop
        // A torn checkpoint temp and stray bytes after the committed journal, as a kill can leave.
        fs.writeFileSync(path.join(dir, ".checkpoint.json.tmp"), "{\"version\":1,\"dat")
        const journal = fs.readdirSync(dir).find((n) => n.startsWith(".part-00001"))!
        fs.appendFileSync(path.join(dir, journal), "{\"torn\":")
        assert.deepStrictEqual(readersSee(dir), ["_errors", `part-00000${encoder.extension}`], "working files are dotted")

        const second = yield* openScoped({ directory: dir, encoder, partMaxRows: 4 })
        assert.isTrue(Option.isNone(second.finished))
        assert.deepStrictEqual(second.resumed, Option.some({ done: 8 }))
        assert.deepStrictEqual((yield* second.state).open, {
          index: 1,
          rows: 2,
          journalBytes: ndjsonBytes(rows(6, 2))
        })
        assert.isFalse(fs.existsSync(path.join(dir, ".checkpoint.json.tmp")), "the torn temp is deleted")
        yield* second.append(batch(8, 3), [refusal(3)])
        const manifest = yield* second.finish({ done: 11 }, facts)
        assert.deepStrictEqual(readParts(dir, encoder.extension), rows(0, 11))
        assert.deepStrictEqual(manifest.parts.map((p) => p.rows), [6, 5])
        assert.deepStrictEqual(readErrors(dir), [refusal(1), refusal(2), refusal(3)])
        assert.strictEqual(manifest.errors.rows, 3)
        assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith(".part-")), [])
        yield* second.drop
      }).pipe(Effect.provide(base)))

    it.scoped(`${encoder.format}: a part committed but not yet renamed is renamed on reopen (roll forward)`, () =>
      Effect.gen(function*() {
        const dir = yield* outDir
        const layer = instrumented({
          before: (op, target) =>
            op === "rename" && path.basename(target).startsWith("part-")
              ? Effect.fail(systemError("rename", "EIO", "i/o error"))
              : Effect.void
        })
        const first = yield* openScoped({ directory: dir, encoder, partMaxRows: 2 }).pipe(Effect.provide(layer))
        yield* first.append(batch(0, 3), [])
        const failed = yield* Effect.flip(first.commit({ done: 3 }).pipe(Effect.provide(layer)))
        assert.strictEqual(failed.reason, "Io")
        assert.include(failed.message, `part-00000${encoder.extension}`)
        const closed = yield* Effect.flip(first.append(batch(3, 1), []))
        assert.include(closed.message, "open the directory again to resume")
        yield* first.drop
        assert.deepStrictEqual(readersSee(dir), ["_errors"])
        assert.isTrue(fs.existsSync(path.join(dir, `.part-00000${encoder.extension}.tmp`)))

        const second = yield* openScoped({ directory: dir, encoder, partMaxRows: 2 })
        assert.deepStrictEqual(second.resumed, Option.some({ done: 3 }))
        assert.deepStrictEqual(readersSee(dir), ["_errors", `part-00000${encoder.extension}`])
        assert.deepStrictEqual(readParts(dir, encoder.extension), rows(0, 3))
        yield* second.append(batch(3, 1), [])
        yield* second.finish({ done: 4 }, facts)
        assert.deepStrictEqual(readParts(dir, encoder.extension), rows(0, 4))
        yield* second.drop
      }).pipe(Effect.provide(base)))
  }

  it.scoped("a part renamed into place but never committed is removed on reopen, and its rows come from the journal", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const first = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 100 })
      yield* first.append(batch(0, 3), [])
      yield* first.commit({ done: 3 })
      yield* first.drop
      // As if a roll had renamed part 0 but its checkpoint never reached the disk; and a stray from further on.
      const renamed = Buffer.concat([NdjsonRows.encodeRows(rows(0, 3)), Buffer.from("END\n")])
      fs.writeFileSync(path.join(dir, "part-00000.framed"), renamed)
      fs.writeFileSync(path.join(dir, "part-00007.framed"), "left by a run that never committed it")

      const second = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 100 })
      assert.deepStrictEqual(second.resumed, Option.some({ done: 3 }))
      assert.deepStrictEqual(readersSee(dir), ["_errors"])
      yield* second.append(batch(3, 2), [])
      yield* second.finish({ done: 5 }, facts)
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 5))
      yield* second.drop
    }).pipe(Effect.provide(base)))

  for (const encoder of [ndjson, framed]) {
    it.scoped(`${encoder.format}: a full disk fails with NoSpace and the directory resumes to the exact rows`, () =>
      Effect.gen(function*() {
        const dir = yield* outDir
        const control = { budget: 6000 }
        const layer = fullDisk(control)
        const first = yield* openScoped({ directory: dir, encoder, partMaxRows: 10 }).pipe(Effect.provide(layer))
        let committed = 0
        const error = yield* Effect.flip(Effect.gen(function*() {
          for (let i = 0; i < 100; i++) {
            yield* first.append(batch(i * 2, 2), i % 4 === 0 ? [refusal(i)] : [])
            yield* first.commit({ done: i + 1 })
            committed = i + 1
          }
        }).pipe(Effect.provide(layer)))
        assert.strictEqual(error.reason, "NoSpace")
        assert.include(error.message, "no space left on the device while writing " + dir)
        assert.include(error.message, "What was committed is safe")
        assert.include(error.message, "run the same command again to resume")
        assert.isAbove(committed, 2)
        const refused = yield* Effect.flip(first.commit({ done: -1 }))
        assert.strictEqual(refused.reason, "Io", "a writer that failed takes nothing more")
        assert.include(refused.message, "open the directory again to resume")
        yield* first.drop
        assertPartsWhole(dir, encoder.extension, "after ENOSPC")

        const second = yield* openScoped({ directory: dir, encoder, partMaxRows: 10 })
        assert.deepStrictEqual(second.resumed, Option.some({ done: committed }))
        for (let i = committed; i < 100; i++) {
          yield* second.append(batch(i * 2, 2), i % 4 === 0 ? [refusal(i)] : [])
        }
        yield* second.finish({ done: 100 }, facts)
        assert.deepStrictEqual(readParts(dir, encoder.extension), rows(0, 200))
        assert.deepStrictEqual(readErrors(dir), Array.from({ length: 25 }, (_, k) => refusal(k * 4)))
        yield* second.drop
      }).pipe(Effect.provide(base)))
  }

  // Stops the writer at every file operation in turn, by interruption (a kill) or by a failure that writes half its
  // bytes, then checks what a reader sees and that a reopen finishes the export with every row and refusal once. A
  // writer that resumes an open part of `resumed` rows rebuilds it in the background meanwhile, its writes stopped too.
  const crashScenarios = [
    { encoder: ndjson, partMaxRows: 4, resumed: 0 },
    { encoder: framed, partMaxRows: 4, resumed: 0 },
    { encoder: framed, partMaxRows: 100_000, resumed: 600 }
  ]
  for (const { encoder, partMaxRows, resumed } of crashScenarios) {
    for (const mode of ["interrupted", "failing"] as const) {
      const name = resumed === 0
        ? `${encoder.format}: a writer ${mode} at any file operation leaves only whole parts and resumes`
        : `${encoder.format}: a writer rebuilding a resumed part, ${mode} at any file operation, resumes`
      it.scoped(name, () =>
        Effect.gen(function*() {
          const earlier = rows(100_000, resumed)
          const template = yield* outDir
          if (resumed > 0) {
            const writer = yield* openScoped({ directory: template, encoder, partMaxRows })
            yield* writer.append(RowBatch.fromRows(earlier), [])
            yield* writer.commit({ done: 0 })
            yield* writer.drop
          }
          let step = 0
          for (;; step++) {
            const dir = yield* outDir
            if (resumed > 0) fs.cpSync(template, dir, { recursive: true })
            const context = `${mode} at operation ${step}`
            const gate = { armed: false, count: 0, stopAt: step }
            const reached = yield* Deferred.make<void>()
            const stop = (op: Op): Effect.Effect<boolean, PlatformError> =>
              Effect.suspend(() => {
                if (!gate.armed || gate.count++ !== gate.stopAt) return Effect.succeed(false)
                if (mode === "interrupted") return Effect.zipRight(Deferred.succeed(reached, undefined), Effect.never)
                return op === "writeAll" ? Effect.succeed(true) : Effect.fail(systemError(op, "EIO", "i/o error"))
              })
            const layer = instrumented({
              before: (op) => op === "writeAll" ? Effect.void : Effect.asVoid(stop(op)),
              writeAll: (_target, bytes, write) =>
                Effect.flatMap(stop("writeAll"), (half) =>
                  half
                    ? Effect.zipRight(
                      write(bytes.subarray(0, bytes.length >> 1)),
                      Effect.fail(systemError("writeAll", "EIO", "i/o error"))
                    )
                    : write(bytes))
            })
            const first = yield* openScoped({ directory: dir, encoder, partMaxRows }).pipe(Effect.provide(layer))
            gate.armed = true
            let committed = 0
            const run = Effect.gen(function*() {
              for (let i = 0; i < unitCount; i++) {
                yield* first.append(unitBatch(i), unitErrors(i))
                yield* first.commit({ done: i + 1 })
                committed = i + 1
              }
              yield* first.finish({ done: unitCount }, facts)
            }).pipe(Effect.provide(layer))
            const fiber = yield* Effect.fork(run)
            const outcome = yield* Effect.raceFirst(
              Effect.as(Deferred.await(reached), "stopped" as const),
              Effect.as(Effect.exit(Fiber.join(fiber)), "ended" as const)
            )
            const exit = yield* Fiber.interrupt(fiber)
            gate.armed = false
            if (outcome === "ended" && Exit.isSuccess(exit)) {
              assert.isAbove(step, 20, "the loop went through many operations")
              assert.deepStrictEqual(readParts(dir, encoder.extension), [...earlier, ...allRows(unitCount)])
              yield* first.drop
              break
            }
            yield* first.drop
            assertPartsWhole(dir, encoder.extension, context)

            const second = yield* openScoped({ directory: dir, encoder, partMaxRows })
            if (Option.isSome(second.finished)) {
              assert.strictEqual(committed, unitCount, context)
            } else {
              const done = Option.match(second.resumed, { onNone: () => 0, onSome: (p) => p.done })
              assert.isAtLeast(done, committed, context)
              assert.isAtMost(done, committed + 1, context)
              assertPartsWhole(dir, encoder.extension, `${context}, reopened`)
              for (let i = done; i < unitCount; i++) yield* second.append(unitBatch(i), unitErrors(i))
              yield* second.finish({ done: unitCount }, facts)
            }
            assert.deepStrictEqual(readParts(dir, encoder.extension), [...earlier, ...allRows(unitCount)], context)
            assert.deepStrictEqual(readErrors(dir), allErrors(unitCount), context)
            assert.isTrue(fs.existsSync(path.join(dir, Dataset.successName)), context)
            yield* second.drop
          }
        }).pipe(Effect.provide(base)))
    }
  }

  it.scoped("rebuilds a large open part from its journal in chunks", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const first = yield* openScoped({ directory: dir, encoder: framed })
      for (let i = 0; i < 10; i++) yield* first.append(batch(i * 2000, 2000), [])
      yield* first.commit({ done: 20_000 })
      yield* first.drop
      const second = yield* openScoped({ directory: dir, encoder: framed })
      assert.strictEqual((yield* second.state).open.rows, 20_000)
      yield* second.append(batch(20_000, 5), [])
      yield* second.finish({ done: 0 }, facts)
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 20_005))
      yield* second.drop
    }).pipe(Effect.provide(base)))

  /** A file system whose writes to the part being built wait for `gate`: the replay of a resumed part stops there. */
  const replayGated = (gate: Deferred.Deferred<void>) =>
    instrumented({
      before: (op, target) =>
        op === "writeAll" && path.basename(target) === ".part-00000.framed.tmp" ? Deferred.await(gate) : Effect.void
    })

  /** A directory whose open part (no part finished yet) holds rows 0 to `count - 1`, committed. */
  const openPartOf = (count: number) =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const first = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 1_000_000 })
      for (let i = 0; i < count; i += 1000) yield* first.append(batch(i, Math.min(1000, count - i)), [])
      yield* first.commit({ done: count })
      yield* first.drop
      return dir
    })

  it.scoped("a resumed part is rebuilt after open returns: appends and commits go on meanwhile, finish waits", () =>
    Effect.gen(function*() {
      const dir = yield* openPartOf(5000)
      const gate = yield* Deferred.make<void>()
      const layer = replayGated(gate)
      const second = yield* openScoped({ directory: dir, encoder: framed }).pipe(Effect.provide(layer))
      // The replay cannot write a byte of the part, yet open has returned and the writer takes rows and commits.
      assert.deepStrictEqual(second.resumed, Option.some({ done: 5000 }))
      assert.strictEqual(fs.statSync(path.join(dir, ".part-00000.framed.tmp")).size, 0, "nothing replayed yet")
      yield* second.append(batch(5000, 3), [refusal(1)]).pipe(Effect.provide(layer))
      yield* second.commit({ done: 5003 }).pipe(Effect.provide(layer))
      yield* second.append(batch(5003, 2), []).pipe(Effect.provide(layer))
      assert.deepStrictEqual((yield* second.state).open, {
        index: 0,
        rows: 5005,
        journalBytes: ndjsonBytes(rows(0, 5005))
      })
      const finishing = yield* Effect.fork(second.finish({ done: 5005 }, facts).pipe(Effect.provide(layer)))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(finishing)), "the last commit waits for the replay")
      assert.isFalse(fs.existsSync(path.join(dir, Dataset.successName)))
      yield* Deferred.succeed(gate, undefined)
      const manifest = yield* Fiber.join(finishing)
      assert.deepStrictEqual(manifest.parts.map((p) => p.rows), [5005])
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 5005), "the replayed rows, then the appended ones")
      assert.deepStrictEqual(readErrors(dir), [refusal(1)])
      yield* second.drop
    }).pipe(Effect.provide(base)))

  it.scoped("the replay encodes a bounded chunk of the journal at a time", () =>
    Effect.gen(function*() {
      const dir = yield* openPartOf(20_000)
      /** The rows and journal bytes of each batch the encoder is given. */
      const writes: Array<{ readonly rows: number; readonly bytes: number }> = []
      const counting: PartEncoder.PartEncoder = {
        ...framed,
        open: Effect.map(framed.open, (writer) => ({
          ...writer,
          write: (batch: RowBatch.RowBatch) =>
            Effect.zipRight(
              Effect.sync(() => writes.push({ rows: batch.length, bytes: NdjsonRows.encode(batch).length })),
              writer.write(batch)
            )
        }))
      }
      const second = yield* openScoped({ directory: dir, encoder: counting })
      yield* second.finish({ done: 20_000 }, facts)
      assert.strictEqual(writes.reduce((n, w) => n + w.rows, 0), 20_000)
      assert.isAtLeast(writes.length, Math.ceil(ndjsonBytes(rows(0, 20_000)) / replayChunkBytes))
      for (const w of writes) assert.isAtMost(w.bytes, replayChunkBytes, "at most a chunk of journal a write")
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 20_000))
      yield* second.drop
    }).pipe(Effect.provide(base)))

  it.scoped("a part due to roll over while rebuilt rolls at a later commit, or waits once a part's worth came", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const first = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 10 })
      yield* first.append(batch(0, 8), [])
      yield* first.commit({ done: 8 })
      yield* first.drop
      const gate = yield* Deferred.make<void>()
      const layer = replayGated(gate)
      const second = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 10 }).pipe(Effect.provide(layer))
      const partRows = Effect.map(second.state, (s) => [s.parts.map((p) => p.rows), s.open.rows])
      yield* second.append(batch(8, 5), []).pipe(Effect.provide(layer))
      yield* second.commit({ done: 13 }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(yield* partRows, [[], 13], "due, but the replay has not caught up: no roll yet")
      yield* second.append(batch(13, 7), []).pipe(Effect.provide(layer))
      const committing = yield* Effect.fork(second.commit({ done: 20 }).pipe(Effect.provide(layer)))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(committing)), "12 rows since the open: the commit waits")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(committing)
      assert.deepStrictEqual(yield* partRows, [[20], 0])
      yield* second.append(batch(20, 1), []).pipe(Effect.provide(layer))
      yield* second.finish({ done: 21 }, facts).pipe(Effect.provide(layer))
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 21))
      yield* second.drop
    }).pipe(Effect.provide(base)))

  it.scoped("a kill during the replay, after commits made meanwhile, resumes to the exact rows", () =>
    Effect.gen(function*() {
      const dir = yield* openPartOf(3000)
      const gate = yield* Deferred.make<void>()
      const layer = replayGated(gate)
      const second = yield* openScoped({ directory: dir, encoder: framed }).pipe(Effect.provide(layer))
      yield* second.append(batch(3000, 4), [refusal(1)]).pipe(Effect.provide(layer))
      yield* second.commit({ done: 3004 }).pipe(Effect.provide(layer))
      yield* second.append(batch(3004, 4), [refusal(2)]).pipe(Effect.provide(layer)) // never committed
      yield* second.drop // killed with the replay stuck
      assertPartsWhole(dir, ".framed", "killed during the replay")

      const third = yield* openScoped({ directory: dir, encoder: framed })
      assert.deepStrictEqual(third.resumed, Option.some({ done: 3004 }))
      assert.deepStrictEqual((yield* third.state).open.rows, 3004)
      yield* third.append(batch(3004, 1), [])
      yield* third.finish({ done: 3005 }, facts)
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 3005))
      assert.deepStrictEqual(readErrors(dir), [refusal(1)])
      yield* third.drop
    }).pipe(Effect.provide(base)))

  it.scoped("a kill after a rebuilt part rolled over, with rows encoded as they came, resumes to the exact rows", () =>
    Effect.gen(function*() {
      const dir = yield* openPartOf(3000)
      const second = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 3000 })
      yield* second.append(batch(3000, 2), [])
      yield* second.commit({ done: 3002 }) // due: rolls if the replay has caught up, else later
      yield* second.append(batch(3002, 2998), [])
      yield* second.commit({ done: 6000 }) // twice the limit: rolls, waiting for the replay if need be
      const state = yield* second.state
      assert.isAtLeast(state.parts.length, 1)
      assert.strictEqual(state.parts.reduce((n, p) => n + p.rows, state.open.rows), 6000)
      yield* second.append(batch(6000, 2), []) // encoded as it comes: the part is not being rebuilt
      yield* second.commit({ done: 6002 })
      yield* second.append(batch(6002, 9), []) // never committed
      yield* second.drop

      const third = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 3000 })
      assert.deepStrictEqual(third.resumed, Option.some({ done: 6002 }))
      yield* third.append(batch(6002, 1), [])
      yield* third.finish({ done: 6003 }, facts)
      assert.deepStrictEqual(readParts(dir, ".framed"), rows(0, 6003))
      yield* third.drop
    }).pipe(Effect.provide(base)))

  it.scoped("a committed row the replay cannot read fails the writer's next operation as Corrupt", () =>
    Effect.gen(function*() {
      const dir = yield* openPartOf(10)
      const journal = path.join(dir, ".part-00000.journal")
      const bytes = fs.readFileSync(journal)
      bytes.write("{\"torn", bytes.indexOf("\n") + 1) // the second line, same length
      fs.writeFileSync(journal, bytes)
      const second = yield* openScoped({ directory: dir, encoder: framed })
      const error = yield* Effect.flip(second.finish({ done: 10 }, facts))
      assert.strictEqual(error.reason, "Corrupt")
      assert.include(error.message, ".part-00000.journal")
      assert.include(error.message, "a committed row is unreadable")
      assert.isFalse(fs.existsSync(path.join(dir, Dataset.successName)))
      yield* second.drop
    }).pipe(Effect.provide(base)))

  it.scoped("dropping a writer without finish closes every file it opened", () =>
    Effect.gen(function*() {
      const openFiles = () => fs.readdirSync("/proc/self/fd").length
      const before = openFiles()
      for (const encoder of [ndjson, framed]) {
        const dir = yield* outDir
        const opened = yield* openScoped({ directory: dir, encoder, partMaxRows: 2 })
        yield* opened.append(batch(0, 3), [refusal(1)])
        yield* opened.commit({ done: 0 }) // rolls over: the next part's files are opened
        yield* opened.append(batch(3, 1), [])
        assert.isAbove(openFiles(), before)
        yield* opened.drop
        assert.strictEqual(openFiles(), before, encoder.format)
      }
    }).pipe(Effect.provide(base)))

  it.scoped("a finished export (_SUCCESS) is reported complete and left untouched", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const first = yield* openScoped({ directory: dir, encoder: ndjson })
      yield* first.append(batch(0, 3), [refusal(1)])
      const manifest = yield* first.finish({ done: 3 }, facts)
      yield* first.drop
      const snapshot = () =>
        fs.readdirSync(dir, { recursive: true }).map(String).sort().map((n) => {
          const s = fs.statSync(path.join(dir, n))
          return `${n} ${s.size} ${s.mtimeMs}`
        })
      const before = snapshot()
      const again = yield* openScoped({ directory: dir, encoder: ndjson })
      assert.deepStrictEqual(again.finished, Option.some(manifest))
      assert.deepStrictEqual(again.resumed, Option.some({ done: 3 }))
      assert.deepStrictEqual((yield* again.state).parts.map((p) => p.rows), [3])
      const refused = yield* Effect.flip(again.append(batch(3, 1), []))
      assert.strictEqual(refused.reason, "Finished")
      assert.include((yield* Effect.flip(again.commit({ done: 4 }))).message, "holds a finished export")
      assert.include((yield* Effect.flip(again.finish({ done: 4 }, facts))).message, "holds a finished export")
      yield* again.drop
      assert.deepStrictEqual(snapshot(), before)
      // Asked for in another format, the finished export is refused, not reported complete.
      const other = yield* Effect.flip(open({ directory: dir, encoder: framed }))
      assert.strictEqual(other.reason, "Mismatch")
      assert.deepStrictEqual(snapshot(), before)
    }).pipe(Effect.provide(base)))

  it.scoped("refuses a directory without a checkpoint holding anything but an export's leftovers, writing nothing", () =>
    Effect.gen(function*() {
      const strangers: ReadonlyArray<Record<string, string | null>> = [
        { "data.ndjson": "{\"a\":1}\n" }, // a stranger's file: `DIR/*.ndjson` would read it
        { "part-00000.ndjson": "{}\n" }, // another export's, without its checkpoint
        { "manifest.json": "{}" },
        { "_SUCCESS": "" }, // Spark's
        { ".bashrc": "", ".part-00000.journal": "" }, // hidden, but not this project's: someone's home
        { "notes": null }, // an empty directory
        { "_errors": "" }, // `_errors` as a file
        { "_errors": null, "_errors/other.csv": "x" }
      ]
      for (const files of strangers) {
        const dir = yield* tempDir
        for (const [name, content] of Object.entries(files)) {
          if (content === null) fs.mkdirSync(path.join(dir, name))
          else fs.writeFileSync(path.join(dir, name), content)
        }
        const before = fs.readdirSync(dir, { recursive: true }).map(String).sort()
        const error = yield* Effect.flip(open({ directory: dir, encoder: framed }))
        const context = Object.keys(files).join(", ")
        assert.strictEqual(error.reason, "NotEmpty", context)
        assert.include(error.message, dir, context)
        assert.include(error.message, Object.keys(files).find((n) => !n.startsWith(".part-"))!.split("/")[0]!, context)
        assert.include(error.message, "choose an empty directory", context)
        assert.deepStrictEqual(fs.readdirSync(dir, { recursive: true }).map(String).sort(), before, "nothing written")
      }
      // A few of the entries are named, and how many more there are.
      const crowded = yield* tempDir
      for (const n of ["a.csv", "b.csv", "c.csv", "d.csv", "e.csv"]) fs.writeFileSync(path.join(crowded, n), "")
      fs.writeFileSync(path.join(crowded, ".part-00000.journal"), "")
      const error = yield* Effect.flip(open({ directory: crowded, encoder: framed }))
      assert.strictEqual(error.detail, "a.csv, b.csv, c.csv and 2 more")
      assert.strictEqual(
        error.message,
        `${crowded} is not empty and holds no export to resume (found a.csv, b.csv, c.csv and 2 more). Nothing was `
          + "written to it: choose an empty directory or a new one."
      )
    }).pipe(Effect.provide(base)))

  it.scoped("takes a missing or empty directory, or one holding only what a run leaves before its first checkpoint", () =>
    Effect.gen(function*() {
      const missing = path.join(yield* tempDir, "a", "b")
      const fresh = yield* openScoped({ directory: missing, encoder: framed })
      assert.isTrue(Option.isNone(fresh.resumed))
      yield* fresh.drop
      const empty = yield* tempDir
      const again = yield* openScoped({ directory: empty, encoder: framed })
      assert.isTrue(Option.isNone(again.resumed))
      yield* again.drop

      for (const encoder of [ndjson, framed]) {
        // A run stopped before its first checkpoint: rows and a refusal appended, never committed; an id source's
        // journal beside them; a checkpoint torn while it was written.
        const dir = yield* outDir
        const crashed = yield* openScoped({ directory: dir, encoder })
        yield* crashed.append(batch(0, 3), [refusal(1)])
        yield* crashed.drop
        fs.writeFileSync(path.join(dir, Dataset.idJournalName), "{\"ids\":[\"1\"],\"next\":null}\n")
        fs.writeFileSync(path.join(dir, ".checkpoint.json.tmp"), "{\"version\":1,\"dat")
        assert.deepStrictEqual(readersSee(dir), ["_errors"])
        assert.isAbove(fs.statSync(path.join(dir, Dataset.errorsName)).size, 0)

        const resumed = yield* openScoped({ directory: dir, encoder })
        assert.isTrue(Option.isNone(resumed.resumed), `${encoder.format}: nothing was committed`)
        const working = [`.part-00000${encoder.extension}.tmp`].concat(encoder === framed ? [".part-00000.journal"] : [])
        assert.deepStrictEqual(
          fs.readdirSync(dir).filter((n) => n.startsWith(".")).sort(),
          [Dataset.idJournalName, ...working].sort(),
          "the stale working files are gone, the source's journal is the source's"
        )
        assert.strictEqual(fs.readFileSync(path.join(dir, Dataset.errorsName), "utf8"), "")
        yield* resumed.append(batch(10, 2), [])
        yield* resumed.finish({ done: 1 }, facts)
        assert.deepStrictEqual(readParts(dir, encoder.extension), rows(10, 2))
        assert.deepStrictEqual(readErrors(dir), [])
        yield* resumed.drop
      }
    }).pipe(Effect.provide(base)))

  it.scoped("resumes a directory with a checkpoint whatever else the run left beside it", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const first = yield* openScoped({ directory: dir, encoder: framed })
      yield* first.append(batch(0, 2), [])
      yield* first.commit({ done: 2 })
      yield* first.drop
      fs.writeFileSync(path.join(dir, Dataset.idJournalName), "")
      const second = yield* openScoped({ directory: dir, encoder: framed })
      assert.deepStrictEqual(second.resumed, Option.some({ done: 2 }))
      yield* second.finish({ done: 2 }, facts)
      yield* second.drop
      const third = yield* openScoped({ directory: dir, encoder: framed })
      assert.isTrue(Option.isSome(third.finished))
      yield* third.drop
    }).pipe(Effect.provide(base)))

  it.scoped("readManifest reads a first-version manifest as the current one, and refuses a directory without one", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = yield* Effect.flip(Dataset.readManifest(dir))
      assert.strictEqual(missing.reason, "NotFinished")
      assert.include(missing.message, "not a finished export")
      const common = {
        tool: { name: "assoc-etl", version: "0.1.0" },
        format: "ndjson",
        schema: AssociationRow.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
        parts: [{ name: "part-00000.ndjson", rows: 1, bytes: 200 }],
        totals: { rows: 1, bytes: 200, parts: 1 },
        errors: { file: "_errors/errors.ndjson", rows: 0 },
        startedAt,
        finishedAt: startedAt
      }
      const input = { kind: "file", path: "/data/ids.txt", digest: "ab".repeat(32) }
      fs.writeFileSync(
        path.join(dir, Dataset.manifestName),
        JSON.stringify({ version: 1, ...common, export: { from: "contacts", to: "companies", input } })
      )
      assert.deepStrictEqual(yield* Dataset.readManifest(dir), {
        version: 2,
        ...common,
        export: {
          from: "contacts",
          to: "companies",
          source: {
            kind: "file",
            key: input.digest,
            description: "file",
            details: { path: input.path, digest: input.digest }
          }
        }
      })
      fs.writeFileSync(path.join(dir, Dataset.manifestName), JSON.stringify({ version: 3, ...common }))
      assert.strictEqual((yield* Effect.flip(Dataset.readManifest(dir))).reason, "Corrupt")
    }).pipe(Effect.provide(base)))

  it.scoped("an unreadable checkpoint is a clear error, not a fresh start", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, ".checkpoint.json"), "{not json")
      const error = yield* Effect.flip(open({ directory: dir, encoder: ndjson }))
      assert.strictEqual(error.reason, "Corrupt")
      assert.include(error.message, ".checkpoint.json")
      assert.include(error.message, "checkpoint cannot be read")
      assert.isTrue(Option.isNone(yield* Effect.option(Dataset.readCheckpoint(dir))))
    }).pipe(Effect.provide(base)))

  it.scoped("readCheckpoint returns the committed state and the payload as encoded, or none", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      assert.isTrue(Option.isNone(yield* Dataset.readCheckpoint(dir)))
      // A payload whose encoded form differs from its value: the checkpoint keeps the encoded form.
      const Cursor = Schema.Struct({ cursor: Schema.String, at: Schema.DateFromNumber })
      const at = new Date(startedAt)
      const first = yield* openWith({ directory: dir, encoder: ndjson, partMaxRows: 2 }, Cursor)
      yield* first.append(batch(0, 2), [refusal(1)])
      yield* first.commit({ cursor: "abc%3D", at })
      yield* first.append(batch(2, 1), [])
      const read = Option.getOrThrow(yield* Dataset.readCheckpoint(dir))
      assert.deepStrictEqual(read.payload, { cursor: "abc%3D", at: at.getTime() })
      assert.deepStrictEqual(read.dataset.parts.map((p) => [p.name, p.rows]), [["part-00000.ndjson", 2]])
      assert.deepStrictEqual(read.dataset.open, { index: 1, rows: 0, journalBytes: 0 }, "appends are not commits")
      assert.strictEqual(read.dataset.errors.rows, 1)
      const onDisk = fs.readFileSync(path.join(dir, Dataset.checkpointName), "utf8")
      assert.deepStrictEqual(JSON.parse(onDisk) as Dataset.CheckpointFile, read)
      yield* first.drop
    }).pipe(Effect.provide(base)))

  it.scoped("a reopen gives back the last committed payload, decoded by the schema it is opened with", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const Cursor = Schema.Struct({ cursor: Schema.String, at: Schema.DateFromNumber })
      const first = yield* openScoped({ directory: dir, encoder: ndjson })
      assert.isTrue(Option.isNone(first.resumed))
      assert.isTrue(Option.isNone(first.finished))
      yield* first.drop
      const second = yield* openWith({ directory: dir, encoder: ndjson }, Cursor)
      assert.isTrue(Option.isNone(second.resumed), "nothing was committed")
      yield* second.commit({ cursor: "x", at: new Date(startedAt) })
      yield* second.commit({ cursor: "y", at: new Date(0) })
      yield* second.drop
      const third = yield* openWith({ directory: dir, encoder: ndjson }, Cursor)
      assert.deepStrictEqual(third.resumed, Option.some({ cursor: "y", at: new Date(0) }))
      yield* third.drop

      const error = yield* Effect.flip(open({ directory: dir, encoder: ndjson }))
      assert.strictEqual(error.reason, "Corrupt", "a payload of another schema is not taken for a fresh start")
      assert.include(error.message, "the checkpoint's payload cannot be read")
    }).pipe(Effect.provide(base)))

  it.scoped("a reopen that finds committed data lost names what is missing", () =>
    Effect.gen(function*() {
      const make = (encoder: PartEncoder.PartEncoder) =>
        Effect.gen(function*() {
          const dir = yield* outDir
          const first = yield* openScoped({ directory: dir, encoder, partMaxRows: 2 })
          yield* first.append(batch(0, 2), [])
          yield* first.commit({ done: 0 })
          yield* first.append(batch(2, 1), [refusal(1)])
          yield* first.commit({ done: 0 })
          yield* first.drop
          return dir
        })
      const lostPart = yield* make(framed)
      fs.rmSync(path.join(lostPart, "part-00000.framed"))
      const e1 = yield* Effect.flip(open({ directory: lostPart, encoder: framed, partMaxRows: 2 }))
      assert.strictEqual(e1.reason, "Corrupt")
      assert.include(e1.message, "the committed part part-00000.framed (2 rows")

      const shortJournal = yield* make(framed)
      fs.truncateSync(path.join(shortJournal, ".part-00001.journal"), 10)
      const e2 = yield* Effect.flip(open({ directory: shortJournal, encoder: framed, partMaxRows: 2 }))
      assert.strictEqual(e2.reason, "Corrupt")
      assert.include(e2.message, ".part-00001.journal")
      assert.include(e2.message, "synced data was lost")

      const shortErrors = yield* make(ndjson)
      fs.truncateSync(path.join(shortErrors, Dataset.errorsName), 3)
      const e3 = yield* Effect.flip(open({ directory: shortErrors, encoder: ndjson, partMaxRows: 2 }))
      assert.strictEqual(e3.reason, "Corrupt")
      assert.include(e3.message, "errors.ndjson")

    }).pipe(Effect.provide(base)))

  it.scoped("a directory of another format is a Mismatch, left untouched", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const first = yield* openScoped({ directory: dir, encoder: ndjson, partMaxRows: 2 })
      yield* first.append(batch(0, 3), [refusal(1)])
      yield* first.commit({ done: 3 })
      yield* first.drop
      const files = () =>
        fs.readdirSync(dir, { recursive: true }).map(String).sort().map((n) =>
          `${n} ${fs.statSync(path.join(dir, n)).size}`
        )
      const before = files()
      const error = yield* Effect.flip(open({ directory: dir, encoder: framed }))
      assert.strictEqual(error.reason, "Mismatch")
      assert.include(error.message, "it holds .ndjson parts, this run asks for .framed")
      assert.include(error.message, "Its files were left as they are")
      assert.deepStrictEqual(files(), before)
      const again = yield* openScoped({ directory: dir, encoder: ndjson, partMaxRows: 2 })
      assert.deepStrictEqual(again.resumed, Option.some({ done: 3 }))
      yield* again.drop
    }).pipe(Effect.provide(base)))
})

describe("Dataset: files of the export's own before _SUCCESS", () => {
  const labels: PartEncoder.Table = {
    columns: [
      { name: "category", type: "string", nullable: false },
      { name: "type_id", type: "int32", nullable: false },
      { name: "label", type: "string", nullable: true }
    ],
    rows: [["HUBSPOT_DEFINED", 1, null], ["USER_DEFINED", 7, "Former employee, \"ex\""]]
  }

  it.scoped("beforeSuccess runs after the manifest and before _SUCCESS; a failure leaves it unsealed, a rerun seals", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const seen: Array<ReadonlyArray<string>> = []
      let fail = true
      const beforeSuccess = (directory: string, manifest: { readonly totals: { readonly rows: number } }) =>
        Effect.gen(function*() {
          seen.push(readersSee(directory))
          assert.strictEqual(manifest.totals.rows, 3)
          const file = yield* Dataset.writeTable(directory, "labels", labels, ndjson)
          assert.strictEqual(file, "_labels/labels.ndjson")
          if (fail) return yield* Effect.fail("the labels could not be read" as const)
        })
      const first = yield* Dataset.sink({ directory: dir, encoder: ndjson, beforeSuccess }).open(Done)
      yield* first.append(batch(0, 3), [])
      const failed = yield* Effect.flip(first.finish({ done: 3 }, facts))
      assert.strictEqual(failed, "the labels could not be read")
      assert.deepStrictEqual(seen, [["_errors", "manifest.json", "part-00000.ndjson"]], "the manifest is there, no _SUCCESS")
      assert.isFalse(fs.existsSync(path.join(dir, "_SUCCESS")))

      fail = false
      const again = yield* Effect.scoped(Effect.gen(function*() {
        const opened = yield* Dataset.sink({ directory: dir, encoder: ndjson, beforeSuccess }).open(Done)
        assert.deepStrictEqual(opened.resumed, Option.some({ done: 3 }))
        return yield* opened.finish({ done: 3 }, facts)
      }))
      assert.strictEqual(again.totals.rows, 3)
      assert.strictEqual(seen.length, 2, "the rerun ran it again")
      assert.deepStrictEqual(readersSee(dir), ["_SUCCESS", "_errors", "_labels", "manifest.json", "part-00000.ndjson"])
      assert.deepStrictEqual(
        fs.readFileSync(path.join(dir, "_labels/labels.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l)),
        [
          { category: "HUBSPOT_DEFINED", type_id: 1, label: null },
          { category: "USER_DEFINED", type_id: 7, label: "Former employee, \"ex\"" }
        ]
      )
      assert.deepStrictEqual(fs.readdirSync(path.join(dir, "_labels")), ["labels.ndjson"], "no temp file left")
    }).pipe(Effect.provide(base)))

  it.scoped("an encoder that cannot encode tables has them written as NDJSON", () =>
    Effect.gen(function*() {
      const dir = yield* outDir
      const file = yield* Dataset.writeTable(dir, "labels", labels, framed)
      assert.strictEqual(file, "_labels/labels.ndjson")
      assert.strictEqual(fs.readFileSync(path.join(dir, file), "utf8").split("\n").length, 3)
    }).pipe(Effect.provide(base)))
})
