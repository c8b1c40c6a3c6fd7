import { FileSystem } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { PartEncoder } from "../src/index.js"
import { AssociationRow, Dataset, ErrorRow } from "../src/index.js"

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

/** Plain NDJSON: its bytes are the journal's, so the journal is the part. */
const ndjson: PartEncoder.PartEncoder = {
  format: "ndjson",
  extension: ".ndjson",
  open: Effect.succeed({
    write: (rs) => Effect.succeed([new TextEncoder().encode(AssociationRow.encodeNdjson(rs))]),
    finish: Effect.succeed([])
  })
}

/** A format with a header and a trailer, like Parquet: the part is built beside the journal. */
const framed: PartEncoder.PartEncoder = {
  format: "framed",
  extension: ".framed",
  open: Effect.succeed({
    write: (rs) =>
      Effect.succeed(rs.length === 0 ? [] : [new TextEncoder().encode(AssociationRow.encodeNdjson(rs))]),
    finish: Effect.succeed([new TextEncoder().encode("END\n")])
  })
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "dataset-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const base = Layer.merge(NodeFileSystem.layer, NodePath.layer)

/** A file system whose writes fail with ENOSPC once `budget` bytes were written, and whose rename can fail. */
const faulty = (control: { budget: number; failRename?: (to: string) => boolean }) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (real) => {
      const noSpace = (method: string) =>
        new SystemError({
          reason: "Unknown",
          module: "FileSystem",
          method,
          description: "ENOSPC: no space left on device",
          cause: { code: "ENOSPC" }
        })
      return {
        ...real,
        rename: (from: string, to: string) =>
          control.failRename?.(to) === true ? Effect.fail(noSpace("rename")) : real.rename(from, to),
        open: (p: string, o?: FileSystem.OpenFileOptions) =>
          Effect.map(real.open(p, o), (file): FileSystem.File =>
            // The file's other members are getters on its prototype: keep them, replace writeAll.
            Object.assign(Object.create(file) as FileSystem.File, {
              writeAll: (bytes: Uint8Array) => {
                control.budget -= bytes.length
                return control.budget < 0 ? Effect.fail(noSpace("writeAll")) : file.writeAll(bytes)
              }
            }))
      } satisfies FileSystem.FileSystem
    })
  ).pipe(Layer.provide(NodeFileSystem.layer), Layer.merge(NodePath.layer))

/** Opens a dataset in a scope of its own, so a test can drop it like a killed process would. */
const openScoped = (options: Dataset.DatasetOptions) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const opened = yield* Dataset.open(options).pipe(Scope.extend(scope))
    return { ...opened, drop: Scope.close(scope, Exit.void) }
  })

const readNdjsonParts = (dir: string, ext = ".ndjson") =>
  fs.readdirSync(dir).filter((n) => n.startsWith("part-") && n.endsWith(ext)).sort().flatMap((n) =>
    AssociationRow.decodeNdjson(fs.readFileSync(path.join(dir, n), "utf8").replace(/END\n$/, ""))
  )

const readersSee = (dir: string) => fs.readdirSync(dir).filter((n) => !n.startsWith(".")).sort()

