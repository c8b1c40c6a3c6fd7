/**
 * `assoc-etl diff OLD NEW --out CHANGES`: the changes between two exports of one pair (`Diff.run` of
 * @assoc-etl/diff), its help page, and the mapping of its refusals to exit 2, each naming its argument. OLD and NEW
 * may be in a bucket (`s3://bucket/prefix`, downloaded for the diff, see Storage.ts); the changes are written to a
 * local directory only (a bucket's location as `--out` is refused: a diff has no staging and lease of its own).
 */
import { Diff, DiffError } from "@assoc-etl/diff"
import { Args, Command } from "@effect/cli"
import { Clock, Console, Effect } from "effect"
import * as ByteSize from "./ByteSize.js"
import { InvalidArgument } from "./CliError.js"
import * as Flags from "./Flags.js"
import * as Storage from "./Storage.js"

export const summary = "Write the rows added and removed between two exports of one pair, as a dataset of changes."

/** The least `--memory`: with 64 MiB, DuckDB ran out of memory on 300,000 rows (its JSON reader's buffers take 32). */
export const MemorySize = ByteSize.atLeast(128 * 2 ** 20, "128MiB")

const old = Args.text({ name: "OLD" }).pipe(Args.withDescription("The earlier export's directory or s3:// location."))
const neu = Args.text({ name: "NEW" }).pipe(Args.withDescription("The later export's directory or s3:// location."))

const flags = {
  out: Flags.required(
    Flags.directory("out"),
    "Directory of the changes: part-NNNNN.ndjson|.ndjson.gz|.parquet in NEW's format (the seven columns of an "
      + "export, then op: insert or delete), manifest.json, _SUCCESS once complete. Made if missing; it must be "
      + "empty, or hold a diff of the same exports (finished: reported at once; stopped: done again). A local "
      + "directory: s3:// is refused here (copy the finished changes to a bucket afterwards)."
  ),
  partRows: Flags.withDefault(
    Flags.integer("part-rows", 1),
    Diff.defaultPartMaxRows,
    "Rows in a part before the next part starts."
  ),
  memory: Flags.withDefault(
    Flags.decoded("memory", "SIZE", MemorySize),
    Diff.defaultMemoryLimit,
    "Memory DuckDB may use before it spills to a hidden directory in --out: exports larger than memory are diffed "
      + "all the same, on disk. The process peaks about 200 MB above it (430 MB with the default).",
    "256MiB"
  )
}

const arguments_: ReadonlyArray<Flags.Row> = [
  {
    term: "OLD",
    text: "The earlier export's directory: a finished export (with _SUCCESS). Or its location in a bucket, "
      + "s3://bucket/prefix, downloaded into a temporary directory for the diff (credentials, region and "
      + "AWS_ENDPOINT_URL_S3 as for export --out).",
    facts: "[required]"
  },
  {
    term: "NEW",
    text: "The later export's directory or s3://bucket/prefix: a finished export of the same --from and --to as OLD; "
      + "its format may differ from OLD's, and is the format of the changes.",
    facts: "[required]"
  }
]

export const page: Flags.Page = {
  usage: "assoc-etl diff OLD NEW --out DIR [flags]",
  about: [
    "Write the changes from the export in OLD to the export in NEW as a dataset: every row of NEW not in OLD with "
    + "op insert, every row of OLD not in NEW with op delete, counted as multisets (a row twice in NEW and once in "
    + "OLD is one insert). A changed label is a delete and an insert. The exports may be larger than memory: DuckDB "
    + "spills to disk. Run the same command again after any failure; a finished diff exits 0 at once."
  ],
  sections: [
    { title: "Arguments", rows: arguments_ },
    Flags.section("Output", [flags.out, flags.partRows]),
    Flags.section("Limits", [flags.memory]),
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    Flags.general,
    {
      title: "Exit status",
      rows: [
        { term: "0", text: "Done, or already done." },
        {
          term: "1",
          text: "Failed while reading, downloading or writing (a full disk, a lost connection, say): run the same "
            + "command again."
        },
        {
          term: "2",
          text: "Refused before anything was written: OLD or NEW missing, not an export, not finished, or of "
            + "different pairs; OLD or NEW in a bucket that does not exist or refuses the credentials; an --out that "
            + "is a file, holds other files, holds the diff of other exports, or is in a bucket; a flag out of its "
            + "range."
        }
      ]
    }
  ],
  examples: [
    {
      title: "Yesterday's and today's exports, and the changes between them:",
      lines: [
        "assoc-etl diff ./out/2026-11-28 ./out/2026-11-29 --out ./out/changes-2026-11-29",
        "duckdb -c \"SELECT op, count(*) FROM read_ndjson_auto('./out/changes-2026-11-29/*.ndjson') GROUP BY op\""
      ]
    },
    {
      title: "Two snapshots in a bucket (downloaded for the diff), the changes into a local directory:",
      lines: [
        "assoc-etl diff s3://analytics-lake/hubspot/2026-11-28/contacts-companies \\",
        "  s3://analytics-lake/hubspot/2026-11-29/contacts-companies --out ./changes-2026-11-29"
      ]
    }
  ]
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/** The diff of `args`, OLD and NEW made local first; what it says names them as given. */
const diff = (args: {
  readonly old: string
  readonly new: string
  readonly out: string
  readonly memory: number
  readonly partRows: number
}) =>
  Effect.gen(function*() {
    if (Storage.isBucket(args.out)) {
      return yield* new InvalidArgument({
        flag: "--out",
        detail: `${args.out}: the changes are written to a local directory only; write them to one, then copy it to `
          + "the bucket (aws s3 cp --recursive)"
      })
    }
    const storage = yield* Storage.make
    const started = yield* Clock.currentTimeMillis
    return yield* Effect.gen(function*() {
      yield* storage.check(args.old)
      yield* storage.check(args.new)
      const old = yield* storage.input(args.old, { parts: true })
      const neu = yield* storage.input(args.new, { parts: true })
      const result = yield* Diff.run({
        old,
        new: neu,
        out: args.out,
        memoryLimit: args.memory,
        partMaxRows: args.partRows,
        locations: {
          ...(old === args.old ? {} : { old: args.old }),
          ...(neu === args.new ? {} : { new: args.new })
        }
      }).pipe(
        // Refused arguments are bad input (exit 2), named as the command line spells them; the rest fail (exit 1).
        Effect.mapError((e) =>
          DiffError.isBadInput(e) ? new InvalidArgument({ flag: e.argument, detail: e.explanation }) : e
        )
      )
      const seconds = Math.round(((yield* Clock.currentTimeMillis) - started) / 100) / 10
      const m = result.manifest
      yield* Console.error(
        [
          `diff ${result.status === "done" ? "complete" : "already complete"}: ${result.directory}`,
          `  inserts   ${m.inserts}`,
          `  deletes   ${m.deletes}`,
          `  old       ${m.old.path} (${plural(m.old.rows, "row")}, started ${m.old.startedAt})`,
          `  new       ${m.new.path} (${plural(m.new.rows, "row")}, started ${m.new.startedAt})`,
          `  files     ${result.directory}/part-*${result.extension} (${plural(m.totals.parts, "part")}), `
          + "manifest.json, _SUCCESS",
          `  time      ${seconds}s`
        ].join("\n")
      )
    }).pipe(Effect.mapError(storage.namedError))
  }).pipe(Effect.scoped)

export const command = Command.make(
  "diff",
  { old, new: neu, ...Flags.options(flags) },
  diff
).pipe(Command.withDescription(summary))
