/**
 * The independent reader for tests: DuckDB (`@duckdb/node-api`) reads the
 * files our writers produce, the way a user's analytics tool would. Import by
 * relative path (`../../../test/support/DuckDb.js`) and add
 * `{ "path": "../../../test/support" }` to the test tsconfig's references.
 *
 * Rows come back as plain objects in `AssociationRow` shape: ids and other
 * strings as strings, `association_type_id` as a number, null labels as null.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { Data, Effect } from "effect"

export interface Row {
  readonly from_object_type: string
  readonly from_object_id: string
  readonly to_object_type: string
  readonly to_object_id: string
  readonly association_category: string
  readonly association_type_id: number
  readonly association_label: string | null
}

/** The output columns in order (DESIGN.md), as DuckDB types. */
export const columnTypes = [
  ["from_object_type", "VARCHAR"],
  ["from_object_id", "VARCHAR"],
  ["to_object_type", "VARCHAR"],
  ["to_object_id", "VARCHAR"],
  ["association_category", "VARCHAR"],
  ["association_type_id", "INTEGER"],
  ["association_label", "VARCHAR"]
] as const

export class DuckDbError extends Data.TaggedError("DuckDbError")<{
  readonly sql: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `DuckDB failed on ${this.sql}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** A SQL string literal. */
export const literal = (s: string): string => `'${s.replaceAll("'", "''")}'`

/** Runs one query on a fresh in-memory DuckDB and returns its rows as plain JS values. */
export const query = (sql: string): Effect.Effect<ReadonlyArray<Record<string, unknown>>, DuckDbError> =>
  Effect.tryPromise({
    try: async () => {
      const instance = await DuckDBInstance.create(":memory:")
      try {
        const connection = await instance.connect()
        try {
          const reader = await connection.runAndReadAll(sql)
          return reader.getRowObjectsJS() as ReadonlyArray<Record<string, unknown>>
        } finally {
          connection.closeSync()
        }
      } finally {
        instance.closeSync()
      }
    },
    catch: (cause) => new DuckDbError({ sql, cause })
  })

const toRow = (r: Record<string, unknown>): Row => ({
  from_object_type: r["from_object_type"] as string,
  from_object_id: r["from_object_id"] as string,
  to_object_type: r["to_object_type"] as string,
  to_object_id: r["to_object_id"] as string,
  association_category: r["association_category"] as string,
  association_type_id: r["association_type_id"] as number,
  association_label: (r["association_label"] ?? null) as string | null
})

const select = `SELECT ${columnTypes.map(([name]) => name).join(", ")}`

/** The table expression reading Parquet files (a path or a glob). */
export const parquetSource = (globOrFile: string): string => `read_parquet(${literal(globOrFile)})`

/**
 * The table expression reading NDJSON files (a path or a glob, `.gz` too)
 * with the output columns given explicitly, as a data engineer would.
 */
export const ndjsonSource = (globOrFile: string): string =>
  `read_json(${literal(globOrFile)}, format = 'newline_delimited', compression = 'auto_detect', columns = {${
    columnTypes.map(([name, type]) => `${name}: '${type}'`).join(", ")
  }})`

/** Every row of the Parquet files, in file order. */
export const readParquet = (globOrFile: string): Effect.Effect<ReadonlyArray<Row>, DuckDbError> =>
  Effect.map(query(`${select} FROM ${parquetSource(globOrFile)}`), (rows) => rows.map(toRow))

/** Every row of the NDJSON files (gzipped or not), in file order. */
export const readNdjson = (globOrFile: string): Effect.Effect<ReadonlyArray<Row>, DuckDbError> =>
  Effect.map(query(`${select} FROM ${ndjsonSource(globOrFile)}`), (rows) => rows.map(toRow))

export interface ColumnDescription {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
}

/**
 * The columns DuckDB sees, in order, with their types. Parquet is read as it
 * is; NDJSON with DuckDB's own type detection (`read_json_auto`), which is
 * what a user typing the path gets. Chosen by the file name (`.parquet`).
 */
export const describe = (globOrFile: string): Effect.Effect<ReadonlyArray<ColumnDescription>, DuckDbError> => {
  const source = /\.parquet$/.test(globOrFile)
    ? parquetSource(globOrFile)
    : `read_json_auto(${literal(globOrFile)}, format = 'newline_delimited')`
  return Effect.map(query(`DESCRIBE SELECT * FROM ${source}`), (rows) =>
    rows.map((r) => ({
      name: r["column_name"] as string,
      type: r["column_type"] as string,
      nullable: r["null"] === "YES"
    })))
}

export interface ParquetLeaf {
  readonly name: string
  readonly type: string | null
  readonly repetitionType: string | null
  readonly convertedType: string | null
  readonly logicalType: string | null
}

/** The leaf columns of one Parquet file's schema, in order, as written in its footer. */
export const parquetSchema = (file: string): Effect.Effect<ReadonlyArray<ParquetLeaf>, DuckDbError> =>
  Effect.map(
    query(
      `SELECT name, type, repetition_type, converted_type, logical_type FROM parquet_schema(${
        literal(file)
      }) WHERE num_children IS NULL OR num_children = 0`
    ),
    (rows) =>
      rows.map((r) => ({
        name: r["name"] as string,
        type: (r["type"] ?? null) as string | null,
        repetitionType: (r["repetition_type"] ?? null) as string | null,
        convertedType: (r["converted_type"] ?? null) as string | null,
        logicalType: (r["logical_type"] ?? null) as string | null
      }))
  )

export interface ParquetLayout {
  readonly rowGroups: number
  readonly rows: number
  /** The distinct `path_in_schema, encodings, compression` of the column chunks. */
  readonly chunks: ReadonlyArray<{ readonly column: string; readonly encodings: string; readonly compression: string }>
}

/** Row groups, rows, and per-column encodings and codec of one Parquet file. */
export const parquetLayout = (file: string): Effect.Effect<ParquetLayout, DuckDbError> =>
  Effect.map(
    query(
      `SELECT count(DISTINCT row_group_id)::INTEGER AS groups,
        list(DISTINCT path_in_schema || '|' || encodings || '|' || compression) AS chunks
       FROM parquet_metadata(${literal(file)})`
    ).pipe(Effect.zip(query(`SELECT num_rows::INTEGER AS rows FROM parquet_file_metadata(${literal(file)})`))),
    ([[meta], [fileMeta]]) => ({
      rowGroups: Number(meta?.["groups"] ?? 0),
      rows: Number(fileMeta?.["rows"] ?? 0),
      chunks: ((meta?.["chunks"] ?? []) as ReadonlyArray<string>).map((s) => {
        const [column = "", encodings = "", compression = ""] = s.split("|")
        return { column, encodings, compression }
      }).sort((a, b) => a.column.localeCompare(b.column))
    })
  )

/** A row as one string, the columns in order: equal rows have equal keys. */
export const rowKey = (row: Row): string =>
  JSON.stringify([
    row.from_object_type,
    row.from_object_id,
    row.to_object_type,
    row.to_object_id,
    row.association_category,
    row.association_type_id,
    row.association_label
  ])

/** How many times each row occurs. */
export const multiset = (rows: Iterable<Row>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const row of rows) {
    const key = rowKey(row)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

export interface RowsDiff {
  /** Row keys expected more times than found (repeated by the shortfall). */
  readonly missing: ReadonlyArray<string>
  /** Row keys found more times than expected (repeated by the excess). */
  readonly extra: ReadonlyArray<string>
}

/** The multiset difference between expected and actual rows: both empty when they hold the same rows. */
export const diffRows = (expected: Iterable<Row>, actual: Iterable<Row>): RowsDiff => {
  const want = multiset(expected)
  const got = multiset(actual)
  const missing: Array<string> = []
  const extra: Array<string> = []
  for (const [key, n] of want) {
    for (let i = got.get(key) ?? 0; i < n; i++) missing.push(key)
  }
  for (const [key, n] of got) {
    for (let i = want.get(key) ?? 0; i < n; i++) extra.push(key)
  }
  return { missing, extra }
}

/** True when both hold the same rows the same number of times, in any order. */
export const sameRows = (expected: Iterable<Row>, actual: Iterable<Row>): boolean => {
  const { extra, missing } = diffRows(expected, actual)
  return missing.length === 0 && extra.length === 0
}
