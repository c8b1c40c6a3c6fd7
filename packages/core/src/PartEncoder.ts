/**
 * How rows become the bytes of one part file. The dataset owns the files
 * (temporary names, sync, rename); an encoder only turns batches of rows
 * into bytes, so formats can be swapped without touching durability.
 */
import type { Effect } from "effect"
import type { RowBatch } from "./RowBatch.js"

export interface PartEncoder {
  /** `"ndjson"`, `"parquet"`, ...: recorded in the manifest. */
  readonly format: string
  /** The part file suffix, with its dot: `.ndjson`, `.ndjson.gz`, `.parquet`. */
  readonly extension: string
  /** Starts encoding a new part. */
  readonly open: Effect.Effect<PartWriter>
  /**
   * `true` when a part's bytes are exactly its rows' NDJSON lines (`NdjsonRows.encode`), with no header or
   * trailer: the dataset then keeps no journal beside the part, whose temp file is the journal.
   */
  readonly partIsJournal?: boolean
  /**
   * Encodes a small table of its own columns whole (a pair's labels catalogue) as one file in this format, with
   * this extension. An encoder without it has such tables written as NDJSON (`Dataset.writeTable`).
   */
  readonly encodeTable?: (table: Table) => Effect.Effect<Uint8Array>
}

/** A column of a `Table`: as the rows' own columns are described (`AssociationRow.columns`). */
export interface TableColumn {
  readonly name: string
  readonly type: "string" | "int32"
  readonly nullable: boolean
}

/** A table small enough to hold whole: its columns, and its rows as values in column order. */
export interface Table {
  readonly columns: ReadonlyArray<TableColumn>
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | null>>
}

/** The table as NDJSON: one object a row, its columns in order. */
export const tableToNdjson = (table: Table): Uint8Array => {
  let text = ""
  for (const row of table.rows) {
    const object: Record<string, string | number | null> = {}
    table.columns.forEach((c, i) => (object[c.name] = row[i] ?? null))
    text += `${JSON.stringify(object)}\n`
  }
  return new TextEncoder().encode(text)
}

export interface PartWriter {
  /**
   * Encodes a batch of rows and returns the bytes to append to the part file now, in order (possibly none,
   * while a row group fills). Called with whole batches, never a row at a time.
   */
  readonly write: (rows: RowBatch) => Effect.Effect<ReadonlyArray<Uint8Array>>
  /** Encodes what is buffered and the trailer (a footer, a gzip trailer); the part is whole after these bytes. */
  readonly finish: Effect.Effect<ReadonlyArray<Uint8Array>>
  /**
   * Releases what the writer holds beyond memory (a worker thread, say) when its part is closed, finished or not
   * (a roll, a failure, an interruption). The dataset runs it once, when the part's scope closes.
   */
  readonly close?: Effect.Effect<void>
}
