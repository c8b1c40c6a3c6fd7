/**
 * Exports for the diff's tests, written for real: rows through `Dataset.sink` with the NDJSON, gzipped NDJSON or
 * Parquet encoder, finished (manifest.json, `_SUCCESS`) or not; and the changes read back by DuckDB, independently
 * of the diff's own code.
 */
import { type AssociationRow, Dataset, ObjectType, type PartEncoder, RowBatch } from "@assoc-etl/core"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { columnTypes, literal, query, type Row, rowKey } from "../../../test/support/DuckDb.js"

export type Kind = "ndjson" | "ndjson.gz" | "parquet"

const encoderOf = (kind: Kind): PartEncoder.PartEncoder =>
  kind === "parquet" ? ParquetEncoder.make() : NdjsonEncoder.make({ gzip: kind === "ndjson.gz" })

export interface ExportOptions {
  readonly kind?: Kind
  readonly from?: string
  readonly to?: string
  /** Rows in a part: small, to make several. */
  readonly partMaxRows?: number
  /** Leave `_SUCCESS` out, as an export that diffs itself before it seals does. */
  readonly unsealed?: boolean
  /** When the export started (its identity in a changes manifest, with its row count). */
  readonly startedAt?: number
}

/** A finished export of `rows` in `directory`. */
export const writeExport = (
  directory: string,
  rows: ReadonlyArray<AssociationRow.AssociationRow>,
  options: ExportOptions = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const partMaxRows = options.partMaxRows ?? 1000
    const sink = Dataset.sink({ directory, encoder: encoderOf(options.kind ?? "ndjson"), partMaxRows })
    const opened = yield* sink.open(Schema.Struct({}))
    // A commit a part's worth of rows: a part rolls over at a commit.
    const batch = Math.min(50_000, partMaxRows)
    for (let i = 0; i < rows.length; i += batch) {
      yield* opened.append(RowBatch.fromRows(rows.slice(i, i + batch)), [])
      yield* opened.commit({})
    }
    yield* opened.finish({}, {
      pair: {
        fromType: ObjectType.unsafeMake(options.from ?? "contacts"),
        toType: ObjectType.unsafeMake(options.to ?? "companies")
      },
      source: { kind: "stream", key: directory, description: "test rows" },
      startedAt: options.startedAt ?? Date.parse("2026-11-28T00:00:00Z")
    })
    if (options.unsealed === true) fs.rmSync(path.join(directory, Dataset.successName))
    return directory
  })).pipe(Effect.provide(NodeContext.layer), Effect.orDie)

export interface ChangeRow extends Row {
  readonly op: string
}

/** Every row of the changes in `directory` (its `part-*` files, of `kind`), read by DuckDB. */
export const readChanges = (directory: string, kind: Kind) => {
  const glob = path.join(directory, `part-*.${kind}`)
  const columns = [...columnTypes, ["op", "VARCHAR"]].map(([n, t]) => `${n}: '${t}'`).join(", ")
  const source = kind === "parquet"
    ? `read_parquet(${literal(glob)})`
    : `read_json(${literal(glob)}, format = 'newline_delimited', compression = 'auto_detect', columns = {${columns}})`
  return Effect.map(query(`SELECT * FROM ${source}`), (rows) =>
    rows.map((r): ChangeRow => ({
      from_object_type: r["from_object_type"] as string,
      from_object_id: r["from_object_id"] as string,
      to_object_type: r["to_object_type"] as string,
      to_object_id: r["to_object_id"] as string,
      association_category: r["association_category"] as string,
      association_type_id: r["association_type_id"] as number,
      association_label: (r["association_label"] ?? null) as string | null,
      op: r["op"] as string
    })))
}

/** A change as one string: the row's key and its op. */
export const changeKey = (row: Row, op: string): string => `${op} ${rowKey(row)}`

/** The changes from `old` to `new` as multisets, computed here by counting: sorted keys. */
export const expectedChanges = (old: ReadonlyArray<Row>, neu: ReadonlyArray<Row>): ReadonlyArray<string> => {
  const counts = new Map<string, { row: Row; n: number }>()
  for (const [rows, sign] of [[neu, 1], [old, -1]] as const) {
    for (const row of rows) {
      const key = rowKey(row)
      const entry = counts.get(key) ?? { row, n: 0 }
      entry.n += sign
      counts.set(key, entry)
    }
  }
  const out: Array<string> = []
  for (const { n, row } of counts.values()) {
    for (let i = 0; i < Math.abs(n); i++) out.push(changeKey(row, n > 0 ? "insert" : "delete"))
  }
  return out.sort()
}

/** What the changes directory holds, as sorted keys. */
export const changeKeys = (rows: ReadonlyArray<ChangeRow>): ReadonlyArray<string> =>
  rows.map((r) => changeKey(r, r.op)).sort()
