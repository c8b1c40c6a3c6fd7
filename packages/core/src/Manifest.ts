/**
 * `manifest.json` of a finished dataset directory: the schema of its rows,
 * its parts with their row counts, totals, refused inputs, and what was
 * exported from where, written last but one (before `_SUCCESS`).
 *
 * A later run reads it (an incremental export starts where an earlier one's
 * window ended): it is decoded by this schema, which also reads the first
 * version's manifests (their `export.input` is read as `export.source`).
 */
import { Schema } from "effect"
import { Identity } from "./IdSource.js"

export const PartInfo = Schema.Struct({ name: Schema.String, rows: Schema.Int, bytes: Schema.Int })
export type PartInfo = typeof PartInfo.Type

export const Column = Schema.Struct({ name: Schema.String, type: Schema.String, nullable: Schema.Boolean })

const common = {
  tool: Schema.Struct({ name: Schema.String, version: Schema.String }),
  format: Schema.String,
  schema: Schema.Array(Column),
  parts: Schema.Array(PartInfo),
  totals: Schema.Struct({ rows: Schema.Int, bytes: Schema.Int, parts: Schema.Int }),
  errors: Schema.Struct({ file: Schema.String, rows: Schema.Int }),
  /** ISO date-times: when the export first started, and when it finished. */
  startedAt: Schema.String,
  finishedAt: Schema.String
}

export const Manifest = Schema.Struct({
  version: Schema.Literal(2),
  ...common,
  /** Ids done, and those of them with no association (not refusals: no row, and not in errors.ndjson). */
  ids: Schema.optionalWith(Schema.Struct({ done: Schema.Int, withoutRows: Schema.Int }), { exact: true }),
  export: Schema.Struct({
    from: Schema.String,
    to: Schema.String,
    source: Identity,
    /** The system the rows were read from (a HubSpot portal), when the run named one. */
    origin: Schema.optionalWith(Identity, { exact: true })
  })
})
export type Manifest = typeof Manifest.Type

/** The first version: `export.input` held the source as `{ kind, path?, digest?, since?, until? }`. */
const ManifestV1 = Schema.Struct({
  version: Schema.Literal(1),
  ...common,
  export: Schema.Struct({
    from: Schema.String,
    to: Schema.String,
    input: Schema.Record({ key: Schema.String, value: Schema.String })
  })
})

const fromV1 = Schema.transform(ManifestV1, Schema.typeSchema(Manifest), {
  strict: true,
  decode: ({ export: { from, input, to }, version: _, ...rest }) => {
    const { kind = "unknown", ...details } = input
    return {
      version: 2 as const,
      ...rest,
      export: { from, to, source: { kind, key: input["digest"] ?? input["since"] ?? "", description: kind, details } }
    }
  },
  encode: ({ export: { from, source, to }, version: _, ...rest }) => ({
    version: 1 as const,
    ...rest,
    export: { from, to, input: { kind: source.kind, ...source.details } }
  })
})

/** A manifest of either version, read as the current one. */
export const AnyManifest = Schema.Union(Manifest, fromV1)

export const decodeJson = Schema.decodeUnknown(Schema.parseJson(AnyManifest))
export const encodeJson = (manifest: Manifest): string => `${JSON.stringify(Schema.encodeSync(Manifest)(manifest), null, 2)}\n`
