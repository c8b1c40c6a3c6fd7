/**
 * The commands: `export`, `simulate`, `demo`, with `--help` and `--version`
 * from @effect/cli. Each flag that has a conventional environment variable
 * falls back to it.
 */
import { ObjectType } from "@assoc-etl/core"
import { Command, Options } from "@effect/cli"
import { Config, Effect, Option } from "effect"
import * as Demo from "./Demo.js"
import * as Export from "./Export.js"
import * as Report from "./Report.js"
import * as Simulate from "./Simulate.js"
import * as Since from "./Since.js"
import * as Wiring from "./Wiring.js"

export const version = "0.1.0"

const objectType = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withSchema(ObjectType.ObjectType),
    Options.withDescription(description)
  )

const from = objectType("from", "Object type the associations start from: a name (contacts, companies, deals, tickets, ...) or an id (0-1, 2-12345).")
const to = objectType("to", "Object type the associations point to.")
const out = Options.directory("out", { exists: "either" }).pipe(
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
      + "directory of the previous run: "
      + "this run then starts where that one's window ended, so nightly runs chained this way miss nothing. "
      + "The window ends 5 minutes before the run starts, since HubSpot's search index lags writes: the next run "
      + "chained from this one takes those minutes, once indexed, so no object is missed and none is taken twice. "
      + "A resume keeps the window. Not with --ids."
  )
)
const format = Options.choice("format", ["ndjson", "parquet"]).pipe(
  Options.withDefault("ndjson" as const),
  Options.withDescription("Part format. Parquet parts are typed (association_type_id INT32, nullable label), dictionary-encoded, SNAPPY.")
)
const gzip = Options.boolean("gzip").pipe(Options.withDescription("With --format ndjson: write .ndjson.gz parts."))
const baseUrl = Options.text("base-url").pipe(
  Options.withFallbackConfig(Config.string("HUBSPOT_BASE_URL")),
  Options.withDefault("https://api.hubapi.com"),
  Options.withDescription("HubSpot API base URL (env HUBSPOT_BASE_URL). Plain http:// only for a loopback host.")
)
const batchSize = Options.integer("batch-size").pipe(
  Options.withDefault(1000),
  Options.withDescription("Ids per batch-read request, 1 to 1000 (HubSpot's maximum).")
)
const concurrency = Options.integer("concurrency").pipe(
  Options.withDefault(6),
  Options.withDescription("Requests in flight at once.")
)
const rateLimit = Options.text("rate-limit").pipe(
  Options.withDefault("100/10s"),
  Options.withDescription(
    "Requests allowed per rolling window, as N/duration (100/10s, 190/10s): your app's HubSpot limit. "
      + "A safety margin is kept, and the answers' X-HubSpot-RateLimit-Remaining slows it when another job shares the app."
  )
)
const maxRetries = Options.integer("max-retries").pipe(
  Options.withDefault(8),
  Options.withDescription("Retries of one request on 429, 5xx, timeouts and dropped connections before the run fails.")
)
const skipBadLines = Options.boolean("skip-bad-lines").pipe(
  Options.withDescription("Write bad id lines to errors.ndjson and go on, instead of stopping before any request.")
)
const partRows = Options.integer("part-rows").pipe(
  Options.withDefault(1_000_000),
  Options.withDescription("Rows in a part before the next part starts.")
)
const logFormat = Options.choice("log-format", ["logfmt", "json"]).pipe(
  Options.withDefault("logfmt" as const),
  Options.withDescription("Format of the progress lines written when stderr is not a terminal.")
)

const exportCommand = Command.make(
  "export",
  { from, to, out, ids, since, format, gzip, baseUrl, batchSize, concurrency, rateLimit, maxRetries, skipBadLines, partRows, logFormat },
  (flags) =>
    Effect.gen(function*() {
      const limit = yield* Wiring.parseRateLimit(flags.rateLimit)
      if (Option.isSome(flags.since) && Option.isSome(flags.ids)) {
        return yield* new Wiring.InvalidArgument({
          flag: "--since",
          detail: "it takes the objects modified since then from the API, so it cannot be combined with --ids"
        })
      }
      const searchSince = Option.isSome(flags.since) ? Option.some(yield* Since.resolve(flags.since.value, flags.from)) : Option.none()
      const input: Export.Input = Option.isSome(searchSince)
        ? { kind: "search", since: searchSince.value }
        : Option.match(flags.ids, {
          onNone: () => ({ kind: "list" as const }),
          onSome: (path) => path === "-" ? { kind: "stdin" as const, bytes: Wiring.stdin } : { kind: "file" as const, path }
        })
      const summary = yield* Report.withProgress(
        (progress) => Export.run({
          from: flags.from,
          to: flags.to,
          out: flags.out,
          format: flags.format === "parquet" ? "parquet" : flags.gzip ? "ndjson.gz" : "ndjson",
          input,
          skipBadLines: flags.skipBadLines,
          batchSize: flags.batchSize,
          concurrency: flags.concurrency,
          partMaxRows: flags.partRows
        }, progress),
        { logFormat: flags.logFormat, out: flags.out }
      ).pipe(
        Effect.provide(Wiring.clientLayer({ baseUrl: flags.baseUrl, rateLimit: limit, maxRetries: flags.maxRetries }))
      )
      yield* Report.outcome(summary)
    })
).pipe(
  Command.withDescription(
    "Export the associations of --from objects to --to objects into a dataset directory. The token comes from "
      + "HUBSPOT_ACCESS_TOKEN (a private app's access token, Settings > Integrations > Private apps, with the "
      + "crm.objects.<type>.read scopes); it is never logged or written. Exit status: 0 done, 1 failed (rerun to "
      + "resume), 2 bad arguments or input, 3 done but some inputs were refused (see _errors/errors.ndjson)."
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

