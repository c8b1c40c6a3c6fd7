/**
 * `assoc-etl export`: its flags (each decoded where it enters, with the conventional environment variable as a
 * fallback and the library's default), its help page, and the mapping of the flags to the library's values: an id
 * source, the batch-read stage, a dataset sink, `Export.run`.
 */
import { type AssociationRow, Dataset, Export, type PartEncoder } from "@assoc-etl/core"
import {
  AssociationsApi,
  BatchRead,
  HubSpotClient,
  Labels,
  RequestBudget,
  RetryPolicy
} from "@assoc-etl/hubspot"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import { Command } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, ConfigError, Effect, Layer, Option } from "effect"
import { InvalidArgument, Stopped } from "./CliError.js"
import * as ExportChanges from "./ExportChanges.js"
import * as Flags from "./Flags.js"
import { checkIdFile, type Settings, sourcesFor, type Target } from "./ExportSources.js"
import * as JobFile from "./JobFile.js"
import * as Report from "./Report.js"
import { Shutdown } from "./Shutdown.js"
import * as Storage from "./Storage.js"

export const summary = "Export the associations of --from objects to --to objects (or of several pairs) into dataset directories."

/** A rate limit as `--rate-limit` spells it: `100/10s`. */
const formatLimit = (limit: RequestBudget.Limit): string =>
  `${limit.max}/${limit.windowMillis % 1000 === 0 ? `${limit.windowMillis / 1000}s` : `${limit.windowMillis}ms`}`

// What to export
const from = Flags.requiredUnless(
  Flags.decoded("from", "TYPE", JobFile.HubSpotType),
  "Object type the associations start from: a name (contacts, companies, deals, tickets, ...) or a type id (0-1, "
    + "2-12345). With --to: one pair, --out its dataset directory.",
  "--pairs or --job"
)
const to = Flags.requiredUnless(
  Flags.decoded("to", "TYPE", JobFile.HubSpotType),
  "Object type the associations point to, named as --from.",
  "--pairs or --job"
)
const pairs = Flags.optional(
  Flags.decoded("pairs", "FROM:TO,...", JobFile.PairsText),
  "Several pairs in one run (contacts:companies,deals:contacts): one dataset each at --out/<from>-<to>/, all on one "
    + "request budget, the objects of each --from type listed once for all its pairs. One summary, one exit status "
    + "(the worst), and one rerun resumes them all.",
  "--from and --to"
)
const job = Flags.optional(
  Flags.text("job", "FILE"),
  "A JSON file of these settings, the flags' names in camelCase ({\"pairs\": [\"contacts:companies\"], \"out\": "
    + "\"/data/hubspot\", \"rateLimit\": \"190/10s\"}), for cron lines that would be long. A flag given on the "
    + "command line wins over the file.",
  "none"
)

