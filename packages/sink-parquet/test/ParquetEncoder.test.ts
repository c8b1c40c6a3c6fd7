import { AssociationRow, NdjsonRows, RowBatch } from "@assoc-etl/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import * as DuckDb from "../../../test/support/DuckDb.js"
import { chunksOf, edgeRows, encodePart, syntheticRows, tempDir, writePart } from "../../../test/support/Parts.js"
import { ParquetEncoder, ParquetReader } from "../src/index.js"

const columnNames = AssociationRow.columns.map((c) => c.name)
const magic = (bytes: Buffer) => [bytes.subarray(0, 4).toString("latin1"), bytes.subarray(-4).toString("latin1")]

describe("ParquetEncoder", () => {
  it("names its format and extension", () => {
    const encoder = ParquetEncoder.make()
    assert.strictEqual(encoder.format, "parquet")
    assert.strictEqual(encoder.extension, ".parquet")
    assert.throws(() => ParquetEncoder.make({ rowGroupSize: 0 }), /rowGroupSize/)
  })

  it.scopedLive("writes the DESIGN.md schema with real types that DuckDB sees", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      yield* writePart(ParquetEncoder.make(), file, [edgeRows])

      const columns = yield* DuckDb.describe(file)
      assert.deepStrictEqual(columns.map((c) => [c.name, c.type]), DuckDb.columnTypes.map(([n, t]) => [n, t]))

      const leaves = yield* DuckDb.parquetSchema(file)
      assert.deepStrictEqual(leaves.map((l) => l.name), columnNames)
      for (const leaf of leaves) {
        const column = AssociationRow.columns.find((c) => c.name === leaf.name)!
        assert.strictEqual(leaf.repetitionType, column.nullable ? "OPTIONAL" : "REQUIRED", leaf.name)
        if (column.type === "int32") {
          assert.strictEqual(leaf.type, "INT32")
        } else {
          assert.strictEqual(leaf.type, "BYTE_ARRAY")
          assert.strictEqual(leaf.convertedType, "UTF8")
        }
      }
    }))

  it.scopedLive("reads back exactly: null labels, quotes, newlines, unicode, ids past 2^53, int32 bounds", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      yield* writePart(ParquetEncoder.make(), file, chunksOf(edgeRows, 3))
      const read = yield* DuckDb.readParquet(file)
      assert.deepStrictEqual(read, edgeRows.slice())
      assert.strictEqual(read.filter((r) => r.association_label === null).length, 2, "nulls stay null, not \"\"")
      assert.strictEqual(read.filter((r) => r.association_label === "").length, 1, "empty stays empty, not null")
    }))

  it.scopedLive("streams row groups: write returns each finished group, finish the rest and the footer", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = [...edgeRows, ...syntheticRows(10_000)]
      const encoder = ParquetEncoder.make({ rowGroupSize: 2048 })
      const writer = yield* encoder.open
      const pieces: Array<Uint8Array> = []
      let groupsSeen = 0
      for (const chunk of chunksOf(rows, 1000)) {
        const out = yield* writer.write(RowBatch.fromRows(chunk))
        if (out.length > 0) groupsSeen++
        pieces.push(...out)
      }
      assert.isAtLeast(groupsSeen, 4, "bytes come out before finish, as groups fill")
      const head = Buffer.concat(pieces)
      assert.strictEqual(head.subarray(0, 4).toString("latin1"), "PAR1")
      pieces.push(...(yield* writer.finish))
      const bytes = Buffer.concat(pieces)
      assert.deepStrictEqual(magic(bytes), ["PAR1", "PAR1"])

      const file = path.join(dir, "part-00000.parquet")
      yield* writePart(ParquetEncoder.make({ rowGroupSize: 2048 }), file, chunksOf(rows, 1000))
      const layout = yield* DuckDb.parquetLayout(file)
      assert.strictEqual(layout.rows, rows.length)
      assert.strictEqual(layout.rowGroups, Math.ceil(rows.length / 2048))
      assert.deepStrictEqual(yield* DuckDb.readParquet(file), rows)
    }))

  it.scopedLive("dictionary-encodes repetitive columns and compresses with SNAPPY by default", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      const rows = syntheticRows(20_000)
      yield* writePart(ParquetEncoder.make(), file, chunksOf(rows, 1000))
      const layout = yield* DuckDb.parquetLayout(file)
      const byColumn = new Map(layout.chunks.map((c) => [c.column, c]))
      const repetitive = ["from_object_type", "to_object_type", "association_category", "association_type_id"]
      for (const column of [...repetitive, "association_label"]) {
        assert.include(byColumn.get(column)?.encodings ?? "", "RLE_DICTIONARY", column)
      }
      for (const chunk of layout.chunks) assert.strictEqual(chunk.compression, "SNAPPY", chunk.column)
      const ndjsonBytes = NdjsonRows.encodeRows(rows).length
      const parquet = yield* encodePart(ParquetEncoder.make(), [rows])
      assert.isBelow(parquet.length, ndjsonBytes / 5, "much smaller than NDJSON")
    }))

  it.scopedLive("other codecs: GZIP and UNCOMPRESSED read back the same rows", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = [...edgeRows, ...syntheticRows(3000)]
      for (const codec of ["GZIP", "UNCOMPRESSED"] as const) {
        const file = path.join(dir, `part-${codec}.parquet`)
        yield* writePart(ParquetEncoder.make({ codec, rowGroupSize: 1000 }), file, chunksOf(rows, 777))
        const layout = yield* DuckDb.parquetLayout(file)
        for (const chunk of layout.chunks) assert.strictEqual(chunk.compression, codec, chunk.column)
        assert.deepStrictEqual(yield* DuckDb.readParquet(file), rows)
      }
    }))

  it.scopedLive("an empty part (0 rows) is still a valid file with the schema", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      const bytes = yield* writePart(ParquetEncoder.make(), file, [[], []])
      assert.deepStrictEqual(magic(bytes), ["PAR1", "PAR1"])
      assert.deepStrictEqual(yield* DuckDb.readParquet(file), [])
      const columns = yield* DuckDb.describe(file)
      assert.deepStrictEqual(columns.map((c) => [c.name, c.type]), DuckDb.columnTypes.map(([n, t]) => [n, t]))
      assert.strictEqual((yield* DuckDb.parquetLayout(file)).rows, 0)
      // As the dataset writes it for an export with no rows: `finish` alone, read through the readers' glob.
      const finishOnly = yield* writePart(ParquetEncoder.make(), file, [])
      assert.deepStrictEqual(finishOnly, bytes)
      assert.deepStrictEqual(yield* DuckDb.readParquet(path.join(dir, "*.parquet")), [])
      assert.deepStrictEqual(yield* ParquetReader.readRows(file), [])
    }))

  it.scopedLive("a row count that is an exact multiple of the group size leaves no empty group", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      const rows = syntheticRows(4096, 3)
      yield* writePart(ParquetEncoder.make({ rowGroupSize: 1024 }), file, chunksOf(rows, 512))
      const layout = yield* DuckDb.parquetLayout(file)
      assert.strictEqual(layout.rowGroups, 4)
      assert.deepStrictEqual(yield* DuckDb.readParquet(file), rows)
    }))

  it.scopedLive("several parts read through one glob hold the same multiset of rows", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = syntheticRows(9000, 11)
      yield* writePart(ParquetEncoder.make(), path.join(dir, "part-00000.parquet"), chunksOf(rows.slice(0, 4000), 1000))
      yield* writePart(ParquetEncoder.make(), path.join(dir, "part-00001.parquet"), chunksOf(rows.slice(4000), 1000))
      const read = yield* DuckDb.readParquet(path.join(dir, "*.parquet"))
      assert.deepStrictEqual(DuckDb.diffRows(rows, read), { missing: [], extra: [] })
    }))
})
