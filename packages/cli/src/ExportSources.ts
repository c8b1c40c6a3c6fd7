/**
 * Where an export run's ids come from, from its settings: an id file or stdin, a search window (`--since`), the
 * ids of an earlier snapshot plus what changed since (`--ids-from`, `--diff-against`), or every object listed;
 * one source a `--from` type, shared by its pairs.
 */
import { type AssociationRow, Dataset, ErrorRow, IdSource, type ObjectId } from "@assoc-etl/core"
import { type HubSpotClient, type HubSpotError, HubSpotIdSource, type RequestBudget } from "@assoc-etl/hubspot"
import { FileSystem, Path } from "@effect/platform"
import { Effect, identity, Option, Schema } from "effect"
import { InvalidArgument } from "./CliError.js"
import * as JobFile from "./JobFile.js"

/** What an export run is asked to do: the flags, the job file and the defaults, in that order of precedence. */
export interface Settings {
  /** `single`: one pair, `out` its dataset; `root`: `out/<from>-<to>/` a pair (`--pairs`, a job file's `pairs`). */
  readonly layout: "single" | "root"
  readonly pairs: ReadonlyArray<AssociationRow.Pair>
  readonly out: string
  readonly ids: Option.Option<string>
  readonly since: Option.Option<string>
  readonly idsFrom: Option.Option<string>
  readonly diffAgainst: Option.Option<string>
  readonly skipBadLines: boolean
  readonly format: "ndjson" | "parquet"
  readonly gzip: boolean
  /** Given (on the command line or in the job file), or none: snappy. */
  readonly compression: Option.Option<"snappy" | "zstd" | "none">
  readonly partRows: number
  readonly baseUrl: string
  readonly apiVersion: "2026-03" | "2026-09"
  readonly batchSize: number
  readonly concurrency: number
  /** Bytes of answers in flight and pages waiting, for all pairs (`BatchReadOptions.memory`). */
  readonly memory: number
  readonly rateLimit: RequestBudget.Limit
  readonly maxRetries: number
  readonly logFormat: "logfmt" | "json"
}

/**
 * `--since`: an ISO date-time, or the directory of an earlier export of the same objects: with --pairs, the
 * earlier run's root, whose `<from>-<to>` directories of these pairs are read (the earliest start wins, so no
 * pair's window leaves a gap).
 */
const sinceMoment = (value: string, pairs: ReadonlyArray<AssociationRow.Pair>, flag = "--since") =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const isDirectory = (p: string) =>
      fs.stat(p).pipe(Effect.map((info) => info.type === "Directory"), Effect.orElseSucceed(() => false))
    const bad = (detail: string) => new InvalidArgument({ flag, detail })
    if (!(yield* isDirectory(value))) {
      const moment = HubSpotIdSource.parseMoment(value)
      if (moment !== undefined) return moment
      return yield* bad(
        `${JSON.stringify(value)} is neither an ISO date-time (2025-06-30T00:00:00Z) nor the directory of an earlier export`
      )
    }
    const isDataset = yield* fs.exists(path.join(value, Dataset.manifestName)).pipe(Effect.orElseSucceed(() => false))
    let earliest = Number.POSITIVE_INFINITY
    for (const pair of pairs) {
      const directory = isDataset ? value : path.join(value, JobFile.pairDirectory(pair))
      const manifest = yield* Dataset.readManifest(directory).pipe(Effect.mapError((e) => bad(e.message)))
      const moment = yield* HubSpotIdSource.chainedSince(manifest, pair.fromType).pipe(
        Effect.mapError((e) => bad(`${directory}: ${e.message}`))
      )
      earliest = Math.min(earliest, moment)
    }
    return earliest
  })

/** `--ids FILE`: a file that exists, refused (exit 2) before anything is opened or sent. */
export const checkIdFile = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file).pipe(Effect.option)
    if (Option.isNone(info)) return yield* new InvalidArgument({ flag: "--ids", detail: `${file}: no such file` })
    if (info.value.type === "Directory") {
      return yield* new InvalidArgument({ flag: "--ids", detail: `${file} is a directory, not a file of ids` })
    }
  })

/** Where the ids of an earlier snapshot's `--from` objects are kept: its id journal, by its layout. */
const journalOf = (old: string, type: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const candidates = [path.join(old, Dataset.idJournalName), path.join(old, `.listed-${type}`)]
    for (const file of candidates) if (yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false))) return Option.some(file)
    return Option.none<string>()
  })

const decodeError = Schema.decodeUnknownOption(Schema.parseJson(ErrorRow.ErrorRow))

/**
 * The ids of an earlier snapshot (a dataset, or a job's root) of `group`'s `--from` type: those its listing
 * kept, in order, less those HubSpot answered `OBJECT_NOT_FOUND` for (in any of its pairs of that type).
 * Refused when it kept no list of its ids (an export of an id file: chain to a run that listed or chained).
 * `named` gives the location a local copy stands for (a bucket's), which the source's identity records, so that
 * a resume, with another copy, is the same run.
 */
