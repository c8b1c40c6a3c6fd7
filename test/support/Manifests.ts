/** Manifests of finished exports, for tests of what reads one (an incremental run chained to an earlier export). */
import { Dataset, type Manifest } from "@assoc-etl/core"

/** The manifest of a finished export of `from` → companies with no parts, as this version writes it. */
export const finished = (
  from: string,
  startedAt: string,
  source: Manifest.Manifest["export"]["source"]
): Manifest.Manifest => ({
  version: 2,
  tool: { name: "assoc-etl", version: Dataset.toolVersion },
  format: "ndjson",
  schema: [],
  parts: [],
  totals: { rows: 0, bytes: 0, parts: 0 },
  errors: { file: "_errors/errors.ndjson", rows: 0 },
  startedAt,
  finishedAt: startedAt,
  export: { from, to: "companies", source }
})
