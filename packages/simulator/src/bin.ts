#!/usr/bin/env node
/**
 * Starts the simulator as a process:
 *
 *   node packages/simulator/dist/bin.js [--port N] [--seed N] [--objects N] [--page-size N] [--max-inputs N]
 *                                       [--token T] [--rate-limit MAX/WINDOW_MS | off] [--latency MIN-MAX]
 *                                       [--faults JSON] [--incomplete P | JSON] [--shape typical | heavyTail | heavy]
 *                                       [--portal-id N] [--no-associations-found]
 *                                       [--numeric-to-object-id] [--object-type-ids] [--work-category]
 *                                       [--dataset-version 0 | 1] [--changed-at MILLIS | ISO]
 *
 * Each flag is the `SimulatorOptions` field of its name (defaults there). `--rate-limit 100/10000` is 100 requests
 * a rolling 10 s, with a daily cap of 250,000; `off` turns both off. `--latency 100-300` adds a uniform 100-300 ms
 * to every answer (`latencyMillis`). The switches take no value: `--no-associations-found` is
 * `noAssociationsFound: true`, and the spec's variants `--numeric-to-object-id`, `--object-type-ids` and
 * `--work-category` are `numericToObjectId`, `objectTypeIds` and `workCategory`. Version 2026-09 needs no flag:
 * it is served on its own paths.
 * `--incomplete 0.2` answers 20 % of batch reads `PENDING`, `PROCESSING` or `CANCELED` with cut results;
 * `--incomplete '{"probability":1,"statuses":["CANCELED"]}'` every one `CANCELED` (`incomplete`).
 * `--dataset-version 1` serves version 1 of the portal's data (`version`; not `--version`, which names a program's
 * own), its changes dated in the hour before `--changed-at` (epoch millis or an ISO time; default: the start).
 * Prints its base URL on stdout (one line) and serves until SIGINT/SIGTERM (exit 0). Bad arguments: exit 2.
 * Its counters are read and reset over HTTP: `GET /__sim/counters`, `POST /__sim/counters/reset` (see
 * Simulator.ts).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Data, Effect, Exit, Schema } from "effect"
import type { SimulatorOptions } from "./Simulator.js"
import * as Simulator from "./Simulator.js"

class ArgumentError extends Data.TaggedError("ArgumentError")<{
  readonly reason: "Unknown" | "Missing" | "Invalid"
  readonly flag: string
  readonly detail: string
}> {
  override get message() {
    return `${this.flag}: ${this.detail}`
  }
}

const Count = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())
const Positive = Schema.NumberFromString.pipe(Schema.int(), Schema.positive())
const RateLimit = Schema.Union(
  Schema.Literal("off"),
  Schema.TemplateLiteralParser(Count, "/", Count)
)
const Latency = Schema.TemplateLiteralParser(Count, "-", Count).pipe(
  Schema.filter(([min, , max]) => min <= max || "MIN-MAX with MIN <= MAX")
)
const Shape = Schema.Literal("typical", "heavyTail", "heavy")
const DatasetVersion = Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, 1))
const Instant = Schema.Union(
  Count,
  Schema.DateFromString.pipe(
    Schema.validDate(),
    Schema.transform(Schema.Number, { strict: true, decode: (d) => d.getTime(), encode: (n) => new Date(n) })
  )
)
const Probability = Schema.Number.pipe(Schema.between(0, 1))
const Faults = Schema.parseJson(Schema.Struct({
  status500: Schema.optionalWith(Probability, { exact: true }),
  status502: Schema.optionalWith(Probability, { exact: true }),
  status503: Schema.optionalWith(Probability, { exact: true }),
  status504: Schema.optionalWith(Probability, { exact: true }),
  drop: Schema.optionalWith(Probability, { exact: true }),
  truncate: Schema.optionalWith(Probability, { exact: true }),
  slow: Schema.optionalWith(Schema.Struct({ probability: Probability, millis: Count.pipe(Schema.typeSchema) }), {
    exact: true
  })
}))

const IncompleteStatus = Schema.Literal("PENDING", "PROCESSING", "CANCELED")
const Incomplete = Schema.parseJson(Schema.Union(
  Probability.pipe(Schema.transform(Schema.Struct({ probability: Probability }), {
    strict: true,
    decode: (probability) => ({ probability }),
    encode: (incomplete) => incomplete.probability
  })),
  Schema.Struct({
    probability: Probability,
    statuses: Schema.optionalWith(Schema.NonEmptyArray(IncompleteStatus), { exact: true })
  })
))

/** The flags that take no value, and the option each turns on. */
const switches: ReadonlyMap<string, "noAssociationsFound" | "numericToObjectId" | "objectTypeIds" | "workCategory"> =
  new Map([
    ["--no-associations-found", "noAssociationsFound"],
    ["--numeric-to-object-id", "numericToObjectId"],
    ["--object-type-ids", "objectTypeIds"],
    ["--work-category", "workCategory"]
  ])

