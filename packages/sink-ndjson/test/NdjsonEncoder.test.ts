import { AssociationRow, NdjsonRows, RowBatch } from "@assoc-etl/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import * as zlib from "node:zlib"
import * as DuckDb from "../../../test/support/DuckDb.js"
import { chunksOf, edgeRows, encodePart, syntheticRows, tempDir, writePart } from "../../../test/support/Parts.js"
import { NdjsonEncoder } from "../src/index.js"

const columnNames = AssociationRow.columns.map((c) => c.name)

const parseLines = (text: string): Array<Record<string, unknown>> => {
  assert.isTrue(text.length === 0 || text.endsWith("\n"), "every line ends in a newline")
  return text.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe("NdjsonEncoder", () => {
  it("names its format and extension", () => {
    assert.strictEqual(NdjsonEncoder.make().format, "ndjson")
    assert.strictEqual(NdjsonEncoder.make().extension, ".ndjson")
    assert.strictEqual(NdjsonEncoder.make({ gzip: true }).extension, ".ndjson.gz")
    assert.strictEqual(NdjsonEncoder.make({ gzip: false }).extension, ".ndjson")
  })

  it.scopedLive("writes one JSON object a line, columns in order, that DuckDB reads back exactly", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.ndjson")
      const bytes = yield* writePart(NdjsonEncoder.make(), file, chunksOf(edgeRows, 4))

      const objects = parseLines(bytes.toString("utf8"))
      assert.strictEqual(objects.length, edgeRows.length)
      for (const [i, o] of objects.entries()) {
        assert.deepStrictEqual(Object.keys(o), columnNames)
        assert.deepStrictEqual(o, { ...edgeRows[i] })
      }
      assert.deepStrictEqual(NdjsonRows.decode(bytes.toString("utf8")), edgeRows.slice())

      const read = yield* DuckDb.readNdjson(file)
      assert.deepStrictEqual(read, edgeRows.slice(), "DuckDB reads the rows back in order, exactly")
      const labels = read.map((r) => r.association_label)
      assert.include(labels, null)
      assert.include(labels, "line one\nline two\r\nline three")
      assert.include(labels, "emoji 🚀👩‍💻🇫🇷")
      assert.include(read.map((r) => r.from_object_id), "9007199254740993")
      assert.include(read.map((r) => r.to_object_id), "18446744073709551615")
    }))

  it.scopedLive("is read with string ids and an integer type id by DuckDB's own detection", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.ndjson")
      yield* writePart(NdjsonEncoder.make(), file, [edgeRows])
      const columns = yield* DuckDb.describe(file)
      assert.deepStrictEqual(columns.map((c) => c.name), columnNames)
      const types = Object.fromEntries(columns.map((c) => [c.name, c.type]))
      assert.strictEqual(types["from_object_id"], "VARCHAR")
      assert.strictEqual(types["to_object_id"], "VARCHAR")
      assert.strictEqual(types["association_label"], "VARCHAR")
      assert.match(types["association_type_id"] ?? "", /INT/, "an integer type")
    }))

  it.scopedLive("gzips a part into one member that zlib and DuckDB both read", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = [...edgeRows, ...syntheticRows(25_000)]
      const file = path.join(dir, "part-00000.ndjson.gz")
      const bytes = yield* writePart(NdjsonEncoder.make({ gzip: true }), file, [[], ...chunksOf(rows, 1000), []])

      assert.deepStrictEqual([...bytes.subarray(0, 3)], [0x1f, 0x8b, 0x08], "a gzip header")
      const plain = yield* encodePart(NdjsonEncoder.make(), chunksOf(rows, 1000))
      const text = zlib.gunzipSync(bytes)
      assert.isTrue(text.equals(plain), "gunzip gives exactly the plain encoding")
      assert.isBelow(bytes.length, plain.length / 4, "it compresses")

      const read = yield* DuckDb.readNdjson(file)
      assert.deepStrictEqual(read, rows)
    }))

  it.scopedLive("honours the gzip level and stays valid at level 0 and 9", () =>
    Effect.gen(function*() {
      const rows = syntheticRows(5000)
      const plain = yield* encodePart(NdjsonEncoder.make(), [rows])
      const sizes: Array<number> = []
      for (const level of [0, 1, 9]) {
        const bytes = yield* encodePart(NdjsonEncoder.make({ gzip: true, level }), chunksOf(rows, 700))
        assert.isTrue(zlib.gunzipSync(bytes).equals(plain), `level ${level} round-trips`)
        sizes.push(bytes.length)
      }
      assert.isAbove(sizes[0]!, plain.length, "level 0 stores")
      assert.isBelow(sizes[2]!, sizes[1]!, "level 9 is smaller than level 1")
      assert.throws(() => NdjsonEncoder.make({ gzip: true, level: 10 }), /level/)
    }))

  it.scopedLive("an empty part is an empty file (plain) or a valid empty gzip member", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const plainFile = path.join(dir, "part-00000.ndjson")
      const plain = yield* writePart(NdjsonEncoder.make(), plainFile, [[]])
      assert.strictEqual(plain.length, 0)
      assert.deepStrictEqual(yield* DuckDb.readNdjson(plainFile), [])

      const gzFile = path.join(dir, "part-00001.ndjson.gz")
      const gz = yield* writePart(NdjsonEncoder.make({ gzip: true }), gzFile, [])
      assert.strictEqual(zlib.gunzipSync(gz).length, 0)
      assert.deepStrictEqual(yield* DuckDb.readNdjson(gzFile), [])
      // The readers' globs, as over a dataset with no rows.
      assert.deepStrictEqual(yield* DuckDb.readNdjson(path.join(dir, "*.ndjson")), [])
      assert.deepStrictEqual(yield* DuckDb.readNdjson(path.join(dir, "*.ndjson.gz")), [])
    }))

  it.effect("returns one buffer a chunk, never one a row", () =>
    Effect.gen(function*() {
      const writer = yield* NdjsonEncoder.make().open
      const out = yield* writer.write(RowBatch.fromRows(syntheticRows(1000)))
      assert.strictEqual(out.length, 1)
      assert.deepStrictEqual(yield* writer.write(RowBatch.empty), [])
      assert.deepStrictEqual(yield* writer.finish, [])
    }))

  it.scopedLive("parts of many chunks read back as one multiset through a glob", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = syntheticRows(12_000, 7)
      const halves = [rows.slice(0, 5000), rows.slice(5000)]
      yield* writePart(NdjsonEncoder.make(), path.join(dir, "part-00000.ndjson"), chunksOf(halves[0]!, 999))
      yield* writePart(NdjsonEncoder.make({ gzip: true }), path.join(dir, "part-00001.ndjson.gz"), chunksOf(halves[1]!, 999))
      const read = yield* DuckDb.readNdjson(path.join(dir, "part-*"))
      assert.deepStrictEqual(DuckDb.diffRows(rows, read), { missing: [], extra: [] })
    }))
})
