/**
 * The value of `--since`: an ISO date-time, or the directory of an earlier
 * export, whose manifest says when that run's window ended (`export.input.until`
 * of a search run) or when it started (any other run). Objects modified at or
 * after that moment are taken, so nightly runs chained this way miss nothing.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { InvalidArgument } from "./Wiring.js"

const isoPattern = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

const bad = (detail: string) => new InvalidArgument({ flag: "--since", detail })

/**
 * The moment as a normalised ISO string, when `text` is an ISO date or date-time. One without a zone is UTC,
 * as a date alone is: `Date.parse` would read a date-time without a zone in the machine's zone, so the same
 * cron line would take other objects on another server.
 */
export const parseIso = (text: string): string | undefined => {
  const trimmed = text.trim()
  const match = isoPattern.exec(trimmed)
  if (match === null) return undefined
  const utc = match[1] !== undefined && match[4] === undefined ? `${trimmed.replace(" ", "T")}Z` : trimmed.replace(" ", "T")
  const millis = Date.parse(utc)
  return Number.isNaN(millis) ? undefined : new Date(millis).toISOString()
}

/** The fields of an earlier export's manifest.json that `--since` reads (the rest is ignored). */
const EarlierManifest = Schema.Struct({
  startedAt: Schema.optional(Schema.String),
  export: Schema.optional(Schema.Struct({
    from: Schema.optional(Schema.String),
    input: Schema.optional(Schema.Struct({ kind: Schema.optional(Schema.String), until: Schema.optional(Schema.String) }))
  }))
})
const decodeManifest = Schema.decodeUnknownOption(EarlierManifest)

/** The moment a finished export's manifest says the next incremental run starts from. */
export const fromManifest = (json: unknown): string | undefined =>
  Option.getOrUndefined(Option.flatMap(decodeManifest(json), (manifest) => {
    const input = manifest.export?.input
    const moment = input?.kind === "search" ? input.until : manifest.startedAt
    return Option.fromNullable(moment === undefined ? undefined : parseIso(moment))
  }))

/** The `--from` type of the export a manifest describes, if it says. */
export const fromTypeOf = (json: unknown): string | undefined =>
  Option.getOrUndefined(Option.flatMap(decodeManifest(json), (manifest) => Option.fromNullable(manifest.export?.from)))

/**
 * Resolves `--since` to an ISO date-time; fails with `InvalidArgument` (exit 2) naming what is wrong, as when
 * the earlier export was of other objects than `from` (its window says nothing of these).
 */
export const resolve = (value: string, from: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const isDirectory = yield* fs.stat(value).pipe(
      Effect.map((info) => info.type === "Directory"),
      Effect.orElseSucceed(() => false)
    )
    if (!isDirectory) {
      const iso = parseIso(value)
      if (iso === undefined) {
        return yield* bad(
          `${JSON.stringify(value)} is neither an ISO date-time (2025-06-30T00:00:00Z) nor the directory of an earlier export`
        )
      }
      return iso
    }
    const manifestPath = path.join(value, "manifest.json")
    const text = yield* fs.readFileString(manifestPath).pipe(
      Effect.mapError(() => bad(`${value} holds no manifest.json: it is not the directory of a finished export`))
    )
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return yield* bad(`${manifestPath} is not JSON`)
    }
    const earlierFrom = fromTypeOf(json)
    if (earlierFrom !== undefined && earlierFrom !== from) {
      return yield* bad(`${value} is an export of ${earlierFrom}, not ${from}: chain --since to an earlier run of --from ${from}`)
    }
    const moment = fromManifest(json)
    if (moment === undefined) {
      return yield* bad(`${manifestPath} has neither export.input.until nor startedAt as an ISO date-time`)
    }
    return moment
  })
