/**
 * `assoc-etl simulate`: the built-in HubSpot simulator as a process, for
 * trying the tool or pointing another client at it.
 */
import { Simulator } from "@assoc-etl/simulator"
import { Console, Effect, Option } from "effect"
import { Command } from "@effect/cli"
import * as Flags from "./Flags.js"

export const flags = {
  port: Flags.withDefault(Flags.integer("port", 0, 65535), 0, "Port on 127.0.0.1; 0 takes a free one."),
  seed: Flags.withDefault(Flags.integer("seed", 0), 1, "Seed of the generated portal and of its faults."),
  objects: Flags.withDefault(
    Flags.integer("objects", 0),
    20_000,
    "Objects of each type: contacts, companies, deals, tickets."
  ),
  shape: Flags.withDefault(
    Flags.choice("shape", ["typical", "heavyTail", "heavy"]),
    "typical" as const,
    "Associations an object has: typical (most 1-5, about 0.5% over 1000), heavyTail (2% of objects with 1000 to "
      + "3000) or heavy (every object 480 to 600, as a big B2B account's companies have contacts: answers of tens "
      + "of MB, for trying `export --memory`)."
  ),
  rateLimit: Flags.withDefault(
    Flags.integer("rate-limit", 0),
    100,
    "Requests admitted per rolling 10-second window; 0: no limit."
  ),
  latency: Flags.withDefault(Flags.integer("latency", 0), 0, "Milliseconds added to each answer."),
  faults: Flags.optional(
    Flags.number("faults", 0, 1),
    "Probability that a request fails, split evenly among six faults: 500, 502, 503, 504, a dropped connection, a "
      + "cut-short body.",
    "no faults"
  )
}

export interface SimulateFlags {
  readonly port: number
  readonly seed: number
  readonly objects: number
  readonly shape: "typical" | "heavyTail" | "heavy"
  readonly rateLimit: number
  readonly latency: number
  readonly faults: Option.Option<number>
}

export const simulatorOptions = (flags: SimulateFlags): Simulator.SimulatorOptions => {
  const p = Option.getOrElse(flags.faults, () => 0) / 6
  return {
    port: flags.port,
    seed: flags.seed,
    objects: flags.objects,
    shape: flags.shape,
    rateLimit: { max: flags.rateLimit, windowMillis: 10_000, daily: 0 },
    latencyMillis: [flags.latency, flags.latency],
    faults: { status500: p, status502: p, status503: p, status504: p, drop: p, truncate: p }
  }
}

export const run = (flags: SimulateFlags) =>
  Effect.scoped(Effect.gen(function*() {
    const sim = yield* Simulator.make(simulatorOptions(flags))
    yield* Console.log(sim.baseUrl)
    yield* Console.error(
      `simulator serving ${flags.objects} objects a type at ${sim.baseUrl} (token: sim-token); Ctrl-C stops it.\n`
        + `try: HUBSPOT_ACCESS_TOKEN=sim-token pnpm assoc-etl export --from contacts --to companies --out ./out/cc --base-url ${sim.baseUrl}`
    )
    return yield* Effect.never
  }))

export const summary = "Serve the built-in HubSpot simulator on loopback until Ctrl-C (token: sim-token)."

export const page: Flags.Page = {
  usage: Flags.usage("assoc-etl simulate", flags),
  about: [
    "Serve the built-in HubSpot simulator on 127.0.0.1 until Ctrl-C: a seeded portal of contacts, companies, deals "
    + "and tickets with their associations, behind HubSpot's associations, listing and search APIs, with its "
    + "paging and rate limits, and faults if asked. It prints its base URL on stdout; its token is sim-token."
  ],
  sections: [
    Flags.section("Portal", [flags.objects, flags.shape, flags.seed]),
    Flags.section("Server", [flags.port, flags.rateLimit, flags.latency, flags.faults]),
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    Flags.general
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

export const command = Command.make("simulate", Flags.options(flags), run).pipe(Command.withDescription(summary))