const decodeFlag = <A, I>(schema: Schema.Schema<A, I>, flag: string, value: string) =>
  Schema.decodeUnknown(schema)(value).pipe(
    Effect.mapError((e) => new ArgumentError({ reason: "Invalid", flag, detail: (e.message.split("\n").pop() ?? "").replace(/^[\s└─]+/, "") }))
  )

const parseArgs = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    let options: SimulatorOptions = {}
    for (let i = 0; i < argv.length; i++) {
      const flag = argv[i]!
      const switched = switches.get(flag)
      if (switched !== undefined) {
        options = { ...options, [switched]: true }
        continue
      }
      const value = argv[i + 1]
      if (value === undefined) return yield* new ArgumentError({ reason: "Missing", flag, detail: "needs a value" })
      i++
      switch (flag) {
        case "--port":
          options = { ...options, port: yield* decodeFlag(Count, flag, value) }
          break
        case "--seed":
          options = { ...options, seed: yield* decodeFlag(Count, flag, value) }
          break
        case "--objects":
          options = { ...options, objects: yield* decodeFlag(Count, flag, value) }
          break
        case "--page-size":
          options = { ...options, pageSize: yield* decodeFlag(Positive, flag, value) }
          break
        case "--max-inputs":
          options = { ...options, maxInputs: yield* decodeFlag(Positive, flag, value) }
          break
        case "--portal-id":
          options = { ...options, portalId: yield* decodeFlag(Positive, flag, value) }
          break
        case "--dataset-version":
          options = { ...options, version: yield* decodeFlag(DatasetVersion, flag, value) }
          break
        case "--changed-at":
          options = { ...options, changedAt: yield* decodeFlag(Instant, flag, value) }
          break
        case "--shape":
          options = { ...options, shape: yield* decodeFlag(Shape, flag, value) }
          break
        case "--token":
          options = { ...options, token: value }
          break
        case "--rate-limit": {
          const limit = yield* decodeFlag(RateLimit, flag, value)
          options = {
            ...options,
            rateLimit: limit === "off"
              ? { max: 0, windowMillis: 10_000 }
              : { max: limit[0], windowMillis: limit[2], daily: 250_000 }
          }
          break
        }
        case "--latency": {
          const [min, , max] = yield* decodeFlag(Latency, flag, value)
          options = { ...options, latencyMillis: [min, max] }
          break
        }
        case "--faults":
          options = { ...options, faults: yield* decodeFlag(Faults, flag, value) }
          break
        case "--incomplete":
          options = { ...options, incomplete: yield* decodeFlag(Incomplete, flag, value) }
          break
        default:
          return yield* new ArgumentError({ reason: "Unknown", flag, detail: "unknown flag" })
      }
    }
    return options
  })

const program = Effect.gen(function*() {
  const options = yield* parseArgs(process.argv.slice(2))
  const sim = yield* Simulator.make(options)
  yield* Effect.sync(() => process.stdout.write(`${sim.baseUrl}\n`))
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.tapError((e) => Effect.sync(() => process.stderr.write(`simulator: ${e.message}\n`)))
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause) ? 0 : 2)
})
