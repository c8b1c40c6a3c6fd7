/**
 * `assoc-etl export`: its flags (each decoded where it enters, with the conventional environment variable as a
 * fallback and the library's default), its help page, and the mapping of the flags to the library's values: an id
 * source, the batch-read stage, a dataset sink, `Export.run`.
 */
import { Dataset, Export, IdSource, ObjectType, type PartEncoder } from "@assoc-etl/core"
import {
  AssociationsApi,
  BatchRead,
  HubSpotClient,
  type HubSpotError,
  HubSpotIdSource,
  HubSpotObjectType,
  RequestBudget,
  RetryPolicy
} from "@assoc-etl/hubspot"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import { Command } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, ConfigError, Effect, Either, identity, Layer, Option, Schema } from "effect"
import { InvalidArgument, Stopped } from "./CliError.js"
import * as Flags from "./Flags.js"
import * as Report from "./Report.js"
import { Shutdown } from "./Shutdown.js"

export const summary = "Export the associations of --from objects to --to objects into a dataset directory."

/** An object type HubSpot can have (see `HubSpotObjectType`): "foo" is refused before any request. */
const HubSpotType = Schema.compose(
  Schema.String.pipe(Schema.filter((s) => Either.match(HubSpotObjectType.check(s), { onLeft: identity, onRight: () => true }))),
  ObjectType.ObjectType
)

/** A rate limit as `--rate-limit` spells it: `100/10s`. */
const formatLimit = (limit: RequestBudget.Limit): string =>
  `${limit.max}/${limit.windowMillis % 1000 === 0 ? `${limit.windowMillis / 1000}s` : `${limit.windowMillis}ms`}`

// Input
const from = Flags.required(
  Flags.decoded("from", "TYPE", HubSpotType),
  "Object type the associations start from: a name (contacts, companies, deals, tickets, ...) or a type id (0-1, "
    + "2-12345)."
)
const to = Flags.required(
  Flags.decoded("to", "TYPE", HubSpotType),
  "Object type the associations point to, named as --from."
)
const ids = Flags.optional(
  Flags.text("ids", "FILE"),
  "File of object ids, one a line (blank lines and an `id` header skipped), or - for stdin. Stdin is resumable "
    + "only if the same ids are fed again: a rerun with different input is refused.",
  "every --from object, listed through the API"
)
const since = Flags.optional(
  Flags.text("since", "DATE|DIR"),
  "Incremental run: only the --from objects modified since then, found through HubSpot's search API (about 5 "
    + "requests a second). An ISO date or date-time (2025-06-30T00:00:00Z; UTC when it names no zone), or the --out "
    + "directory of the previous run: this run then starts where that one's window ended. The window ends 5 minutes "
    + "before the run starts, since HubSpot's search index lags writes: the next run chained from this one takes "
    + "those minutes, once indexed. Only objects whose modification date moved are found: HubSpot does not promise "
    + "that a new or removed association moves it. A resume keeps the window. Not with --ids.",
  "none (a full export)"
)
const skipBadLines = Flags.toggle(
  "skip-bad-lines",
  "Write bad id lines to _errors/errors.ndjson and go on, instead of stopping before any request."
)

// Output
const out = Flags.required(
  Flags.directory("out"),
  "Dataset directory of this export: part-NNNNN.ndjson|.parquet (each whole), _errors/errors.ndjson (inputs HubSpot "
    + "refused), manifest.json, _SUCCESS once complete, and a hidden checkpoint. Run the same command again on the "
    + "same --out to resume after any failure."
)
const format = Flags.withDefault(
  Flags.choice("format", ["ndjson", "parquet"]),
  "ndjson",
  "Part format. Parquet parts are typed (association_type_id INT32, nullable label), dictionary-encoded, SNAPPY."
)
const gzip = Flags.toggle("gzip", "Write .ndjson.gz parts; with --format ndjson only (Parquet parts are SNAPPY).")
const partRows = Flags.withDefault(
  Flags.integer("part-rows", 1),
  Dataset.defaultPartMaxRows,
  "Rows in a part before the next part starts."
)

// HubSpot
const baseUrl = Flags.withDefault(
  Flags.withEnv(Flags.text("base-url", "URL"), "HUBSPOT_BASE_URL"),
  HubSpotClient.defaultBaseUrl,
  "HubSpot API base URL. Plain http:// only for a loopback host."
)
const token: Flags.Row = {
  term: "HUBSPOT_ACCESS_TOKEN",
  text: "Environment variable: a private app's access token (Settings > Integrations > Private apps in HubSpot) "
    + "with the crm.objects.<type>.read scopes of both types. Never logged or written.",
  facts: "[required]"
}

