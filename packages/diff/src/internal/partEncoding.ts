/**
 * Change rows as the bytes of a part, in NEW's format: the parts of an export plus the `op` column last.
 *
 * - NDJSON: the export's lines (the columns in order, a null label as `null`) with `"op"` before the closing
 *   brace; `.ndjson.gz` as one gzip member built chunk by chunk (sink-ndjson's `GzipMember`).
 * - Parquet: an export's schema (sink-parquet's `hyparquetSchema`: strings as BYTE_ARRAY/UTF8,
 *   `association_type_id` INT32, only the label OPTIONAL) with `op` a REQUIRED string leaf, through hyparquet-writer,
 *   a row group at a time, on the event loop (the export's worker-thread encoder takes its seven columns only). DuckDB's own
 *   `COPY ... (FORMAT parquet)` was not used for the output: it writes every column OPTIONAL and without the
 *   STRING logical type, so the changes would not have the export's schema.
 */
import type { ColumnSource, SchemaElement } from "hyparquet-writer"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import { GzipMember } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import * as zlib from "node:zlib"
import * as ChangeRow from "../ChangeRow.js"
import type { Format } from "./inputs.js"

/** A chunk of change rows, column by column in `ChangeRow.columns` order (strings, the type id a number). */
export type Columns = ReadonlyArray<ReadonlyArray<string | number | null>>

export interface PartBytes {
  /** Encodes rows `[start, end)` of `columns`; returns the bytes to append to the part now (maybe none). */
  readonly write: (columns: Columns, start: number, end: number) => ReadonlyArray<Uint8Array>
  /** What is buffered and the trailer: the part is whole after these bytes. */
  readonly finish: () => ReadonlyArray<Uint8Array>
}

export interface PartEncoding {
  readonly format: Format
  readonly extension: string
  readonly open: () => PartBytes
}

const utf8 = new TextEncoder()
const none: ReadonlyArray<Uint8Array> = []

/** The JSON keys, each with what comes before it: `{"from_object_type":`, `,"from_object_id":`, ... */
const keys = ChangeRow.columns.map((c, i) => `${i === 0 ? "{" : ","}${JSON.stringify(c.name)}:`)

const ndjsonLines = (columns: Columns, start: number, end: number): Uint8Array => {
  let text = ""
  for (let r = start; r < end; r++) {
    for (let c = 0; c < keys.length; c++) text += keys[c] + JSON.stringify(columns[c]![r])
    text += "}\n"
  }
  return utf8.encode(text)
}

const plain: PartBytes = {
  write: (columns, start, end) => (end > start ? [ndjsonLines(columns, start, end)] : none),
  finish: () => none
}

/** One gzip member (sink-ndjson's), a chunk of lines at a time. */
const gzipped = (): PartBytes => {
  const member = GzipMember.make(zlib.constants.Z_DEFAULT_COMPRESSION)
  return {
    write: (columns, start, end) => (end > start ? member.push(ndjsonLines(columns, start, end)) : none),
    finish: () => member.end()
  }
}

/**
 * The Parquet schema of the changes: a root, then a leaf a column of `ChangeRow.columns`, made as sink-parquet makes
 * an export's (strings as BYTE_ARRAY with the UTF8/STRING annotation, int32 as INT32, OPTIONAL only where the column
 * is nullable), so the seven columns are the export's and `op` a REQUIRED string.
 */
export const parquetSchema: ReadonlyArray<SchemaElement> = ParquetEncoder.hyparquetSchema(ChangeRow.columns)

/** Rows a row group: encoded here on the event loop, a group of 4,096 blocks it about 20 ms. */
const rowGroupSize = ParquetEncoder.defaultRowGroupSize

/** hyparquet-writer's byte writer, drained after each row group so that one buffer of about a group lives. */
class DrainWriter extends ByteWriter {
  private drained: Array<Uint8Array> = []

  /** Called by `ParquetWriter` after each row group. */
  flush(): void {
    if (this.index > 0) {
      this.drained.push(new Uint8Array(this.buffer.slice(0, this.index)))
      this.index = 0
    }
  }

  override finish(): void {
    this.flush()
  }

  take(): ReadonlyArray<Uint8Array> {
    this.flush()
    const out = this.drained
    this.drained = []
    return out
  }
}

const parquet = (): PartBytes => {
  const bytes = new DrainWriter(1 << 20)
  const writer = new ParquetWriter({ writer: bytes, schema: parquetSchema.slice(), createdBy: "assoc-etl diff" })
  let buffered: Array<Array<string | number | null>> = ChangeRow.columns.map(() => [])
  const flushGroup = () => {
    if (buffered[0]!.length === 0) return
    const columnData: Array<ColumnSource> = ChangeRow.columns.map((c, i) => ({ name: c.name, data: buffered[i]! }))
    buffered = ChangeRow.columns.map(() => [])
    // Synchronous: `DrainWriter.flush` returns nothing.
    void writer.write({ columnData, rowGroupSize: Number.MAX_SAFE_INTEGER })
  }
  return {
    write: (columns, start, end) => {
      let produced = false
      for (let r = start; r < end; r++) {
        for (let c = 0; c < buffered.length; c++) buffered[c]!.push(columns[c]![r] as string | number | null)
        if (buffered[0]!.length === rowGroupSize) {
          flushGroup()
          produced = true
        }
      }
      return produced ? bytes.take() : none
    },
    finish: () => {
      flushGroup()
      void writer.finish()
      return bytes.take()
    }
  }
}

/** How the changes of `format` (and NEW's `extension`) are written. */
export const of = (format: Format, extension: string): PartEncoding =>
  format === "parquet"
    ? { format, extension: ".parquet", open: parquet }
    : extension === ".ndjson.gz"
    ? { format, extension, open: gzipped }
    : { format, extension: ".ndjson", open: () => plain }
