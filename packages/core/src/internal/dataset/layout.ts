/**
 * The names of a dataset directory. Readers see `part-NNNNN<ext>`,
 * `_errors/errors.ndjson`, `manifest.json` and `_SUCCESS`; working files
 * start with a dot, so Spark, Hadoop and DuckDB globs skip them:
 * `.part-NNNNN.journal` (the open part's rows as NDJSON), `.part-NNNNN<ext>.tmp`
 * (the part being built; for plain NDJSON the journal is the part), and
 * `.checkpoint.json`; beside them may be the `.listed-ids` of an id source.
 */
import type { PartEncoder } from "../../PartEncoder.js"

export const checkpointName = ".checkpoint.json"
export const successName = "_SUCCESS"
export const manifestName = "manifest.json"
/**
 * In a folder of its own: at the top it would match `DIR/*.ndjson`, the glob that reads the parts, and Spark
 * reads every file of DIR not starting with `_` or `.`.
 */
export const errorsDirectory = "_errors"
export const errorsName = "_errors/errors.ndjson"

/**
 * A table of the export's own beside its rows (`labels`: the pair's labels catalogue): in a folder, for the reason
 * `_errors` is.
 */
export const tableDirectory = (name: string) => `_${name}`
export const tableName = (name: string, extension: string) => `${name}${extension}`

export const partName = (index: number, extension: string) => `part-${String(index).padStart(5, "0")}${extension}`
export const journalName = (index: number) => `.part-${String(index).padStart(5, "0")}.journal`
export const tempName = (index: number, extension: string) => `.${partName(index, extension)}.tmp`

/**
 * The journal of a paged id source (`IdSource.fromPages`) kept in the dataset directory, as the command line
 * keeps it: not the dataset's, but a run of the export may leave it there before the dataset's first checkpoint.
 */
export const idJournalName = ".listed-ids"

/** The temporary name of a file written atomically: dotted, so no reader of DIR meets it. */
export const atomicTempName = (name: string) => `${name.startsWith(".") ? "" : "."}${name}.tmp`

/** The files this module works with under a dotted name: temp parts, journals, the checkpoint and atomic temps. */
export const isWorkingFile = (name: string) =>
  name.startsWith(".part-") || name.startsWith(checkpointName)
  || name === atomicTempName(manifestName) || name === atomicTempName(successName)

/** For plain NDJSON the journal's bytes are the part's: the journal is the part's temp file. */
export const journalIsPart = (encoder: PartEncoder) => encoder.partIsJournal === true

/** The journal file of the open part `index`. */
export const openJournalName = (encoder: PartEncoder, index: number) =>
  journalIsPart(encoder) ? tempName(index, encoder.extension) : journalName(index)