// Input
const ids = Flags.optional(
  Flags.text("ids", "FILE"),
  "File of object ids, one a line (blank lines and an `id` header skipped), or - for stdin. Stdin is resumable "
    + "only if the same ids are fed again: a rerun with different input is refused. With --pairs, only when every "
    + "pair starts from the same type.",
  "every --from object, listed through the API"
)
const since = Flags.optional(
  Flags.text("since", "DATE|DIR"),
  "Incremental run: only the --from objects whose modification date (lastmodifieddate, hs_lastmodifieddate) moved "
    + "since then, found through HubSpot's search API (5 requests a second). An ISO date or date-time "
    + "(2025-06-30T00:00:00Z; UTC when it names no zone), or the --out of the previous run (a directory or "
    + "s3://bucket/prefix): this run then starts "
    + "where that one's window ended. The window ends 5 minutes before the run starts (HubSpot's search index lags "
    + "writes); the next run chained from this one takes those minutes. What it cannot see: HubSpot does not "
    + "promise that adding, removing or relabelling an association moves an object's modification date, so such "
    + "changes may be missed; an association removed with its object (archived, deleted, merged) never appears in a "
    + "search; and its rows are only the found objects' associations, not a snapshot. Where association changes "
    + "matter, export a full snapshot nightly and use --diff-against (or assoc-etl diff) instead. A resume keeps "
    + "the window. Not with --ids.",
  "none (a full export)"
)
const idsFrom = Flags.optional(
  Flags.text("ids-from", "OLD"),
  "A nightly snapshot without listing every object: the ids of the earlier snapshot OLD (its --out, a directory or "
    + "s3://bucket/prefix; with --pairs, its root), plus the objects modified or created since OLD's window ended, "
    + "found through the search API (one request a 200 changed objects, instead of one a 100 objects listed). Ids OLD "
    + "had that no longer exist come back refused (OBJECT_NOT_FOUND, in _errors/errors.ndjson) and so drop out. "
    + "--diff-against OLD implies it unless --ids is given. Not with --ids or --since.",
  "every --from object, listed"
)
const skipBadLines = Flags.toggle(
  "skip-bad-lines",
  "Write bad id lines to _errors/errors.ndjson and go on, instead of stopping before any request."
)

// Output
const out = Flags.requiredUnless(
  Flags.location("out"),
  "Dataset directory of this export (with --pairs, the root of one per pair): part-NNNNN.ndjson|.parquet (each "
    + "whole), _errors/errors.ndjson (inputs HubSpot refused), _labels/labels.ndjson|.parquet (the pair's labels "
    + "catalogue: every association type defined, used or not), manifest.json, _SUCCESS once complete, and a hidden "
    + "checkpoint. Run the same command again on the same --out to resume after any failure. Or a bucket: "
    + "s3://bucket/prefix (the same files as objects under the prefix, each part uploaded whole, the checkpoint "
    + "after the parts it names, _SUCCESS last; staged in a temporary directory; a rerun on any machine resumes; a "
    + "second run on the prefix while one runs is refused). The AWS SDK's standard chain gives credentials and "
    + "region: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_PROFILE (and the roles "
    + "of EC2, ECS, EKS); AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) an S3-compatible store (MinIO, Ceph, R2), "
    + "addressed path-style.",
  "in --job"
)
const diffAgainst = Flags.optional(
  Flags.text("diff-against", "OLD"),
  "An earlier snapshot of the same pair, a directory or s3://bucket/prefix (with --pairs, the earlier run's root): "
    + "as the export finishes, the rows it holds that OLD does not (op insert) and those OLD holds that it does not "
    + "(op delete) are written to --out/_changes/ as a dataset in this export's format, before _SUCCESS, which covers "
    + "them.",
  "none"
)
const format = Flags.defaulted(
  Flags.choice("format", ["ndjson", "parquet"]),
  "ndjson",
  "Part format. Parquet parts are typed (association_type_id INT32, nullable label), in row groups of 122,880 rows "
    + "with min/max statistics on every column, encoded in a worker thread."
)
const gzip = Flags.toggle("gzip", "Write .ndjson.gz parts; with --format ndjson only (Parquet parts compress inside).")
const compression = Flags.defaulted(
  Flags.choice("compression", ParquetEncoder.compressions),
  "snappy",
  "Codec of the Parquet parts: snappy (read by every tool), zstd (files about half the size, a little more CPU in "
    + "the encoder's worker thread), or none. With --format parquet only."
)
const partRows = Flags.defaulted(
  Flags.integer("part-rows", 1),
  Dataset.defaultPartMaxRows,
  "Rows in a part before the next part starts."
)

