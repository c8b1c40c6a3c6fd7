/**
 * `assoc-etl simulate`: the built-in HubSpot simulator as a process, for
 * trying the tool or pointing another client at it.
 */
import { Simulator } from "@assoc-etl/simulator"
import { Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"

export const options = {
  port: Options.integer("port").pipe(Options.withDefault(0), Options.withDescription("Port on 127.0.0.1 (0: a free one).")),
  seed: Options.integer("seed").pipe(Options.withDefault(1), Options.withDescription("Seed of the generated dataset and faults.")),
  objects: Options.integer("objects").pipe(
    Options.withDefault(20_000),
    Options.withDescription("Objects per object type (contacts, companies, deals, tickets).")
  ),
  rateLimit: Options.integer("rate-limit").pipe(
    Options.withDefault(100),
    Options.withDescription("Requests admitted per rolling 10-second window (0: no limit).")
  ),
  latency: Options.integer("latency").pipe(
    Options.withDefault(0),
    Options.withDescription("Added latency in milliseconds, each answer.")
  ),
  faults: Options.float("faults").pipe(
    Options.optional,
    Options.withDescription("Probability of a fault (500/502/503/504, dropped connection, cut-short body), each kind.")
  )
}

export interface SimulateFlags {
  readonly port: number
  readonly seed: number
  readonly objects: number
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
