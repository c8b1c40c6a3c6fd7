/**
 * The names of a dataset (or a root of datasets) in a bucket, beside those of
 * the directory layout the core writer keeps (`Dataset.partName`, ...):
 *
 * - `.lease`: the lease of the staging root (`lease.ts`).
 * - `.logs/<name>/<offset>`: the append-only files of the staging directory
 *   (the open part's journal, `_errors/errors.ndjson`, id journals), mirrored
 *   as segments: `<name>` is the file's path relative to the staging root,
 *   `<offset>` the segment's first byte as 15 digits, and each segment runs to
 *   the next one's offset, so that the segments of a log form one chain from 0.
 * - `.staged`: in a dataset's prefix that has no checkpoint yet, once a part
 *   of it is being uploaded: the `part-*` keys beside it are this tool's,
 *   uncommitted, and the next restore deletes them instead of refusing the
 *   prefix as another's.
 *
 * Every one is dotted, so DuckDB's, Spark's and Hadoop's globs skip them.
 */
import { Dataset } from "@assoc-etl/core"

export const leaseName = ".lease"
export const logsDirectory = ".logs/"
export const stagedName = ".staged"

/** The prefix of the dataset `rel` ("" for the root itself) under a root's prefix ("" or ending with "/"). */
export const datasetPrefix = (prefix: string, rel: string): string => rel === "" ? prefix : `${prefix}${rel}/`

/** A name relative to the staging root: `name` in the dataset `rel`. */
export const inDataset = (rel: string, name: string): string => rel === "" ? name : `${rel}/${name}`

const offsetDigits = 15

export const segmentKey = (prefix: string, name: string, offset: number): string =>
  `${prefix}${logsDirectory}${name}/${String(offset).padStart(offsetDigits, "0")}`

/** The log and offset of a segment's key relative to the root's prefix, or undefined when it is not one. */
export const parseSegment = (relative: string): { readonly name: string; readonly offset: number } | undefined => {
  if (!relative.startsWith(logsDirectory)) return undefined
  const slash = relative.lastIndexOf("/")
  const digits = relative.slice(slash + 1)
  const name = relative.slice(logsDirectory.length, slash)
  if (name.length === 0 || digits.length !== offsetDigits || !/^\d+$/.test(digits)) return undefined
  return { name, offset: Number(digits) }
}

const basename = (name: string) => name.slice(name.lastIndexOf("/") + 1)
const dirname = (name: string) => name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : ""

/** A paged id source's journal (`.listed-ids` in a dataset, `.listed-<type>` at a root of several pairs). */
export const isIdJournal = (name: string): boolean => basename(name).startsWith(".listed-")

/** A part's name as the core writer gives it (`part-00003.parquet`): a committed-looking key. */
export const isPartName = (name: string): boolean => /^part-\d{5}\.[^/]+$/.test(name)

const journalPattern = /^\.part-(\d{5})(\.journal|\..+\.tmp)$/

/** What a log is: an id journal, a dataset's errors, the journal of a dataset's part `index`, or none of ours. */
export type LogKind =
  | { readonly kind: "ids" }
  | { readonly kind: "errors"; readonly rel: string }
  | { readonly kind: "journal"; readonly rel: string; readonly index: number }
  | { readonly kind: "unknown" }

export const logKind = (name: string): LogKind => {
  if (isIdJournal(name)) return { kind: "ids" }
  if (name === Dataset.errorsName) return { kind: "errors", rel: "" }
  if (name.endsWith(`/${Dataset.errorsName}`)) {
    return { kind: "errors", rel: name.slice(0, -Dataset.errorsName.length - 1) }
  }
  const match = journalPattern.exec(basename(name))
  if (match !== null) return { kind: "journal", rel: dirname(name), index: Number(match[1]) }
  return { kind: "unknown" }
}
