/**
 * `assoc-etl fleet worker`: one runner of the fleet in this process, until SIGINT or SIGTERM. It registers with
 * the fleet's PostgreSQL, takes its share of the shards (and so of the portals: a portal's entity lives on the
 * runner of its shard), runs the exports of the portals it holds and the job workflows of its shards, and on a
 * signal hands everything back: its exports are interrupted (what they committed is kept), its shards released
 * and its registration removed, and the other runners carry its portals on from their checkpoints. A runner
 * killed without a word (kill -9, a machine lost) is noticed when its shard locks expire (`Failover`).
 */
import { Console, Effect, Layer, type Redacted } from "effect"
import { Shutdown } from "../Shutdown.js"
import * as Cluster from "./Cluster.js"
import * as Database from "./Database.js"
import type { Failover } from "./Failover.js"

export interface WorkerOptions {
  /** The address the other runners reach this one at, and where it listens. */
  readonly host: string
  readonly port: number
  readonly database: Redacted.Redacted
  readonly failover: Failover
}

/** Runs a runner until the first signal; then stops it cleanly and ends (exit 0). */
export const run = (options: WorkerOptions) =>
  Effect.gen(function*() {
    const shutdown = yield* Shutdown
    const name = `${options.host}:${options.port}`
    const signal = yield* Effect.scoped(Effect.gen(function*() {
      yield* Layer.build(Cluster.runnerLayer(options))
      yield* Console.error(
        `worker ${name}: a runner of the fleet at ${Database.where(options.database)}; Ctrl-C or SIGTERM stops it`
      )
      const signal = yield* shutdown.requested
      yield* Console.error(`worker ${name}: ${signal}: handing its portals back to the fleet`)
      return signal
    }))
    yield* Console.error(
      `worker ${name} stopped (${signal}): deregistered; its portals' exports go on on the other workers from their `
        + "checkpoints"
    )
  })
