/**
 * The multiset difference of two exports' rows, computed by DuckDB in this process, out of core.
 *
 * One pass over both sides: every row counts +1 in NEW and -1 in OLD, grouped on all seven columns (NULL labels
 * group together); a group whose sum is not 0 gives |sum| rows, inserts if positive, deletes if negative. DuckDB's
 * hash aggregate and sort spill to `spillDirectory` past `memoryLimit`, so neither side has to fit in memory. The
 * result is sorted on the columns, then `op`: the same inputs give the same parts, byte for byte.
 *
 * DuckDB is loaded when a diff runs, not when this module is: loading its native library took ~130 ms, which every
 * other command of the CLI would pay.
 */
import { AssociationRow } from "@assoc-etl/core"
import { Effect, type Scope } from "effect"
import * as os from "node:os"
import * as ChangeRow from "../ChangeRow.js"
import { DiffError } from "../DiffError.js"
import type { Input } from "./inputs.js"
import type { Columns } from "./partEncoding.js"

export interface EngineOptions<R> {
  readonly old: Input
  readonly new: Input
  readonly spillDirectory: string
  /** Bytes DuckDB may hold in memory before it spills. */
  readonly memoryLimit: number
  /** DuckDB's worker threads. */
  readonly threads: number
  /** Takes each chunk of the result (at most 2,048 rows), in order. */
  readonly onChunk: (columns: Columns, rows: number) => Effect.Effect<void, DiffError, R>
}

const literal = (s: string): string => `'${s.replaceAll("'", "''")}'`

const duckType = (type: "string" | "int32") => (type === "int32" ? "INTEGER" : "VARCHAR")

const names = AssociationRow.columns.map((c) => c.name).join(", ")

/** A side's rows as a relation of the seven columns, typed as `AssociationRow.columns` says. */
export const relation = (input: Input): string => {
  const typed = AssociationRow.columns.map((c) => `CAST(${c.name} AS ${duckType(c.type)}) AS ${c.name}`).join(", ")
  if (input.files.length === 0) {
    const nulls = AssociationRow.columns.map((c) => `NULL AS ${c.name}`).join(", ")
    return `(SELECT ${typed} FROM (SELECT ${nulls}) WHERE false)`
  }
  const files = `[${input.files.map(literal).join(", ")}]`
  if (input.format === "parquet") return `(SELECT ${typed} FROM read_parquet(${files}))`
  const columns = AssociationRow.columns.map((c) => `${c.name}: '${duckType(c.type)}'`).join(", ")
  const compression = input.extension.endsWith(".gz") ? "gzip" : "uncompressed"
  return `(SELECT ${typed} FROM read_json(${files}, format = 'newline_delimited', compression = '${compression}', `
    + `columns = {${columns}}))`
}

/** The changes: the columns, then `op`, sorted. */
export const query = (old: Input, neu: Input): string =>
  `SELECT ${names}, CASE WHEN d > 0 THEN 'insert' ELSE 'delete' END AS op
   FROM (
     SELECT ${names}, CAST(sum(side) AS BIGINT) AS d
     FROM (SELECT *, 1 AS side FROM ${relation(neu)} UNION ALL SELECT *, -1 AS side FROM ${relation(old)})
     GROUP BY ${names}
     HAVING d <> 0
   ) AS counted, range(abs(counted.d)) AS copies(k)
   ORDER BY ${names.replace("association_label", "association_label NULLS FIRST")}, op`

/** DuckDB's failure, attributed to the side whose files it names, else to `--out` (where it writes and spills). */
const failure = (options: EngineOptions<unknown>) => (cause: unknown) => {
  const message = cause instanceof Error ? cause.message : String(cause)
  const side = [options.old, options.new].find((s) => message.includes(s.directory))
  const hint = /out of memory/i.test(message) ? " (a larger --memory may help)" : ""
  return new DiffError({
    reason: "Io",
    argument: side?.argument ?? "--out",
    path: side?.directory ?? options.spillDirectory,
    detail: `DuckDB: ${message.split("\n")[0]}${hint}`
  })
}

/** DuckDB's memory limit as its settings spell it, in KiB. */
const kib = (bytes: number) => `${Math.max(1, Math.floor(bytes / 1024))}KiB`

/**
 * Threads: one a core, each with at least 128 MiB. With 64 MiB and one thread DuckDB ran out of memory on 300,000
 * rows (its JSON reader's buffers take 32 MiB); with 128 MiB it spilled and finished on 2,000,000.
 */
export const defaultThreads = (memoryLimit: number) =>
  Math.max(1, Math.min(os.availableParallelism(), Math.floor(memoryLimit / (128 * 1024 * 1024))))

/** Runs the diff and hands the result to `onChunk`; the DuckDB instance lives until the scope closes. */
export const run = <R>(options: EngineOptions<R>): Effect.Effect<void, DiffError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const fail = failure(options)
    const attempt = <A>(f: (signal: AbortSignal) => Promise<A>) => Effect.tryPromise({ try: f, catch: fail })
    const { DuckDBInstance } = yield* attempt(() => import("@duckdb/node-api"))
    const instance = yield* Effect.acquireRelease(
      attempt(() =>
        DuckDBInstance.create(":memory:", {
          memory_limit: kib(options.memoryLimit),
          threads: String(options.threads),
          temp_directory: options.spillDirectory,
          preserve_insertion_order: "false",
          // Everything it needs (JSON, Parquet) is built in: never fetch an extension at run time.
          autoinstall_known_extensions: "false",
          autoload_known_extensions: "false"
        })
      ),
      (i) => Effect.sync(() => i.closeSync())
    )
    const connection = yield* Effect.acquireRelease(
      attempt(() => instance.connect()),
      (c) => Effect.sync(() => c.closeSync())
    )
    /** A DuckDB call that an interruption cancels. */
    const call = <A>(f: () => Promise<A>) =>
      attempt((signal) => {
        signal.addEventListener("abort", () => connection.interrupt(), { once: true })
        return f()
      })
    const result = yield* call(() => connection.stream(query(options.old, options.new)))
    const columnNames = result.columnNames()
    if (columnNames.join(",") !== ChangeRow.columns.map((c) => c.name).join(",")) {
      return yield* Effect.dieMessage(`the diff's query gave the columns ${columnNames.join(", ")}`)
    }
    for (;;) {
      const chunk = yield* call(() => result.fetchChunk())
      if (chunk === null || chunk.rowCount === 0) break
      // VARCHAR as strings, INTEGER as numbers, NULL as null: the query's casts make the types.
      yield* options.onChunk(chunk.getColumns() as Columns, chunk.rowCount)
    }
  }).pipe(Effect.withSpan("Diff.engine"))
