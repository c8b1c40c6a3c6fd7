/**
 * Reads rows back from a Parquet part: for the demo's peek and for users who
 * want to check a part without another tool. Tests use DuckDB instead, a
 * reader this project did not write.
 */
import { AssociationRow } from "@assoc-etl/core"
import { Effect, Schema } from "effect"
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet"
// The codecs hyparquet lacks on its own, ZSTD among them (`ParquetEncoder.make({ compression: "zstd" })`).
import { compressors } from "hyparquet-compressors"

export class ParquetReadError extends Schema.TaggedError<ParquetReadError>()("ParquetReadError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot read the Parquet file ${this.path}: ${this.detail}`
  }
}

const decodeRows = Schema.decodeUnknown(Schema.Array(AssociationRow.AssociationRow))

/** The first `limit` rows of a part (all rows without a limit), decoded as rows. */
export const readRows = (path: string, options: { readonly limit?: number } = {}) =>
  Effect.tryPromise({
    try: async () => {
      const file = await asyncBufferFromFile(path)
      const limit = options.limit !== undefined ? { rowEnd: options.limit } : {}
      return parquetReadObjects({ file, compressors, ...limit })
    },
    catch: (e) => new ParquetReadError({ path, detail: e instanceof Error ? e.message : String(e) })
  }).pipe(
    Effect.flatMap((objects) =>
      decodeRows(objects.map((o) => ({ ...o, association_type_id: Number(o["association_type_id"]) })))
    ),
    Effect.mapError((e) => e._tag === "ParquetReadError" ? e : new ParquetReadError({ path, detail: e.message }))
  )