// HubSpot
const baseUrl = Flags.defaulted(
  Flags.withEnv(Flags.text("base-url", "URL"), "HUBSPOT_BASE_URL"),
  HubSpotClient.defaultBaseUrl,
  "HubSpot API base URL. Plain http:// only for a loopback host."
)
const apiVersion = Flags.defaulted(
  Flags.choice("api-version", ["2026-03", "2026-09"]),
  "2026-03",
  "Version of HubSpot's associations API (/crm/associations/<version>/...). Both read the same rows; 2026-09 "
    + "reports refused inputs in a 200 instead of a 207. (The older v4 paths are unsupported by HubSpot after "
    + "2027-03-30.)"
)
const token: Flags.Row = {
  term: "HUBSPOT_ACCESS_TOKEN",
  text: "Environment variable: a private app's access token (Settings > Integrations > Private apps in HubSpot) "
    + "with the crm.objects.<type>.read scopes of both types. Never logged or written.",
  facts: "[required]"
}

// Limits
const batchSize = Flags.defaulted(
  Flags.integer("batch-size", 1, AssociationsApi.maxBatchInputs),
  BatchRead.defaultBatchSize,
  `Ids per batch-read request (${AssociationsApi.maxBatchInputs} is HubSpot's maximum). A server that refuses batches `
    + "this large (400 VALIDATION_ERROR) gets smaller ones (the limit its message names, or half) for the rest of the "
    + "run; the summary says so."
)
const concurrency = Flags.defaulted(
  Flags.integer("concurrency", 1, 64),
  BatchRead.defaultConcurrency,
  "Requests in flight at once, for each pair."
)
const memory = Flags.defaulted(
  Flags.decoded("memory", "SIZE", JobFile.MemoryBudget),
  BatchRead.defaultMemory,
  "Bytes the HubSpot answers in flight and the pages waiting to be written may hold at once, for all pairs (256MB, "
    + "1GiB). Requests are admitted while their likely answers fit: full batches when answers are light, smaller "
    + "batches or fewer in flight when they are heavy; the summary says when it bound the run. A budget smaller than "
    + "one answer still finishes, one id a request. The default keeps the process under 400 MB on any portal.",
  "80MiB"
)
const rateLimit = Flags.defaulted(
  Flags.decoded("rate-limit", "N/DURATION", RequestBudget.Limit),
  RequestBudget.defaultLimit,
  "Requests allowed per rolling window (100/10s, 190/10s, 500/1m): your app's HubSpot limit, shared by every pair "
    + "of the run. A safety margin is kept; the answers' X-HubSpot-RateLimit-* headers lower it to the server's "
    + "limit when that is lower, and slow it when another job (or the run before a restart) used the window.",
  formatLimit(RequestBudget.defaultLimit)
)
const maxRetries = Flags.defaulted(
  Flags.integer("max-retries", 0, 100),
  RetryPolicy.defaultMaxRetries,
  "Retries of one request on 429, 5xx, timeouts, dropped connections and answers that are not COMPLETE before the "
    + "run fails."
)

// Logging
const logFormat = Flags.defaulted(
  Flags.choice("log-format", ["logfmt", "json"]),
  "logfmt",
  "Format of the progress lines on stderr when it is not a terminal (a terminal gets one line, redrawn)."
)

const exportFlags = {
  from,
  to,
  pairs,
  job,
  out,
  ids,
  since,
  idsFrom,
  diffAgainst,
  format,
  gzip,
  compression,
  baseUrl,
  apiVersion,
  batchSize,
  concurrency,
  memory,
  rateLimit,
  maxRetries,
  skipBadLines,
  partRows,
  logFormat
}

