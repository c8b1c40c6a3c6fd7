/**
 * The messages between the Parquet encoder (main thread, `workerWriter.ts`) and its worker (`encodeWorker.ts`).
 * Plain data only: structured clone copies the strings, and the typed arrays' buffers are transferred.
 */

/** A column of the file: as `PartEncoder.TableColumn` describes it. */
export interface Column {
  readonly name: string
  readonly type: "string" | "int32"
  readonly nullable: boolean
}

export type Compression = "snappy" | "zstd" | "none"

/** What the worker is started with (`workerData`). */
export interface Setup {
  /** A part's columns, in `AssociationRow.columns` order. */
  readonly columns: ReadonlyArray<Column>
  readonly rowGroupRows: number
  readonly compression: Compression
}

/**
 * Rows of a part, as a `RowBatch` lays them out (copies of its arrays): group `g` (a from object) holds rows
 * `groupRanges[2g]` to `groupRanges[2g+1] - 1`, its from and to types are `pairs[groupPair[g]]` and its from id
 * is `fromIds.slice(fromIdEnds[g-1], fromIdEnds[g])` (one string for all: one copy to clone, no string a group
 * made on the other side); row `r`'s to id is `bytes[rows[3r], rows[3r+1])` (UTF-8) and its type
 * `types[rows[3r+2]]`.
 */
export interface Rows {
  readonly _tag: "Rows"
  readonly groupRanges: Int32Array
  readonly groupPair: Int32Array
  readonly pairs: ReadonlyArray<readonly [fromType: string, toType: string]>
  readonly fromIds: string
  readonly fromIdEnds: Int32Array
  readonly bytes: Uint8Array
  readonly rows: Int32Array
  readonly types: ReadonlyArray<readonly [category: string, typeId: number, label: string | null]>
}

export interface Finish {
  readonly _tag: "Finish"
}

/** A small table, whole: encoded as one file of one row group. */
export interface TableMessage {
  readonly _tag: "Table"
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | null>>
}

export type FromMain = Rows | Finish | TableMessage

/** The bytes of the file, in order, as the writer produced them. */
export interface Bytes {
  readonly _tag: "Bytes"
  readonly bytes: Uint8Array
}

/** The writer has taken this many rows in all (encoded, or being encoded): the flow control's count. */
export interface Taken {
  readonly _tag: "Taken"
  readonly rows: number
}

/** Every byte of the part was sent (the last `Bytes` held the footer). */
export interface Finished {
  readonly _tag: "Finished"
}

export interface TableBytes {
  readonly _tag: "TableBytes"
  readonly bytes: Uint8Array
}

export interface Failed {
  readonly _tag: "Failed"
  readonly message: string
}

export type ToMain = Bytes | Taken | Finished | TableBytes | Failed
