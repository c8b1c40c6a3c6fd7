/**
 * `assoc-etl demo`: the simulator on a free loopback port and two exports
 * from it, one to NDJSON and one to Parquet, read back at the end. No
 * HubSpot account needed; the first thing a newcomer runs.
 */
import { Dataset, Export, ObjectType } from "@assoc-etl/core"
import { BatchRead, HubSpotIdSource, RequestBudget } from "@assoc-etl/hubspot"
import { Simulator } from "@assoc-etl/simulator"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder, ParquetReader } from "@assoc-etl/sink-parquet"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect } from "effect"
import { Command } from "@effect/cli"
import * as Flags from "./Flags.js"
import * as Report from "./Report.js"

export const flags = {
  out: Flags.withDefault(
    Flags.directory("out"),
    "demo-out",
    "Where the demo writes its two dataset directories (replaced on each run)."
  ),
  objects: Flags.withDefault(Flags.integer("objects", 0), 20_000, "Objects per object type in the simulated portal."),
  seed: Flags.withDefault(Flags.integer("seed", 0), 7, "Seed of the simulated portal.")
}

const pairs = [
  { from: "contacts", to: "companies", format: "ndjson" },
  { from: "deals", to: "companies", format: "parquet" }
] as const

export const run = (flags: { readonly out: string; readonly objects: number; readonly seed: number }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const sim = yield* Simulator.Simulator
    const rate = RequestBudget.defaultLimit
    yield* Console.error(
      `simulator: ${flags.objects} objects per type at ${sim.baseUrl}, HubSpot's limit of 100 requests per 10 s, `
        + "20-80 ms latency, about 4% of requests failing (5xx, dropped connections, cut-short bodies)\n"
    )
    // One client, so one request budget, for both exports: together they stay inside the app's limit.
    yield* Effect.forEach(pairs, (pair) =>
      Effect.gen(function*() {
        const out = path.resolve(flags.out, `${pair.from}-${pair.to}`)
        const from = ObjectType.unsafeMake(pair.from)
        const encoder = pair.format === "parquet" ? ParquetEncoder.make() : NdjsonEncoder.make()
        yield* fs.remove(out, { recursive: true, force: true })
        yield* Console.error(`export ${pair.from} → ${pair.to} as ${pair.format}, every ${pair.from} listed through the API`)
        const { progress, summary } = yield* Report.withProgress(
          Export.run({
            pair: { fromType: from, toType: ObjectType.unsafeMake(pair.to) },
            source: HubSpotIdSource.list(from, { journal: path.join(out, Dataset.idJournalName) }),
            stage: BatchRead.stage(),
            sink: Dataset.sink({ directory: out, encoder })
          })
        )
        yield* Report.outcome(summary, progress, { directory: out, extension: encoder.extension })
        const first = path.join(out, `part-00000${encoder.extension}`)
        const peek = pair.format === "parquet"
          ? (yield* ParquetReader.readRows(first, { limit: 3 })).map((r) => JSON.stringify(r))
          : (yield* fs.readFileString(first)).split("\n").slice(0, 3)
        yield* Console.log(`\nfirst rows of ${path.relative(process.cwd(), first)}, read back:\n${peek.join("\n")}\n`)
      }), { discard: true })
    const counters = yield* sim.counters
    yield* Console.error(
      `the simulator answered ${counters.requests} requests (${counters.status429} over the limit); `
        + `highest in one 10 s window: ${counters.maxInWindow} of ${rate.max}.\n`
        + `query the results with any reader, e.g. duckdb: SELECT count(*) FROM read_parquet('${flags.out}/deals-companies/*.parquet')`
    )
  }).pipe(
    Effect.provide(Simulator.layerTest({
      seed: flags.seed,
      objects: flags.objects,
      rateLimit: { ...RequestBudget.defaultLimit, daily: 0 },
      latencyMillis: [20, 80],
      faults: { status500: 0.01, status502: 0.01, status503: 0.01, drop: 0.005, truncate: 0.005 }
    }, {})), // the command line's client: HubSpot's smallest limit, the library's retries
    Effect.provide(Report.logger("logfmt"))
  )

export const summary = "Start the simulator and export two object pairs from it, to NDJSON and Parquet. No account needed."

export const page: Flags.Page = {
  usage: Flags.usage("assoc-etl demo", flags),
  about: [
    "Start the built-in simulator on a free loopback port (HubSpot's limit of 100 requests per 10 s, 20-80 ms "
    + "latency, about 4% of requests failing), export contacts -> companies to NDJSON and deals -> companies to "
    + "Parquet from it, and read the first rows back. No HubSpot account needed."
  ],
  sections: [
    Flags.section("Demo", [flags.out, flags.objects, flags.seed]),
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    Flags.general
  ],
  examples: [
    { title: "The demo, without installing anything:", lines: ["npx @assoc-etl/cli demo"] },
    { title: "A smaller portal, elsewhere:", lines: ["assoc-etl demo --objects 2000 --out /tmp/assoc-etl-demo"] }
  ]
}

export const command = Command.make("demo", Flags.options(flags), run).pipe(Command.withDescription(summary))