// Limits
const batchSize = Flags.withDefault(
  Flags.integer("batch-size", 1, AssociationsApi.maxBatchInputs),
  BatchRead.defaultBatchSize,
  `Ids per batch-read request (${AssociationsApi.maxBatchInputs} is HubSpot's maximum). A server that refuses batches `
    + "this large (400 VALIDATION_ERROR) gets smaller ones (the limit its message names, or half) for the rest of the "
    + "run; the summary says so."
)
const concurrency = Flags.withDefault(
  Flags.integer("concurrency", 1, 64),
  BatchRead.defaultConcurrency,
  "Requests in flight at once."
)
const rateLimit = Flags.withDefault(
  Flags.decoded("rate-limit", "N/DURATION", RequestBudget.Limit),
  RequestBudget.defaultLimit,
  "Requests allowed per rolling window (100/10s, 190/10s, 500/1m): your app's HubSpot limit. A safety margin is "
    + "kept; the answers' X-HubSpot-RateLimit-* headers lower it to the server's limit when that is lower, and slow "
    + "it when another job (or the run before a restart) used the window.",
  formatLimit(RequestBudget.defaultLimit)
)
const maxRetries = Flags.withDefault(
  Flags.integer("max-retries", 0, 100),
  RetryPolicy.defaultMaxRetries,
  "Retries of one request on 429, 5xx, timeouts, dropped connections and answers that are not COMPLETE before the "
    + "run fails."
)

// Logging
const logFormat = Flags.withDefault(
  Flags.choice("log-format", ["logfmt", "json"]),
  "logfmt",
  "Format of the progress lines on stderr when it is not a terminal (a terminal gets one line, redrawn)."
)

const exportFlags = {
  from,
  to,
  out,
  ids,
  since,
  format,
  gzip,
  baseUrl,
  batchSize,
  concurrency,
  rateLimit,
  maxRetries,
  skipBadLines,
  partRows,
  logFormat
}

export const page: Flags.Page = {
  usage: Flags.usage("assoc-etl export", exportFlags),
  about: [
    "Export the associations of --from objects to --to objects into a dataset directory: every association "
    + "exactly once, inside the rate limit. After any failure, run the same command again to resume; a finished "
    + "export exits 0 at once."
  ],
  sections: [
    Flags.section("Input", [from, to, ids, since, skipBadLines]),
    Flags.section("Output", [out, format, gzip, partRows]),
    Flags.section("HubSpot", [baseUrl], [token]),
    Flags.section("Limits", [batchSize, concurrency, rateLimit, maxRetries]),
    Flags.section("Logging", [logFormat, Flags.builtIn.logLevel]),
    Flags.general,
    {
      title: "Exit status",
      rows: [
        { term: "0", text: "Done." },
        {
          term: "1",
          text: "Failed (server, network, disk): nothing committed is lost; run the same command again to resume."
        },
        {
          term: "2",
          text: "Refused before anything was sent or written: a flag out of its range or not of its kind, an object "
            + "type no portal can have, a missing id file or a bad id line, --gzip with parquet, an empty or missing "
            + "token, an --out that is a file or a non-empty directory holding no export, or an --out holding an "
            + "export (finished or not) of other arguments: another pair, format, id input or portal."
        },
        { term: "3", text: "Done, but HubSpot refused some inputs: see _errors/errors.ndjson." },
        {
          term: "130, 143",
          text: "Stopped by Ctrl-C (SIGINT) or SIGTERM, after committing what was done: rerun to resume. A second "
            + "signal stops at once, losing only what was not committed."
        }
      ]
    }
  ],
  examples: [
    {
      title: "Every contact's companies, to Parquet:",
      lines: [
        "export HUBSPOT_ACCESS_TOKEN=pat-na1-...",
        "assoc-etl export --from contacts --to companies --out ./out/contacts-companies --format parquet"
      ]
    },
    {
      title: "The deals of a file, or of stdin:",
      lines: [
        "assoc-etl export --from deals --to companies --out ./out/deals --ids deal-ids.txt",
        "cut -d, -f1 deals.csv | assoc-etl export --from deals --to companies --out ./out/deals-csv --ids -"
      ]
    },
    {
      title: "Only the contacts modified since the run before:",
      lines: ["assoc-etl export --from contacts --to companies --out ./out/2026-11-29 --since ./out/2026-11-28"]
    },
    {
      title: "Against the built-in simulator, with no account:",
      lines: [
        "assoc-etl simulate --port 8080 &",
        "HUBSPOT_ACCESS_TOKEN=sim-token assoc-etl export --from contacts --to companies --out ./out/sim \\",
        "  --base-url http://127.0.0.1:8080"
      ]
    }
  ]
}

/** The part encoder of `--format` (and `--gzip`). */
export const encoderFor = (format: "ndjson" | "parquet", gzip: boolean): PartEncoder.PartEncoder =>
  format === "parquet" ? ParquetEncoder.make() : NdjsonEncoder.make({ gzip })

