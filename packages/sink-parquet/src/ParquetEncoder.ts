/**
 * The Parquet part encoder. One schema for every part, from core's
 * `AssociationRow.columns`: strings as BYTE_ARRAY with the STRING/UTF8
 * annotation, `association_type_id` INT32, `association_label` OPTIONAL,
 * every other column REQUIRED.
 *
 * Row groups of `rowGroupRows` rows (DuckDB's 122,880 by default: a count,
 * not a byte size; a part's last group holds the rest), dictionary-encoded
 * where it pays, with min/max statistics on every column chunk and page, so a
 * reader prunes groups by `from_object_id` and answers `count(*)` from the
 * footer.
 *
 * The encoding runs in a worker thread (`internal/encodeWorker.ts`: Arrow
 * columns built from the rows' bytes, then parquet-wasm, arrow-rs's writer in
 * WebAssembly), so an encode never holds the event loop whatever the group's
 * size. `write` hands the rows over and returns the bytes finished since the
 * last call; it waits only when the worker is more than `aheadRows` rows behind,
 * which bounds memory (`internal/workerWriter.ts`). A killed process leaves
 * what the dataset leaves with any encoder: a dotted temp file that no reader
 * sees, rebuilt from the journal on the next open.
 */
import { AssociationRow } from "@assoc-etl/core"
import type { PartEncoder } from "@assoc-etl/core"
import { Effect } from "effect"
import type { SchemaElement } from "hyparquet-writer"
import * as WorkerWriter from "./internal/workerWriter.js"

/** The codec of every column chunk. `"snappy"` by default; `"zstd"` makes files about a third smaller. */
export type Compression = "snappy" | "zstd" | "none"

export const compressions: ReadonlyArray<Compression> = ["snappy", "zstd", "none"]

export interface ParquetEncoderOptions {
  /** Rows a row group. Default `defaultRowGroupRows` (122,880, DuckDB's own). */
  readonly rowGroupRows?: number
  /** The compression codec of every column. Default `"snappy"`. */
  readonly compression?: Compression
  /**
   * The most rows handed to the worker and not yet taken by the Parquet writer before `write` waits for it.
   * Default two row groups.
   */
  readonly aheadRows?: number
}

export const format = "parquet"
export const extension = ".parquet"
export const defaultRowGroupRows = 122_880
/**
 * Rows a row group for a writer that encodes on the event loop (as `@assoc-etl/diff`'s does): a group of
 * 4,096 blocks it about 20 ms. This encoder's own groups are `defaultRowGroupRows`.
 */
export const defaultRowGroupSize = 4096

/**
 * The Parquet schema of a table of `columns` as hyparquet-writer takes it: a root, then one leaf per column, in
 * order; strings as BYTE_ARRAY with the UTF8/STRING annotation, int32 as INT32, OPTIONAL only where nullable.
 * The files this encoder writes have these leaves; other writers of such columns (`@assoc-etl/diff`'s, with `op`
 * after the rows' seven) build on it.
 */
export const hyparquetSchema = (columns: ReadonlyArray<PartEncoder.TableColumn>): ReadonlyArray<SchemaElement> => [
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

/** A Parquet encoder: format `"parquet"`, extension `.parquet`. */
export const make = (options?: ParquetEncoderOptions): PartEncoder.PartEncoder => {
  const rowGroupRows = options?.rowGroupRows ?? defaultRowGroupRows
  if (!Number.isInteger(rowGroupRows) || rowGroupRows < 1) {
    throw new RangeError(`rowGroupRows must be a positive integer, got ${rowGroupRows}`)
  }
  const compression = options?.compression ?? "snappy"
  if (!compressions.includes(compression)) {
    throw new RangeError(`compression must be one of ${compressions.join(", ")}, got ${String(compression)}`)
  }
  // Below a group, the worker could wait for rows that `write` holds back: never less than one group.
  const aheadRows = Math.max(options?.aheadRows ?? 2 * rowGroupRows, rowGroupRows)
  const pool = new WorkerWriter.Pool({ columns: AssociationRow.columns, rowGroupRows, compression })
  return {
    format,
    extension,
    open: Effect.sync(() => WorkerWriter.open({ pool, aheadRows })),
    encodeTable: (table) => WorkerWriter.encodeTable(pool, table)
  }
}
