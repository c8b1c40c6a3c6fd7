import { AssociationRow, NdjsonRows, RowBatch } from "@assoc-etl/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
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
    assert.throws(() => ParquetEncoder.make({ rowGroupRows: 0 }), /rowGroupRows/)
    assert.throws(() => ParquetEncoder.make({ compression: "lz4" as ParquetEncoder.Compression }), /compression/)
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

  it.scopedLive("streams row groups: bytes of finished groups come out before finish, the footer at finish", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = [...edgeRows, ...syntheticRows(10_000)]
      const encoder = ParquetEncoder.make({ rowGroupRows: 2048 })
      const writer = yield* encoder.open
      const pieces: Array<Uint8Array> = []
      for (const chunk of chunksOf(rows, 1000)) pieces.push(...(yield* writer.write(RowBatch.fromRows(chunk))))
      // The groups are encoded in the worker meanwhile: their bytes come with a later call, before any finish.
      for (let i = 0; i < 500 && pieces.length === 0; i++) {
        yield* Effect.sleep("10 millis")
        pieces.push(...(yield* writer.write(RowBatch.empty)))
      }
      assert.isAbove(pieces.length, 0, "bytes come out before finish, as groups fill")
      assert.strictEqual(Buffer.concat(pieces).subarray(0, 4).toString("latin1"), "PAR1")
      pieces.push(...(yield* writer.finish))
      const bytes = Buffer.concat(pieces)
      assert.deepStrictEqual(magic(bytes), ["PAR1", "PAR1"])

      const file = path.join(dir, "part-00000.parquet")
      fs.writeFileSync(file, bytes)
      const layout = yield* DuckDb.parquetLayout(file)
      assert.strictEqual(layout.rows, rows.length)
      assert.strictEqual(layout.rowGroups, Math.ceil(rows.length / 2048))
      assert.deepStrictEqual(yield* DuckDb.readParquet(file), rows)
    }))

  it.scopedLive("row groups of 122,880 rows by default, with min/max statistics on every column chunk", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      const rows = syntheticRows(300_000, 5)
      yield* writePart(ParquetEncoder.make(), file, chunksOf(rows, 25_000))
      const chunks = yield* DuckDb.query(
        `SELECT row_group_id, row_group_num_rows::INTEGER AS n, path_in_schema AS col, stats_min_value AS lo,
           stats_max_value AS hi
         FROM parquet_metadata(${DuckDb.literal(file)}) ORDER BY row_group_id, column_id`
      )
      const groups = new Map(chunks.map((c) => [Number(c["row_group_id"]), Number(c["n"])]))
      assert.deepStrictEqual([...groups.values()], [122_880, 122_880, 300_000 - 2 * 122_880])
      assert.strictEqual(chunks.length, 3 * columnNames.length)
      for (const c of chunks) {
        assert.isNotNull(c["lo"], `min of ${c["col"]} in group ${c["row_group_id"]}`)
        assert.isNotNull(c["hi"], `max of ${c["col"]} in group ${c["row_group_id"]}`)
      }
      // The statistics are right: each group's from ids lie within its min and max.
      const ranges = yield* DuckDb.query(
        `SELECT min(from_object_id) AS lo, max(from_object_id) AS hi, count(*)::INTEGER AS n
         FROM ${DuckDb.parquetSource(file)}`
      )
      const fromIds = chunks.filter((c) => c["col"] === "from_object_id")
      assert.strictEqual(fromIds.map((c) => String(c["lo"])).sort()[0], ranges[0]!["lo"])
      assert.strictEqual(fromIds.map((c) => String(c["hi"])).sort().at(-1), ranges[0]!["hi"])
      assert.deepStrictEqual(DuckDb.diffRows(rows, yield* DuckDb.readParquet(file)), { missing: [], extra: [] })
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

  it.scopedLive("other compressions: zstd and none read back the same rows", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const rows = [...edgeRows, ...syntheticRows(3000)]
      for (const [compression, codec] of [["zstd", "ZSTD"], ["none", "UNCOMPRESSED"]] as const) {
        const file = path.join(dir, `part-${compression}.parquet`)
        yield* writePart(ParquetEncoder.make({ compression, rowGroupRows: 1000 }), file, chunksOf(rows, 777))
        const layout = yield* DuckDb.parquetLayout(file)
        for (const chunk of layout.chunks) assert.strictEqual(chunk.compression, codec, chunk.column)
        assert.deepStrictEqual(yield* DuckDb.readParquet(file), rows)
        assert.deepStrictEqual(yield* ParquetReader.readRows(file), rows, "our own reader reads it too")
      }
    }))

  it.scopedLive("a small table whole: the labels catalogue's columns, one row group, read back by DuckDB", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "labels.parquet")
      const columns = [
        { name: "category", type: "string", nullable: false },
        { name: "type_id", type: "int32", nullable: false },
        { name: "label", type: "string", nullable: true }
      ] as const
      const rows = [
        ["HUBSPOT_DEFINED", 1, "Primary"],
        ["USER_DEFINED", 12, null],
        ["WORK", 2147483647, "ünïcødé \"q\""]
      ]
      const bytes = yield* ParquetEncoder.make({ compression: "zstd" }).encodeTable!({ columns, rows })
      fs.writeFileSync(file, bytes)
      const read = yield* DuckDb.query(`SELECT * FROM ${DuckDb.parquetSource(file)}`)
      assert.deepStrictEqual(read.map((r) => [r["category"], r["type_id"], r["label"] ?? null]), rows)
      const leaves = yield* DuckDb.parquetSchema(file)
      assert.deepStrictEqual(leaves.map((l) => [l.name, l.type, l.repetitionType]), [
        ["category", "BYTE_ARRAY", "REQUIRED"],
        ["type_id", "INT32", "REQUIRED"],
        ["label", "BYTE_ARRAY", "OPTIONAL"]
      ])
    }))

  it.scopedLive("a part closed unfinished ends its worker: the process is not held, and a new part is whole", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const encoder = ParquetEncoder.make({ rowGroupRows: 1000 })
      const abandoned = yield* encoder.open
      yield* abandoned.write(RowBatch.fromRows(syntheticRows(5000)))
      yield* abandoned.close!
      const file = path.join(dir, "part-00000.parquet")
      const rows = syntheticRows(2500, 9)
      yield* writePart(encoder, file, chunksOf(rows, 1000))
      assert.deepStrictEqual(yield* DuckDb.readParquet(file), rows)
    }))

  it.scopedLive("one encoder's parts one after another (its worker kept for the next) are each whole", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const encoder = ParquetEncoder.make({ rowGroupRows: 1500, compression: "zstd" })
      const parts = [syntheticRows(4000, 21), [...edgeRows], syntheticRows(1500, 22), []]
      for (const [i, rows] of parts.entries()) {
        const file = path.join(dir, `part-${i}.parquet`)
        yield* writePart(encoder, file, chunksOf(rows, 700))
        assert.deepStrictEqual(yield* DuckDb.readParquet(file), rows, `part ${i}`)
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
      yield* writePart(ParquetEncoder.make({ rowGroupRows: 1024 }), file, chunksOf(rows, 512))
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