/** `--since`: an ISO date-time, or the directory of an earlier export of the same objects. */
const sinceMoment = (value: string, type: ObjectType.ObjectType) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const isDirectory = yield* fs.stat(value).pipe(
      Effect.map((info) => info.type === "Directory"),
      Effect.orElseSucceed(() => false)
    )
    const bad = (detail: string) => new InvalidArgument({ flag: "--since", detail })
    if (!isDirectory) {
      const moment = HubSpotIdSource.parseMoment(value)
      if (moment !== undefined) return moment
      return yield* bad(
        `${JSON.stringify(value)} is neither an ISO date-time (2025-06-30T00:00:00Z) nor the directory of an earlier export`
      )
    }
    const manifest = yield* Dataset.readManifest(value).pipe(Effect.mapError((e) => bad(e.message)))
    return yield* HubSpotIdSource.chainedSince(manifest, type).pipe(Effect.mapError((e) => bad(`${value}: ${e.message}`)))
  })

/** `--ids FILE`: a file that exists, refused (exit 2) before anything is opened or sent. */
const checkIdFile = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file).pipe(Effect.option)
    if (Option.isNone(info)) return yield* new InvalidArgument({ flag: "--ids", detail: `${file}: no such file` })
    if (info.value.type === "Directory") {
      return yield* new InvalidArgument({ flag: "--ids", detail: `${file} is a directory, not a file of ids` })
    }
  })

/** The HubSpot client of an export: its token from `HUBSPOT_ACCESS_TOKEN`, over Node's HTTP client. */
export const clientLayer = (options: {
  readonly baseUrl: string
  readonly rateLimit: RequestBudget.Limit
  readonly maxRetries: number
}) =>
  HubSpotClient.layerConfig({
    baseUrl: Config.succeed(options.baseUrl),
    maxRetries: Config.succeed(options.maxRetries)
  }).pipe(
    Layer.mapError((e) =>
      ConfigError.isConfigError(e)
        ? new InvalidArgument({
          flag: "HUBSPOT_ACCESS_TOKEN",
          detail: `${ConfigError.isMissingDataOnly(e) ? "not set" : "is empty"}: export a private app's access token `
            + "(Settings > Integrations > Private apps in HubSpot) with the crm.objects.<type>.read scopes of the "
            + "types you export"
        })
        : new InvalidArgument({ flag: "--base-url", detail: e.message })
    ),
    Layer.provide(RequestBudget.layer({ limit: options.rateLimit })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

export const command = Command.make(
  "export",
  Flags.options(exportFlags),
  (flags) =>
    Effect.gen(function*() {
      if (Option.isSome(flags.since) && Option.isSome(flags.ids)) {
        return yield* new InvalidArgument({
          flag: "--since",
          detail: "it takes the objects modified since then from the API, so it cannot be combined with --ids"
        })
      }
      if (flags.gzip && flags.format === "parquet") {
        return yield* new InvalidArgument({
          flag: "--gzip",
          detail: "only with --format ndjson: Parquet parts are compressed inside (SNAPPY)"
        })
      }
      if (Option.isSome(flags.ids) && flags.ids.value !== "-") yield* checkIdFile(flags.ids.value)
      const path = yield* Path.Path
      const journal = { journal: path.join(flags.out, Dataset.idJournalName) }
      const files = { skipBadLines: flags.skipBadLines }
      const source: IdSource.IdSource<
        HubSpotError.HubSpotError | HubSpotIdSource.HubSpotIdSourceError | IdSource.IdSourceError,
        HubSpotClient.HubSpotClient | FileSystem.FileSystem | Path.Path
      > = Option.isSome(flags.since)
        ? HubSpotIdSource.modifiedSince(flags.from, yield* sinceMoment(flags.since.value, flags.from), journal)
        : Option.isNone(flags.ids)
        ? HubSpotIdSource.list(flags.from, journal)
        : flags.ids.value === "-"
        ? IdSource.stdin(files)
        : IdSource.fromFile(flags.ids.value, files)
      const encoder = encoderFor(flags.format, flags.gzip)
      const shutdown = yield* Shutdown
      const { progress, summary } = yield* Report.withProgress(
        Export.run({
          pair: { fromType: flags.from, toType: flags.to },
          source,
          stage: BatchRead.stage({ batchSize: flags.batchSize, concurrency: flags.concurrency }),
          sink: Dataset.sink({ directory: flags.out, encoder, partMaxRows: flags.partRows }),
          origin: HubSpotClient.origin,
          stop: shutdown.requested
        })
      ).pipe(
        Effect.catchTag("ExportError", (e) =>
          new InvalidArgument({
            flag: "--out",
            detail: `${flags.out} holds another export: ${e.detail}. What it committed was kept. To start over, remove `
              + "it or choose another --out"
          })),
        Effect.provide(clientLayer(flags))
      )
      yield* Report.outcome(summary, progress, { directory: flags.out, extension: encoder.extension })
      if (summary.status === "stopped") {
        const signal = yield* shutdown.received
        return yield* new Stopped({ signal: Option.getOrElse(signal, () => "SIGINT" as const) })
      }
    }).pipe(Effect.provide(Report.logger(flags.logFormat)))
).pipe(Command.withDescription(summary))
