/**
 * The commands: `export`, `simulate`, `demo`, with `--help` and `--version`
 * from @effect/cli. Flags are decoded where they enter (a schema each, the
 * conventional environment variable as a fallback), their defaults are the
 * library's, and `export` maps them to the library's values: an id source,
 * the batch-read stage, a dataset sink, `Export.run`.
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
import { Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, ConfigError, Effect, Either, identity, Layer, Option, Schema } from "effect"
import { InvalidArgument, Stopped } from "./CliError.js"
import * as Flags from "./Flags.js"
import * as Demo from "./Demo.js"
import * as Report from "./Report.js"
import { Shutdown } from "./Shutdown.js"
import * as Simulate from "./Simulate.js"

export const version = Dataset.toolVersion

/** An object type HubSpot can have (see `HubSpotObjectType`): "foo" is refused before any request. */
const HubSpotType = Schema.compose(
  Schema.String.pipe(Schema.filter((s) => Either.match(HubSpotObjectType.check(s), { onLeft: identity, onRight: () => true }))),
  ObjectType.ObjectType
)

const objectType = (name: string, description: string) =>
  Options.text(name).pipe(
    Flags.decoded(name, HubSpotType),
    Options.withPseudoName("TYPE"),
    Options.withDescription(description)
  )

const from = objectType(
  "from",
  "Object type the associations start from: a name (contacts, companies, deals, tickets, ...) or an id (0-1, 2-12345)."
)
const to = objectType("to", "Object type the associations point to.")
const out = Flags.directory("out").pipe(
  Options.withDescription(
    "The dataset directory of this export. It will hold part-NNNNN.ndjson|.parquet (each whole), _errors/errors.ndjson "
      + "(inputs HubSpot refused), manifest.json, and _SUCCESS once complete, plus a hidden checkpoint. "
      + "Run the same command again on the same --out to resume after any failure."
  )
)
const ids = Options.text("ids").pipe(
  Options.optional,
  Options.withDescription(
    "File of object ids, one a line (blank lines and an `id` header skipped), or `-` for stdin. Without it, every "
      + "object of the --from type is listed through the API. Stdin is resumable only if the same ids are fed again: "
      + "a rerun with different input is refused."
  )
)
const since = Options.text("since").pipe(
  Options.optional,
  Options.withDescription(
    "Incremental run: only the --from objects modified since then, found through HubSpot's search API (about 5 "
      + "requests a second). An ISO date or date-time (2025-06-30T00:00:00Z; UTC when it names no zone), or the --out "
      + "directory of the previous run: this run then starts where that one's window ended. "
      + "The window ends 5 minutes before the run starts, since HubSpot's search index lags writes: the next run "
      + "chained from this one takes those minutes, once indexed. Only objects whose modification date moved are "
      + "found: HubSpot does not promise that a new or removed association moves it. A resume keeps the window. "
      + "Not with --ids."
  )
)
const format = Flags.choice("format", ["ndjson", "parquet"]).pipe(
  Options.withDefault("ndjson" as const),
  Options.withDescription(
    "Part format. Parquet parts are typed (association_type_id INT32, nullable label), dictionary-encoded, SNAPPY."
  )
)
const gzip = Options.boolean("gzip").pipe(
  Options.withDescription("With --format ndjson: write .ndjson.gz parts (refused with parquet, whose parts are SNAPPY).")
)
const baseUrl = Options.text("base-url").pipe(
  Options.withFallbackConfig(Config.string("HUBSPOT_BASE_URL")),
  Options.withDefault(HubSpotClient.defaultBaseUrl),
  Options.withDescription("HubSpot API base URL (env HUBSPOT_BASE_URL). Plain http:// only for a loopback host.")
)
const batchSize = Flags.integer("batch-size", 1, AssociationsApi.maxBatchInputs).pipe(
  Options.withDefault(BatchRead.defaultBatchSize),
  Options.withDescription(
    `Ids per batch-read request, 1 to ${AssociationsApi.maxBatchInputs} (HubSpot's maximum). A server that refuses `
      + "batches this large (400 VALIDATION_ERROR) gets smaller ones (the limit its message names, or half) for the "
      + "rest of the run; the summary says so."
  )
)
const concurrency = Flags.integer("concurrency", 1, 64).pipe(
  Options.withDefault(BatchRead.defaultConcurrency),
  Options.withDescription("Requests in flight at once, 1 to 64.")
)
const rateLimit = Options.text("rate-limit").pipe(
  Flags.decoded("rate-limit", RequestBudget.Limit),
  Options.withPseudoName("N/DURATION"),
  Options.withDefault(RequestBudget.defaultLimit),
  Options.withDescription(
    "Requests allowed per rolling window, as N/duration (100/10s, 190/10s): your app's HubSpot limit. Default 100/10s. "
      + "A safety margin is kept; the answers' X-HubSpot-RateLimit-* headers lower it to the server's limit when that "
      + "is lower, and slow it when another job (or the run before a restart) used the window."
  )
)
const maxRetries = Flags.integer("max-retries", 0, 100).pipe(
  Options.withDefault(RetryPolicy.defaultMaxRetries),
  Options.withDescription("Retries of one request on 429, 5xx, timeouts and dropped connections before the run fails.")
)
const skipBadLines = Options.boolean("skip-bad-lines").pipe(
  Options.withDescription("Write bad id lines to errors.ndjson and go on, instead of stopping before any request.")
)
const partRows = Flags.integer("part-rows", 1).pipe(
  Options.withDefault(Dataset.defaultPartMaxRows),
  Options.withDescription("Rows in a part before the next part starts.")
)
const logFormat = Flags.choice("log-format", ["logfmt", "json"]).pipe(
  Options.withDefault("logfmt" as const),
  Options.withDescription("Format of the progress lines written when stderr is not a terminal.")
)

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

const exportCommand = Command.make(
  "export",
  {
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
  },
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
).pipe(
  Command.withDescription(
    "Export the associations of --from objects to --to objects into a dataset directory. The token comes from "
      + "HUBSPOT_ACCESS_TOKEN (a private app's access token, Settings > Integrations > Private apps, with the "
      + "crm.objects.<type>.read scopes); it is never logged or written. "
      + "Refused before anything is sent or written (exit 2): a flag out of its range or not of its kind, an object "
      + "type no portal can have, a missing id file or a bad id line, --gzip with parquet, an empty or missing token, "
      + "an --out that is a file or a non-empty directory holding no export, and an --out holding an export (finished "
      + "or not) of other arguments: another pair, format, id input, or portal. "
      + "Exit status: 0 done; 1 failed (nothing committed is lost: rerun the same command to resume); 2 refused as "
      + "above; 3 done, but HubSpot refused some inputs (see _errors/errors.ndjson); 130 stopped by Ctrl-C (SIGINT) "
      + "and 143 by SIGTERM, after committing what was done (rerun to resume; a second signal stops at once, losing "
      + "only what was not committed)."
  )
)

const simulateCommand = Command.make("simulate", Simulate.options, Simulate.run).pipe(
  Command.withDescription("Serve the built-in HubSpot simulator on loopback until Ctrl-C (token: sim-token).")
)

const demoCommand = Command.make("demo", Demo.options, Demo.run).pipe(
  Command.withDescription("Start the simulator and export two object pairs from it, to NDJSON and Parquet. No account needed.")
)

export const command = Command.make("assoc-etl").pipe(
  Command.withDescription("Export HubSpot CRM associations to NDJSON and Parquet, exactly once, resumable."),
  Command.withSubcommands([exportCommand, simulateCommand, demoCommand])
)

export const run = Command.run(command, { name: "assoc-etl", version })
