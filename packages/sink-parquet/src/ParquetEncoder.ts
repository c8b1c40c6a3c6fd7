/**
 * The Parquet part encoder. One schema for every part, from core's
 * `AssociationRow.columns`: strings as BYTE_ARRAY with the STRING/UTF8
 * annotation, `association_type_id` INT32, `association_label` OPTIONAL,
 * every other column REQUIRED. Rows are buffered column by column until a row
 * group is full; `write` returns the bytes of each finished row group and
 * `finish` the last group and the footer, so memory stays at about one row
 * group per part.
 *
 * The writer is hyparquet-writer (pure JavaScript, dictionary encoding where
 * it pays, SNAPPY by default); it stays behind this module and
 * `internal/DrainWriter.ts` so it can be swapped.
 */
import { AssociationRow } from "@assoc-etl/core"
import type { PartEncoder, RowBatch } from "@assoc-etl/core"
import { Effect } from "effect"
import type { ColumnSource, ParquetWriteOptions, SchemaElement } from "hyparquet-writer"
import { ParquetWriter } from "hyparquet-writer"
import * as zlib from "node:zlib"
import { DrainWriter } from "./internal/DrainWriter.js"

export type Codec = "SNAPPY" | "GZIP" | "UNCOMPRESSED"

export interface ParquetEncoderOptions {
  /**
   * Rows a row group. Encoding a group is one synchronous call, so this bounds
   * how long the event loop is blocked, and a larger group's arrays outlive
   * V8's young generation. Default 4,096 (why: BENCHMARKS.md, "Measurements
   * behind the code").
   */
  readonly rowGroupSize?: number
  /** The compression codec of every column. Default `"SNAPPY"`. */
  readonly codec?: Codec
}

export const format = "parquet"
export const extension = ".parquet"
export const defaultRowGroupSize = 4096

/** The Parquet schema of a table of `columns`: a root, then one leaf per column, in order. */
const schemaOf = (columns: ReadonlyArray<PartEncoder.TableColumn>): ReadonlyArray<SchemaElement> => [
  { name: "root", num_children: columns.length },
  ...columns.map((c): SchemaElement =>
    c.type === "int32"
      ? { name: c.name, type: "INT32", repetition_type: c.nullable ? "OPTIONAL" : "REQUIRED" }
      : {
        name: c.name,
        type: "BYTE_ARRAY",
        converted_type: "UTF8",
        logical_type: { type: "STRING" },
        repetition_type: c.nullable ? "OPTIONAL" : "REQUIRED"
      }
  )
]

/** The Parquet schema of a part: a root, then one leaf per column, in `AssociationRow.columns` order. */
export const schema: ReadonlyArray<SchemaElement> = schemaOf(AssociationRow.columns)

const compressors: NonNullable<ParquetWriteOptions["compressors"]> = {
  GZIP: (input) => zlib.gzipSync(input)
}

const none: ReadonlyArray<Uint8Array> = []

type Row = AssociationRow.AssociationRow
type Columns = { [K in keyof Row]: Array<Row[K]> }

const emptyColumns = (): Columns => ({
  from_object_type: [],
  from_object_id: [],
  to_object_type: [],
  to_object_id: [],
  association_category: [],
  association_type_id: [],
  association_label: []
})

const makeWriter = (rowGroupSize: number, codec: Codec): PartEncoder.PartWriter => {
  const bytes = new DrainWriter(1 << 20)
  const writer = new ParquetWriter({
    writer: bytes,
    schema: schema.slice(),
    codec,
    compressors,
    createdBy: "assoc-etl (hyparquet-writer 0.17.0)"
  })
  let cols = emptyColumns()
  let buffered = 0

  const flushGroup = () => {
    if (buffered === 0) return
    const columnData: Array<ColumnSource> = AssociationRow.columns.map((c) => ({ name: c.name, data: cols[c.name] }))
    cols = emptyColumns()
    buffered = 0
    // Synchronous: `DrainWriter.flush` returns nothing, so `write` does not go async.
    void writer.write({ columnData, rowGroupSize: Number.MAX_SAFE_INTEGER })
  }

  /** Reads the batch's columns: the from columns once a group, the type columns from its table. */
  const write = (batch: RowBatch.RowBatch): ReadonlyArray<Uint8Array> => {
    let produced = false
    const types = batch.types
    const rows = batch.rows
    for (const g of batch.groups) {
      for (let r = g.start; r < g.end; r++) {
        const t = types[rows[3 * r + 2]!]!
        cols.from_object_type.push(g.fromType)
        cols.from_object_id.push(g.fromId)
        cols.to_object_type.push(g.toType)
        cols.to_object_id.push(batch.toId(r))
        cols.association_category.push(t.category)
        cols.association_type_id.push(t.typeId)
        cols.association_label.push(t.label)
        if (++buffered === rowGroupSize) {
          flushGroup()
          produced = true
        }
      }
    }
    return produced ? bytes.take() : none
  }

  return {
    write: (rows) => Effect.sync(() => write(rows)),
    finish: Effect.sync(() => {
      flushGroup()
      void writer.finish()
      return bytes.take()
    })
  }
}

/** A small table whole, as one Parquet file of one row group. */
const encodeTable = (table: PartEncoder.Table, codec: Codec): Uint8Array => {
  const bytes = new DrainWriter(1 << 16)
  const writer = new ParquetWriter({
    writer: bytes,
    schema: schemaOf(table.columns).slice(),
    codec,
    compressors,
    createdBy: "assoc-etl (hyparquet-writer 0.17.0)"
  })
  const columnData: Array<ColumnSource> = table.columns.map((c, i) => ({
    name: c.name,
    data: table.rows.map((row) => row[i] ?? null)
  }))
  void writer.write({ columnData, rowGroupSize: Number.MAX_SAFE_INTEGER })
  void writer.finish()
  return Buffer.concat(bytes.take())
}

/** A Parquet encoder: format `"parquet"`, extension `.parquet`. */
export const make = (options?: ParquetEncoderOptions): PartEncoder.PartEncoder => {
  const rowGroupSize = options?.rowGroupSize ?? defaultRowGroupSize
  if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1) {
    throw new RangeError(`rowGroupSize must be a positive integer, got ${rowGroupSize}`)
  }
  const codec = options?.codec ?? "SNAPPY"
  return {
    format,
    extension,
    open: Effect.sync(() => makeWriter(rowGroupSize, codec)),
    encodeTable: (table) => Effect.sync(() => encodeTable(table, codec))
  }
}