const previousOf = (old: string, group: ReadonlyArray<Target>, flag: string, named: (local: string) => string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const type = group[0]!.pair.fromType
    const journal = yield* journalOf(old, type)
    if (Option.isNone(journal)) {
      return yield* new InvalidArgument({
        flag,
        detail: `${old} keeps no list of its ${type} ids: chain to a run that listed every object (no --ids) or was `
          + "itself chained"
      })
    }
    const isDataset = yield* fs.exists(path.join(old, Dataset.manifestName)).pipe(Effect.orElseSucceed(() => false))
    const errorFiles = isDataset
      ? [path.join(old, Dataset.errorsName)]
      : group.map((t) => path.join(old, JobFile.pairDirectory(t.pair), Dataset.errorsName))
    const manifest = yield* Dataset.readManifest(isDataset ? old : path.join(old, group[0]!.name)).pipe(
      Effect.mapError((e) => new InvalidArgument({ flag, detail: e.message }))
    )
    const ids = Effect.gen(function*() {
      const gone = new Set<string>()
      for (const file of errorFiles) {
        const text = yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
        for (const line of text.split("\n")) {
          const row = decodeError(line)
          if (Option.isSome(row) && row.value.category === "OBJECT_NOT_FOUND" && row.value.object_id !== null) {
            gone.add(row.value.object_id)
          }
        }
      }
      const listed = yield* IdSource.journalIds(journal.value)
      return gone.size === 0 ? listed : listed.filter((id: ObjectId.ObjectId) => !gone.has(id))
    })
    return {
      ids,
      key: `${named(path.resolve(old))} ${manifest.startedAt}`,
      description: `the snapshot in ${named(old)} (started ${manifest.startedAt})`
    } satisfies HubSpotIdSource.Previous
  })

type Source = IdSource.IdSource<
  HubSpotError.HubSpotError | HubSpotIdSource.HubSpotIdSourceError | IdSource.IdSourceError,
  HubSpotClient.HubSpotClient | FileSystem.FileSystem | Path.Path
>

/** One pair of the run: where its dataset goes. */
export interface Target {
  readonly pair: AssociationRow.Pair
  /** `contacts-companies`. */
  readonly name: string
  readonly directory: string
}

/** The ids of `from`'s objects, as the settings say: a file, stdin, a search window, or every object listed. */
const sourceOf = (
  settings: Settings,
  group: ReadonlyArray<Target>,
  journal: string,
  named: (local: string) => string
) =>
  Effect.gen(function*() {
    const from = group[0]!.pair.fromType
    const files = { skipBadLines: settings.skipBadLines }
    if (Option.isSome(settings.since)) {
      return HubSpotIdSource.modifiedSince(from, yield* sinceMoment(settings.since.value, group.map((t) => t.pair)), { journal })
    }
    const chainTo = Option.orElse(settings.idsFrom, () => Option.isNone(settings.ids) ? settings.diffAgainst : Option.none())
    if (Option.isSome(chainTo)) {
      const old = chainTo.value
      const flag = Option.isSome(settings.idsFrom) ? "--ids-from" : "--diff-against"
      const moment = yield* sinceMoment(old, group.map((t) => t.pair), flag)
      return HubSpotIdSource.chained(from, moment, yield* previousOf(old, group, flag, named), { journal })
    }
    if (Option.isNone(settings.ids)) return HubSpotIdSource.list(from, { journal })
    return settings.ids.value === "-" ? IdSource.stdin(files) : IdSource.fromFile(settings.ids.value, files)
  })

/**
 * The id source of each target, in order. One pair: its own source, journaled in its directory. Several: one
 * source a `--from` type, journaled in the root, shared by that type's pairs (`IdSource.share`), so its objects
 * are listed (or searched, or read from stdin) once; opened afresh only when none of its pairs has committed work.
 * `named` gives the location a local directory of the settings stands for (see `previousOf`).
 */
export const sourcesFor = (
  settings: Settings,
  targets: ReadonlyArray<Target>,
  named: (local: string) => string = identity
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (settings.layout === "single") {
      const target = targets[0]!
      return [yield* sourceOf(settings, targets, path.join(target.directory, Dataset.idJournalName), named)] as const
    }
    yield* Dataset.makeDirectories(settings.out)
    const has = (dir: string, name: string) => fs.exists(path.join(dir, name)).pipe(Effect.orElseSucceed(() => false))
    const sources = new Map<Target, Source>()
    const types = [...new Set(targets.map((t) => t.pair.fromType))]
    for (const type of types) {
      const group = targets.filter((t) => t.pair.fromType === type)
      const base: Source = yield* sourceOf(settings, group, path.join(settings.out, `.listed-${type}`), named)
      const done = yield* Effect.forEach(group, (t) => has(t.directory, Dataset.successName))
      // Finished pairs open their source and never read it: no need to list for them.
      if (done.every(identity)) {
        for (const t of group) sources.set(t, base)
        continue
      }
      const resumed = yield* Effect.exists(group, (t) => has(t.directory, Dataset.checkpointName))
      const shares = yield* IdSource.share(base, { consumers: group.length, resumed })
      group.forEach((t, k) => sources.set(t, shares[k]!))
    }
    return targets.map((t) => sources.get(t)!)
  })

