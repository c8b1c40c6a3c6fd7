/**
 * The commands: `export`, `simulate`, `demo`, parsed by @effect/cli, with `--version` from it and a `--help` page
 * of each command's own (Flags.ts). Flags are decoded where they enter (a schema each, the conventional
 * environment variable as a fallback), their defaults are the library's, and `export` maps them to the library's
 * values: an id source, the batch-read stage, a dataset sink, `Export.run`.
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
import { FileSystem, Path, Terminal } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, ConfigError, Console, Effect, Either, identity, Layer, Option, Schema } from "effect"
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

const general = Flags.section("General", [
  Flags.builtIn.help,
  Flags.builtIn.version,
  Flags.builtIn.completions,
  Flags.builtIn.wizard
])

const exportPage: Flags.Page = {
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
    general,
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

/** What each command does, in a line: the root's help lists them, shell completions show them. */
const summaryOf = {
  root: "Export HubSpot CRM associations to NDJSON and Parquet, exactly once, resumable.",
  export: "Export the associations of --from objects to --to objects into a dataset directory.",
  simulate: "Serve the built-in HubSpot simulator on loopback until Ctrl-C (token: sim-token).",
  demo: "Start the simulator and export two object pairs from it, to NDJSON and Parquet. No account needed."
}

const exportCommand = Command.make(
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
).pipe(Command.withDescription(summaryOf.export))

const simulateFlags = Simulate.flags
const simulatePage: Flags.Page = {
  usage: Flags.usage("assoc-etl simulate", simulateFlags),
  about: [
    "Serve the built-in HubSpot simulator on 127.0.0.1 until Ctrl-C: a seeded portal of contacts, companies, deals "
    + "and tickets with their associations, behind HubSpot's associations, listing and search APIs, with its "
    + "paging and rate limits, and faults if asked. It prints its base URL on stdout; its token is sim-token."
  ],
  sections: [
    Flags.section("Portal", [simulateFlags.objects, simulateFlags.seed]),
    Flags.section("Server", [simulateFlags.port, simulateFlags.rateLimit, simulateFlags.latency, simulateFlags.faults]),
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    general
  ],
  examples: [
    {
      title: "A simulator on port 8080 where one request in 20 fails, and an export from it:",
      lines: [
        "assoc-etl simulate --port 8080 --faults 0.05 &",
        "HUBSPOT_ACCESS_TOKEN=sim-token assoc-etl export --from contacts --to companies --out ./out/sim \\",
        "  --base-url http://127.0.0.1:8080"
      ]
    }
  ]
}

const simulateCommand = Command.make("simulate", Flags.options(simulateFlags), Simulate.run).pipe(
  Command.withDescription(summaryOf.simulate)
)

const demoFlags = Demo.flags
const demoPage: Flags.Page = {
  usage: Flags.usage("assoc-etl demo", demoFlags),
  about: [
    "Start the built-in simulator on a free loopback port (HubSpot's limit of 100 requests per 10 s, 20-80 ms "
    + "latency, about 4% of requests failing), export contacts -> companies to NDJSON and deals -> companies to "
    + "Parquet from it, and read the first rows back. No HubSpot account needed."
  ],
  sections: [
    Flags.section("Demo", [demoFlags.out, demoFlags.objects, demoFlags.seed]),
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    general
  ],
  examples: [
    { title: "The demo, without installing anything:", lines: ["npx @assoc-etl/cli demo"] },
    { title: "A smaller portal, elsewhere:", lines: ["assoc-etl demo --objects 2000 --out /tmp/assoc-etl-demo"] }
  ]
}

const demoCommand = Command.make("demo", Flags.options(demoFlags), Demo.run).pipe(
  Command.withDescription(summaryOf.demo)
)

const rootPage: Flags.Page = {
  usage: "assoc-etl <command> [flags]",
  about: [
    "Export HubSpot CRM associations (which contact belongs to which company, which deal to which ticket) into "
    + "NDJSON and Parquet dataset directories: every association exactly once, inside HubSpot's rate limits, "
    + "resumable after any failure. `assoc-etl <command> --help` tells a command's flags."
  ],
  sections: [
    {
      title: "Commands",
      rows: [
        { term: "export", text: summaryOf.export },
        { term: "simulate", text: summaryOf.simulate },
        { term: "demo", text: summaryOf.demo }
      ]
    },
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    general
  ],
  examples: [
    { title: "Try it against the built-in simulator:", lines: ["npx @assoc-etl/cli demo"] },
    { title: "The flags of an export:", lines: ["assoc-etl export --help"] }
  ]
}

/** Prints a help page, wrapped to the terminal (at most 100 columns), or at 100 columns when not a terminal. */
const printPage = (page: Flags.Page) =>
  Effect.gen(function*() {
    const terminal = yield* Terminal.Terminal
    const columns = (yield* terminal.isTTY) ? yield* terminal.columns : 0
    yield* Console.log(Flags.render(page, columns > 0 ? Math.min(columns, 100) : 100))
  })

export const command = Command.make("assoc-etl", {}, () => printPage(rootPage)).pipe(
  Command.withDescription(summaryOf.root),
  Command.withSubcommands([exportCommand, simulateCommand, demoCommand])
)

const pages: Record<string, Flags.Page> = { export: exportPage, simulate: simulatePage, demo: demoPage }

/**
 * The page that `--help` or `-h` asks for, wherever it is on the line, as a Unix tool reads it: that of the first
 * argument naming a command (how @effect/cli finds the subcommand), else the root's. @effect/cli 0.77.2 sees its
 * `--help` only right after the command's name: `export --from contacts --help` was refused for the missing
 * `--to`, `simulate --port 1 --help` as an unknown argument, and with its `finalCheckBuiltIn` set, `simulate --help`
 * gave export's help. Every other flag is @effect/cli's to parse.
 */
const helpPage = (args: ReadonlyArray<string>): Option.Option<Flags.Page> => {
  if (!args.includes("--help") && !args.includes("-h")) return Option.none()
  const named = args.find((arg) => Object.hasOwn(pages, arg))
  return Option.some(named === undefined ? rootPage : pages[named]!)
}

const app = Command.run(command, { name: "assoc-etl", version })

/** Runs the command line `argv` (`process.argv`: the runtime and the script first). */
export const run = (argv: ReadonlyArray<string>) =>
  Option.match(helpPage(argv.slice(2)), { onNone: () => app(argv), onSome: printPage })