export const page: Flags.Page = {
  usage: "assoc-etl export (--from TYPE --to TYPE | --pairs FROM:TO,... | --job FILE) --out DIR [flags]",
  about: [
    "Export the associations of --from objects to --to objects into a dataset directory: every association "
    + "exactly once, inside the rate limit. After any failure, run the same command again to resume; a finished "
    + "export exits 0 at once."
  ],
  sections: [
    Flags.section("What to export", [from, to, pairs, job]),
    Flags.section("Input", [ids, since, idsFrom, skipBadLines]),
    Flags.section("Output", [out, diffAgainst, format, gzip, compression, partRows]),
    Flags.section("HubSpot", [baseUrl, apiVersion], [token]),
    Flags.section("Limits", [batchSize, concurrency, memory, rateLimit, maxRetries]),
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
            + "type no portal can have, a missing id file or a bad id line, --gzip with parquet (or --compression with "
            + "ndjson), an empty or missing "
            + "token, an --out that is a file or a non-empty directory holding no export, or an --out holding an "
            + "export (finished or not) of other arguments: another pair, format, id input or portal. In a bucket: "
            + "a URL that is not s3://bucket/prefix, a missing bucket, credentials refused or lacking a permission, "
            + "a prefix another run is writing (its lease), or one that holds objects but no export."
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
      title: "The nightly job: three pairs on one budget, each a snapshot with its changes since last night's:",
      lines: [
        "assoc-etl export --pairs contacts:companies,deals:contacts,deals:companies --format parquet \\",
        "  --out /data/hubspot/$(date +%F) --diff-against /data/hubspot/$(date -d yesterday +%F)",
        "assoc-etl export --job nightly.json --out /data/hubspot/$(date +%F)"
      ]
    },
    {
      title: "The nightly job into a bucket (credentials from the AWS SDK's chain; a rerun anywhere resumes):",
      lines: [
        "AWS_PROFILE=lake assoc-etl export --pairs contacts:companies,deals:companies --format parquet \\",
        "  --out s3://analytics-lake/hubspot/$(date +%F) \\",
        "  --diff-against s3://analytics-lake/hubspot/$(date -d yesterday +%F)"
      ]
    },
    {
      title: "Only the contacts modified since the run before (misses association changes that move no date):",
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

/** The part encoder of `--format` (and `--gzip`, `--compression`). */
export const encoderFor = (
  format: "ndjson" | "parquet",
  gzip: boolean,
  compression: ParquetEncoder.Compression = "snappy"
): PartEncoder.PartEncoder =>
  format === "parquet" ? ParquetEncoder.make({ compression }) : NdjsonEncoder.make({ gzip })

type Values<F> = { readonly [K in keyof F]: F[K] extends Flags.Flag<infer A> ? A : never }

/** `--out` as the flag checks it: a directory, or nothing yet; a bucket's location is read where it is opened. */
const checkOut = (value: string) =>
  Effect.gen(function*() {
    if (Storage.isBucket(value)) return value
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.option(fs.stat(value))
    if (Option.isSome(info) && info.value.type !== "Directory") {
      return yield* new InvalidArgument({ flag: "--out", detail: `${value} exists and is not a directory` })
    }
    return value
  })

/** The settings of a run, from its flags and the job file they name; refused (exit 2) when they do not make one. */
export const resolve = (flags: Values<typeof exportFlags>) =>
  Effect.gen(function*() {
    const file: JobFile.JobFile = Option.isSome(flags.job) ? yield* JobFile.read(flags.job.value) : {}
    const pick = <A>(flag: Option.Option<A>, inFile: A | undefined, fallback: A): A =>
      Option.getOrElse(flag, () => inFile ?? fallback)
    const opt = <A>(flag: Option.Option<A>, inFile: A | undefined): Option.Option<A> =>
      Option.orElse(flag, () => Option.fromNullable(inFile))

    const fromType = opt(flags.from, file.from)
    const toType = opt(flags.to, file.to)
    const listed = Option.orElse(flags.pairs, () => Option.isSome(flags.from) ? Option.none() : Option.fromNullable(file.pairs))
    if (Option.isSome(listed) && (Option.isSome(fromType) || Option.isSome(toType))) {
      return yield* new InvalidArgument({ flag: "--pairs", detail: "give either --pairs or --from and --to, not both" })
    }
    if (Option.isSome(fromType) !== Option.isSome(toType)) {
      const [given, missing] = Option.isSome(fromType) ? ["--from", "--to"] : ["--to", "--from"]
      return yield* new InvalidArgument({ flag: missing, detail: `required with ${given}` })
    }
    const single = Option.isSome(fromType) && Option.isSome(toType)
    const chosen: ReadonlyArray<AssociationRow.Pair> = single
      ? [{ fromType: fromType.value, toType: toType.value }]
      : Option.getOrElse(listed, () => [])
    if (chosen.length === 0) {
      return yield* new InvalidArgument({
        flag: "--from",
        detail: "say what to export: --from TYPE --to TYPE, --pairs FROM:TO,..., or --job FILE"
      })
    }
    const outValue = opt(flags.out, file.out)
    if (Option.isNone(outValue)) return yield* new InvalidArgument({ flag: "--out", detail: "required" })
    return {
      layout: single ? "single" : "root",
      pairs: chosen,
      out: yield* checkOut(outValue.value),
      ids: opt(flags.ids, file.ids),
      since: opt(flags.since, file.since),
      idsFrom: opt(flags.idsFrom, file.idsFrom),
      diffAgainst: opt(flags.diffAgainst, file.diffAgainst),
      skipBadLines: flags.skipBadLines || file.skipBadLines === true,
      format: pick(flags.format, file.format, format.value),
      gzip: flags.gzip || file.gzip === true,
      compression: opt(flags.compression, file.compression),
      partRows: pick(flags.partRows, file.partRows, partRows.value),
      baseUrl: pick(flags.baseUrl, file.baseUrl, baseUrl.value),
      apiVersion: pick(flags.apiVersion, file.apiVersion, apiVersion.value),
      batchSize: pick(flags.batchSize, file.batchSize, batchSize.value),
      concurrency: pick(flags.concurrency, file.concurrency, concurrency.value),
      memory: pick(flags.memory, file.memory, memory.value),
      rateLimit: pick(flags.rateLimit, file.rateLimit, rateLimit.value),
      maxRetries: pick(flags.maxRetries, file.maxRetries, maxRetries.value),
      logFormat: pick(flags.logFormat, file.logFormat, logFormat.value)
    } satisfies Settings
  })

/** The HubSpot client of an export: its token from `HUBSPOT_ACCESS_TOKEN`, over Node's HTTP client. */
export const clientLayer = (options: {
  readonly baseUrl: string
  readonly apiVersion?: "2026-03" | "2026-09"
  readonly rateLimit: RequestBudget.Limit
  readonly maxRetries: number
}) =>
  HubSpotClient.layerConfig({
    baseUrl: Config.succeed(options.baseUrl),
    maxRetries: Config.succeed(options.maxRetries),
    ...(options.apiVersion === undefined ? {} : { apiVersion: Config.succeed(options.apiVersion) })
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

/** Refusals of settings that cannot go together, before anything is opened or sent. */
const check = (settings: Settings) =>
  Effect.gen(function*() {
    if (Option.isSome(settings.since) && Option.isSome(settings.ids)) {
      return yield* new InvalidArgument({
        flag: "--since",
        detail: "it takes the objects modified since then from the API, so it cannot be combined with --ids"
      })
    }
    if (Option.isSome(settings.idsFrom) && (Option.isSome(settings.ids) || Option.isSome(settings.since))) {
      return yield* new InvalidArgument({
        flag: "--ids-from",
        detail: `it takes the ids from ${settings.idsFrom.value} and the API, so it cannot be combined with `
          + (Option.isSome(settings.ids) ? "--ids" : "--since")
      })
    }
    if (Option.isSome(settings.since) && Option.isSome(settings.diffAgainst) && Option.isNone(settings.ids)) {
      return yield* new InvalidArgument({
        flag: "--diff-against",
        detail: "a --since run holds only the objects modified in its window, not a snapshot: a diff against "
          + "another snapshot would count every other row deleted. Diff full snapshots (drop --since)"
      })
    }
    if (Option.isSome(settings.compression) && settings.format !== "parquet") {
      return yield* new InvalidArgument({
        flag: "--compression",
        detail: "only with --format parquet: NDJSON parts are compressed with --gzip"
      })
    }
    if (settings.gzip && settings.format === "parquet") {
      return yield* new InvalidArgument({
        flag: "--gzip",
        detail: "only with --format ndjson: Parquet parts are compressed inside (--compression)"
      })
    }
    const types = [...new Set(settings.pairs.map((p) => p.fromType))]
    if (Option.isSome(settings.ids) && types.length > 1) {
      return yield* new InvalidArgument({
        flag: "--ids",
        detail: `the pairs start from ${types.join(" and ")}, and an id file holds the ids of one type: run one job a `
          + "type, or leave --ids out to list the objects"
      })
    }
    if (Option.isSome(settings.ids) && settings.ids.value !== "-") yield* checkIdFile(settings.ids.value)
  })

/**
 * The settings with `--since`, `--ids-from` and `--diff-against` in a bucket replaced by local copies (each
 * location downloaded once; its parts only for `--diff-against`, which reads them).
 */
const localInputs = (settings: Settings, storage: Storage.Storage) =>
  Effect.gen(function*() {
    const wanted = new Map<string, boolean>()
    const want = (value: Option.Option<string>, parts: boolean) => {
      if (Option.isSome(value) && Storage.isBucket(value.value)) {
        wanted.set(value.value, wanted.get(value.value) === true || parts)
      }
    }
    want(settings.since, false)
    want(settings.idsFrom, false)
    want(settings.diffAgainst, true)
    const copies = new Map<string, string>()
    for (const [location, parts] of wanted) copies.set(location, yield* storage.input(location, { parts }))
    const local = (value: Option.Option<string>) => Option.map(value, (v) => copies.get(v) ?? v)
    return {
      ...settings,
      since: local(settings.since),
      idsFrom: local(settings.idsFrom),
      diffAgainst: local(settings.diffAgainst)
    } satisfies Settings
  })

/**
 * The export(s) of `settings`, their locations in `storage`: the output staged first (a bucket's lease taken, what
 * it holds restored) and the inputs made local, all before any request; then everything on local directories.
 */
const exportAll = (settings: Settings, storage: Storage.Storage) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    // Every bucket URL read first: a bad one is refused before anything is opened.
    const locations = [settings.out, settings.since, settings.idsFrom, settings.diffAgainst].flatMap((v) =>
      typeof v === "string" ? [v] : Option.toArray(v)
    )
    for (const location of locations) yield* storage.check(location)
    const output = yield* storage.output(settings.out, { keepParts: Option.isSome(settings.diffAgainst) })
    const local: Settings = { ...(yield* localInputs(settings, storage)), out: output.directory }
    const relative = (pair: AssociationRow.Pair) => settings.layout === "single" ? "" : JobFile.pairDirectory(pair)
    const targets: ReadonlyArray<Target> = settings.pairs.map((pair) => ({
      pair,
      name: JobFile.pairDirectory(pair),
      directory: relative(pair) === "" ? output.directory : path.join(output.directory, relative(pair))
    }))
    const codec = Option.getOrElse(settings.compression, () => compression.value)
    const encoder = encoderFor(settings.format, settings.gzip, codec)
    const shutdown = yield* Shutdown
    // The portal is asked once for all pairs.
    const origin = yield* Effect.cached(HubSpotClient.origin)
    const sources = yield* sourcesFor(local, targets, storage.named)
    const stage = BatchRead.stage({
      batchSize: settings.batchSize,
      concurrency: settings.concurrency,
      memory: settings.memory
    })
    const olds = yield* ExportChanges.bases(local, targets)
    const outcomes = yield* Report.withProgressAll(targets.map((target, i) =>
      Export.run({
        pair: target.pair,
        source: sources[i]!,
        stage,
        sink: output.sink(relative(target.pair), {
          encoder,
          partMaxRows: settings.partRows,
          beforeSuccess: (directory) =>
            Effect.gen(function*() {
              const labels = yield* Labels.catalogue(target.pair)
              yield* Dataset.writeTable(directory, "labels", labels, encoder)
              const old = olds[i]
              if (old !== undefined) yield* ExportChanges.write(old, directory, storage.named)
            })
        }),
        origin,
        stop: shutdown.requested
      }).pipe(
        Effect.catchTag("ExportError", (e) =>
          new InvalidArgument({
            flag: "--out",
            detail: `${target.directory} holds another export: ${e.detail}. What it committed was kept. To start `
              + "over, remove it or choose another --out"
          }))
      )
    ))
    for (const [i, o] of outcomes.entries()) {
      const old = olds[i]
      if (old !== undefined && o.summary.status !== "stopped") {
        yield* ExportChanges.report(old, targets[i]!.directory, storage.named)
      }
    }
    if (settings.layout === "single") {
      const { progress, summary } = outcomes[0]!
      yield* Report.outcome(summary, progress, { directory: output.location, extension: encoder.extension })
    } else {
      yield* Report.jobOutcome(
        output.location,
        outcomes.map((o, i) => ({ name: targets[i]!.name, ...o })),
        encoder.extension
      )
    }
    if (outcomes.some((o) => o.summary.status === "stopped")) {
      const signal = yield* shutdown.received
      return yield* new Stopped({ signal: Option.getOrElse(signal, () => "SIGINT" as const) })
    }
  })

/**
 * Runs the export(s) the settings describe, with progress and a summary; ends in the run's exit status. What it
 * says names `--out` and the inputs as given, never a temporary directory standing for a bucket's location.
 */
export const run = (settings: Settings) =>
  Effect.gen(function*() {
    yield* check(settings)
    const storage = yield* Storage.make
    return yield* exportAll(settings, storage).pipe(Effect.mapError(storage.namedError))
  }).pipe(Effect.scoped, Effect.provide(clientLayer(settings)))

export const command = Command.make(
  "export",
  Flags.options(exportFlags),
  (flags) =>
    Effect.flatMap(resolve(flags), (settings) => run(settings).pipe(Effect.provide(Report.logger(settings.logFormat))))
).pipe(Command.withDescription(summary))

/**
 * The settings of a job file's values alone, resolved as `export --job FILE` resolves them when no other flag is
 * given (each field as its flag, then the flag's default): a fleet's runner turns each portal's entry into the
 * settings of `run` so.
 */
export const settingsOfJob = (file: JobFile.JobFile) =>
  resolve({
    from: Option.fromNullable(file.from),
    to: Option.fromNullable(file.to),
    pairs: Option.fromNullable(file.pairs),
    job: Option.none(),
    out: Option.fromNullable(file.out),
    ids: Option.fromNullable(file.ids),
    since: Option.fromNullable(file.since),
    idsFrom: Option.fromNullable(file.idsFrom),
    diffAgainst: Option.fromNullable(file.diffAgainst),
    format: Option.fromNullable(file.format),
    gzip: file.gzip === true,
    compression: Option.fromNullable(file.compression),
    baseUrl: Option.fromNullable(file.baseUrl),
    apiVersion: Option.fromNullable(file.apiVersion),
    batchSize: Option.fromNullable(file.batchSize),
    concurrency: Option.fromNullable(file.concurrency),
    memory: Option.fromNullable(file.memory),
    rateLimit: Option.fromNullable(file.rateLimit),
    maxRetries: Option.fromNullable(file.maxRetries),
    skipBadLines: file.skipBadLines === true,
    partRows: Option.fromNullable(file.partRows),
    logFormat: Option.fromNullable(file.logFormat)
  })
