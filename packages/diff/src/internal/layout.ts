/**
 * The names of a changes directory. Readers see `part-NNNNN<ext>`, `manifest.json` and `_SUCCESS`, as in an
 * export; working files start with a dot, so Spark, Hadoop and DuckDB globs skip them: `.part-NNNNN<ext>.tmp`
 * (the part being written), `.duckdb-spill/` (DuckDB's temporary files), the atomic temps of the manifest and
 * `_SUCCESS`, and `.assoc-etl-diff`, written first, which marks the directory as a diff's: only a directory
 * holding it is cleaned of a crashed run's files, anything else that is not empty is another's.
 */
import { Dataset } from "@assoc-etl/core"
import { atomicTempName } from "./durableFile.js"

export const markerName = ".assoc-etl-diff"
export const spillName = ".duckdb-spill"
export const { manifestName, partName, successName } = Dataset

export const tempName = (index: number, extension: string) => `.${partName(index, extension)}.tmp`

const partPattern = /^part-\d{5}\.(ndjson|ndjson\.gz|parquet)$/
const tempPattern = /^\.part-\d{5}\.(ndjson|ndjson\.gz|parquet)\.tmp$/

/** A name a run of a diff writes in its directory (the marker included). */
export const isOurs = (name: string): boolean =>
  name === markerName || name === spillName || name === manifestName || name === successName
  || name === atomicTempName(manifestName) || name === atomicTempName(successName)
  || name === atomicTempName(markerName) || partPattern.test(name) || tempPattern.test(name)
