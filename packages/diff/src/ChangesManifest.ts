/**
 * `manifest.json` of a changes directory (`assoc-etl diff OLD NEW --out CHANGES`), written last but one, before
 * `_SUCCESS`: the format and schema of its parts (the seven row columns and `op`), the parts with their row
 * counts, totals, how many rows are inserts and deletes, and which exports were compared: their paths, pair, and
 * when each started. `kind: "changes"` tells it from an export's manifest.
 *
 * A rerun reads it back: a finished diff of the same two exports (the same `startedAt` and row count each,
 * wherever they have moved since) is reported as it is; of other exports, it is refused.
 */
import { Manifest } from "@assoc-etl/core"
import { Schema } from "effect"

/** One of the two exports compared, as its own manifest describes it. */
export const Side = Schema.Struct({
  /** The directory, absolute, when the diff ran; or the location it was downloaded from (`s3://bucket/prefix`). */
  path: Schema.String,
  format: Schema.String,
  rows: Schema.Int,
  /** ISO date-times of the export: when it first started, and when it finished. */
  startedAt: Schema.String,
  finishedAt: Schema.String
})
export type Side = typeof Side.Type

export const ChangesManifest = Schema.Struct({
  version: Schema.Literal(1),
  kind: Schema.Literal("changes"),
  tool: Schema.Struct({ name: Schema.String, version: Schema.String }),
  /** NEW's format: `ndjson` (its parts `.ndjson` or `.ndjson.gz`, as NEW's) or `parquet`. */
  format: Schema.String,
  schema: Schema.Array(Manifest.Column),
  parts: Schema.Array(Manifest.PartInfo),
  totals: Schema.Struct({ rows: Schema.Int, bytes: Schema.Int, parts: Schema.Int }),
  /** Rows with `op` `insert` (in NEW, not in OLD) and `delete` (in OLD, not in NEW): they add up to `totals.rows`. */
  inserts: Schema.Int,
  deletes: Schema.Int,
  pair: Schema.Struct({ from: Schema.String, to: Schema.String }),
  old: Side,
  new: Side,
  /** ISO date-times of the diff itself. */
  startedAt: Schema.String,
  finishedAt: Schema.String
})
export type ChangesManifest = typeof ChangesManifest.Type

export const decodeJson = Schema.decodeUnknown(Schema.parseJson(ChangesManifest))
export const encodeJson = (manifest: ChangesManifest): string =>
  `${JSON.stringify(Schema.encodeSync(ChangesManifest)(manifest), null, 2)}\n`