describe("Dataset", () => {
  it.scoped("writes whole parts, errors.ndjson, the manifest, then _SUCCESS", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "out")
      const { writer } = yield* Dataset.open({ directory: dir, encoder: ndjson, partMaxRows: 5 })
      const refused = ErrorRow.fromError({ fromType: "contacts" as never, toType: "companies" as never }, {
        category: "OBJECT_NOT_FOUND",
        message: "not found",
        context: { fromObjectId: ["42"] }
      })
      yield* writer.append(rows(0, 3), [])
      yield* writer.commit({ step: 1 })
      yield* writer.append(rows(3, 3), refused)
      yield* writer.commit({ step: 2 })
      yield* writer.append(rows(6, 2), [])
      const manifest = yield* writer.finish({ step: 3 }, { export: { from: "contacts" } })
      assert.deepStrictEqual(readersSee(dir), ["_SUCCESS", "_errors", "manifest.json", "part-00000.ndjson", "part-00001.ndjson"])
      assert.deepStrictEqual(readNdjsonParts(dir), rows(0, 8))
      assert.deepStrictEqual(manifest.parts.map((p) => p.rows), [6, 2], "a unit is never split across parts")
      assert.strictEqual(manifest.totals.rows, 8)
      assert.strictEqual(manifest.errors.rows, 1)
      assert.deepStrictEqual(manifest.schema.map((c) => c.name), AssociationRow.columns.map((c) => c.name))
      const onDisk = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
      assert.deepStrictEqual(onDisk.export, { from: "contacts" })
      for (const p of manifest.parts) assert.strictEqual(fs.statSync(path.join(dir, p.name)).size, p.bytes)
      const errors = fs.readFileSync(path.join(dir, "_errors", "errors.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      assert.deepStrictEqual(errors.map((e) => e.object_id), ["42"])
      const again = yield* Dataset.open({ directory: dir, encoder: ndjson })
      assert.isTrue(again.complete)
    }).pipe(Effect.provide(base)))

  for (const encoder of [ndjson, framed]) {
    it.scoped(`${encoder.format}: a crash loses only what was not committed, and the resumed export holds each row once`, () =>
      Effect.gen(function*() {
        const dir = path.join(yield* tempDir, "out")
        const first = yield* openScoped({ directory: dir, encoder, partMaxRows: 4 })
        yield* first.writer.append(rows(0, 3), [])
        yield* first.writer.commit({ done: 3 })
        yield* first.writer.append(rows(3, 3), []) // rolls over at the next commit
        yield* first.writer.commit({ done: 6 })
        yield* first.writer.append(rows(6, 2), [])
        yield* first.writer.commit({ done: 8 })
        yield* first.writer.append(rows(100, 5), []) // never committed
        yield* first.drop
        // A torn checkpoint temp and stray bytes after the committed journal, as a kill can leave.
        fs.writeFileSync(path.join(dir, ".checkpoint.json.tmp"), "{\"version\":1,\"dat")
        const journal = fs.readdirSync(dir).find((n) => n.startsWith(".part-00001"))!
        fs.appendFileSync(path.join(dir, journal), "{\"torn\":")
        assert.isFalse(readersSee(dir).some((n) => n.endsWith(".tmp") || n.endsWith(".journal")))

        const second = yield* openScoped({ directory: dir, encoder, partMaxRows: 4 })
        assert.deepStrictEqual(second.resumed, Option.some({ done: 8 }))
        yield* second.writer.append(rows(8, 3), [])
        yield* second.writer.finish({ done: 11 }, {})
        assert.deepStrictEqual(readNdjsonParts(dir, encoder.extension), rows(0, 11))
        assert.isFalse(fs.existsSync(path.join(dir, ".checkpoint.json.tmp")))
        assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith(".part-")), [])
      }).pipe(Effect.provide(base)))
  }

  it.scoped("a part committed but not yet renamed is renamed on reopen; an uncommitted part is removed", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "out")
      const control = { budget: Infinity, failRename: (to: string) => path.basename(to).startsWith("part-") }
      const first = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 2 }).pipe(
        Effect.provide(faulty(control))
      )
      yield* first.writer.append(rows(0, 3), [])
      const failed = yield* Effect.flip(first.writer.commit({ done: 3 }).pipe(Effect.provide(faulty(control))))
      assert.strictEqual(failed.reason, "NoSpace")
      yield* first.drop
      assert.isFalse(fs.existsSync(path.join(dir, "part-00000.framed")))
      fs.writeFileSync(path.join(dir, "part-00007.framed"), "left by a run that never committed it")

      const second = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 2 })
      assert.deepStrictEqual(second.resumed, Option.some({ done: 3 }))
      assert.isTrue(fs.existsSync(path.join(dir, "part-00000.framed")))
      assert.isFalse(fs.existsSync(path.join(dir, "part-00007.framed")))
      yield* second.writer.finish({ done: 3 }, {})
      assert.deepStrictEqual(readNdjsonParts(dir, ".framed"), rows(0, 3))
    }).pipe(Effect.provide(base)))

  it.scoped("a full disk fails with a clear message and the directory resumes to the exact rows", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "out")
      const control = { budget: 3000 }
      const layer = faulty(control)
      const first = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 10 }).pipe(Effect.provide(layer))
      let committed = 0
      const error = yield* Effect.flip(Effect.gen(function*() {
        for (let i = 0; i < 100; i++) {
          yield* first.writer.append(rows(i * 2, 2), [])
          yield* first.writer.commit({ done: (i + 1) * 2 })
          committed = (i + 1) * 2
        }
      }).pipe(Effect.provide(layer)))
      yield* first.drop
      assert.strictEqual(error.reason, "NoSpace")
      assert.include(error.message, "no space left on the device")
      assert.include(error.message, "run the same command again to resume")
      assert.isAbove(committed, 0)

      const second = yield* openScoped({ directory: dir, encoder: framed, partMaxRows: 10 })
      const resumedAt = (Option.getOrThrow(second.resumed) as { done: number }).done
      assert.strictEqual(resumedAt, committed)
      yield* second.writer.append(rows(resumedAt, 200 - resumedAt), [])
      yield* second.writer.finish({ done: 200 }, {})
      assert.deepStrictEqual(readNdjsonParts(dir, ".framed"), rows(0, 200))
    }).pipe(Effect.provide(base)))

  it.scoped("refuses a directory that holds another export's files without a checkpoint", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "part-00000.ndjson"), "{}\n")
      const error = yield* Effect.flip(Dataset.open({ directory: dir, encoder: ndjson }))
      assert.strictEqual(error.reason, "NotEmpty")
      assert.include(error.message, "choose an empty --out")
    }).pipe(Effect.provide(base)))

  it.scoped("an unreadable checkpoint is a clear error, not a fresh start", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, ".checkpoint.json"), "{not json")
      const error = yield* Effect.flip(Dataset.open({ directory: dir, encoder: ndjson }))
      assert.strictEqual(error.reason, "Corrupt")
      assert.include(error.message, "checkpoint cannot be read")
    }).pipe(Effect.provide(base)))
})

