/**
 * `assoc-etl diff OLD NEW --out CHANGES`: the changes between two exports of one pair (`Diff.run` of
 * @assoc-etl/diff), its help page, and the mapping of its refusals to exit 2, each naming its argument.
 */
import { Diff, DiffError } from "@assoc-etl/diff"
import { Args, Command } from "@effect/cli"
import { Clock, Console, Effect } from "effect"
import * as ByteSize from "./ByteSize.js"
import { InvalidArgument } from "./CliError.js"
import * as Flags from "./Flags.js"

export const summary = "Write the rows added and removed between two exports of one pair, as a dataset of changes."

/** The least `--memory`: with 64 MiB, DuckDB ran out of memory on 300,000 rows (its JSON reader's buffers take 32). */
export const MemorySize = ByteSize.atLeast(128 * 2 ** 20, "128MiB")

const old = Args.text({ name: "OLD" }).pipe(Args.withDescription("The earlier export's directory."))
const neu = Args.text({ name: "NEW" }).pipe(Args.withDescription("The later export's directory."))

const flags = {
  out: Flags.required(
    Flags.directory("out"),
    "Directory of the changes: part-NNNNN.ndjson|.ndjson.gz|.parquet in NEW's format (the seven columns of an "
      + "export, then op: insert or delete), manifest.json, _SUCCESS once complete. Made if missing; it must be "
      + "empty, or hold a diff of the same exports (finished: reported at once; stopped: done again)."
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
  { term: "OLD", text: "The earlier export's directory: a finished export (with _SUCCESS).", facts: "[required]" },
  {
    term: "NEW",
    text: "The later export's directory: a finished export of the same --from and --to as OLD; its format may "
      + "differ from OLD's, and is the format of the changes.",
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
        { term: "1", text: "Failed while reading or writing (a full disk, say): run the same command again." },
        {
          term: "2",
          text: "Refused before anything was written: OLD or NEW missing, not an export, not finished, or of "
            + "different pairs; an --out that is a file, holds other files, or holds the diff of other exports; a "
            + "flag out of its range."
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
    }
  ]
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

export const command = Command.make(
  "diff",
  { old, new: neu, ...Flags.options(flags) },
  (args) =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const result = yield* Diff.run({
        old: args.old,
        new: args.new,
        out: args.out,
        memoryLimit: args.memory,
        partMaxRows: args.partRows
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
    })
).pipe(Command.withDescription(summary))
