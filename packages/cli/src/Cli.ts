/**
 * The command line: `export`, `diff`, `fleet`, `simulate`, `demo` (a module each), parsed by @effect/cli, with
 * `--version` from it and a `--help` page of each command's own (Flags.ts), found wherever `--help` stands on the
 * line.
 */
import { Dataset } from "@assoc-etl/core"
import { Command } from "@effect/cli"
import { Terminal } from "@effect/platform"
import { Console, Effect, Option } from "effect"
import * as Demo from "./Demo.js"
import * as DiffCommand from "./DiffCommand.js"
import * as ExportCommand from "./ExportCommand.js"
import * as Flags from "./Flags.js"
import * as FleetCommand from "./FleetCommand.js"
import * as Simulate from "./Simulate.js"

export const version = Dataset.toolVersion

/** What each command does, in a line: the root's help lists them, shell completions show them. */
const summaryOf = {
  root: "Export HubSpot CRM associations to NDJSON and Parquet, exactly once, resumable.",
  export: ExportCommand.summary,
  diff: DiffCommand.summary,
  fleet: FleetCommand.summary,
  simulate: Simulate.summary,
  demo: Demo.summary
}

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
        { term: "diff", text: summaryOf.diff },
        { term: "fleet", text: summaryOf.fleet },
        { term: "simulate", text: summaryOf.simulate },
        { term: "demo", text: summaryOf.demo }
      ]
    },
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    Flags.general
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
  Command.withSubcommands([
    ExportCommand.command,
    DiffCommand.command,
    FleetCommand.command,
    Simulate.command,
    Demo.command
  ])
)

const pages: Record<string, Flags.Page> = {
  export: ExportCommand.page,
  diff: DiffCommand.page,
  simulate: Simulate.page,
  demo: Demo.page,
  // `fleet`, and its commands under two words: `fleet worker`
  ...FleetCommand.pages
}

/**
 * The page that `--help` or `-h` asks for, wherever it is on the line, as a Unix tool reads it: that of the first
 * argument naming a command (how @effect/cli finds the subcommand), with the next when both name one (`fleet
 * worker`), else the root's. @effect/cli 0.77.2 sees its
 * `--help` only right after the command's name: `export --from contacts --help` was refused for the missing
 * `--to`, `simulate --port 1 --help` as an unknown argument, and with its `finalCheckBuiltIn` set, `simulate --help`
 * gave export's help. Every other flag is @effect/cli's to parse.
 */
const helpPage = (args: ReadonlyArray<string>): Option.Option<Flags.Page> => {
  if (!args.includes("--help") && !args.includes("-h")) return Option.none()
  const at = args.findIndex((arg) => Object.hasOwn(pages, arg))
  const sub = `${args[at]} ${args[at + 1]}`
  return Option.some(at < 0 ? rootPage : pages[Object.hasOwn(pages, sub) ? sub : args[at]!]!)
}

const app = Command.run(command, { name: "assoc-etl", version })

/** Runs the command line `argv` (`process.argv`: the runtime and the script first). */
export const run = (argv: ReadonlyArray<string>) =>
  Option.match(helpPage(argv.slice(2)), { onNone: () => app(argv), onSome: printPage })
