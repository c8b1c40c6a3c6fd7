/**
 * The fleet's wiring on @effect/cluster: runners that coordinate through PostgreSQL alone (no shard manager: the
 * `cluster_runners` table and one advisory lock a shard), talking to each other over TCP, and the job workflow's
 * engine on top. A runner (`fleet worker`) registers the portal entity and the job workflow; a client (`fleet
 * submit`) only sends and reads replies.
 *
 * How fast a dead runner's portals move is `Failover` (Failover.ts).
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, Option, type Redacted } from "effect"
import * as Database from "./Database.js"
import { defaultFailover, type Failover } from "./Failover.js"
import * as Job from "./Job.js"
import * as Portal from "./Portal.js"
import * as StatusTable from "./StatusTable.js"

/**
 * Shards a fleet's entities are spread over; every runner and client of one fleet must use the same number.
 * @effect/cluster's 300 made a runner of a busy fleet of two, when a third joined, release ~100 shards, two queries
 * each on one connection: under load they outlasted the deadline of a lock operation (`Failover`), the runner took
 * its lock storage for unhealthy and restarted every export it held. 30 still spread portals over ten runners or so.
 */
const shardsPerGroup = 30

const shardingConfig = (failover: Failover) => ({
  shardsPerGroup,
  shardLockRefreshInterval: failover.lockRefresh,
  shardLockExpiration: failover.lockExpiration,
  refreshAssignmentsInterval: failover.assignmentsRefresh,
  runnerHealthCheckInterval: failover.healthCheck,
  entityMessagePollInterval: failover.messagePoll,
  entityTerminationTimeout: failover.terminationTimeout
})

/** The key of the advisory lock under which one process at a time makes the tables (any number only we use). */
const tablesLock = 0x66_6c_65_65_74

/**
 * Makes the cluster's tables and the status table if they are missing, one process at a time: @effect/cluster makes
 * its tables as a runner starts, and two runners that started together failed on each other's CREATE TABLE. Its
 * storages are built once here under a session advisory lock, and let go; the runner's own find the tables made.
 */
const prepareTables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* Effect.scoped(Effect.gen(function*() {
    const connection = yield* sql.reserve
    yield* Effect.acquireRelease(
      connection.executeRaw("SELECT pg_advisory_lock($1)", [tablesLock]),
      () => Effect.ignore(connection.executeRaw("SELECT pg_advisory_unlock($1)", [tablesLock]))
    )
    yield* Effect.scoped(Layer.build(
      Layer.mergeAll(SqlMessageStorage.layer, SqlRunnerStorage.layer).pipe(
        Layer.provide(ShardingConfig.layer({ shardsPerGroup }))
      )
    ))
    yield* StatusTable.ensure
  }))
}).pipe(Effect.mapError(Database.databaseError))

/** A runner listening on `host:port`: the portal entity and the job workflow, on the fleet's PostgreSQL. */
export const runnerLayer = (options: {
  readonly host: string
  readonly port: number
  readonly database: Redacted.Redacted
  readonly failover: Failover
}) =>
  Layer.mergeAll(Portal.layer, Job.layer).pipe(
    Layer.provide(ClusterWorkflowEngine.layer),
    Layer.provideMerge(
      NodeClusterSocket.layer({
        storage: "sql",
        shardingConfig: {
          ...shardingConfig(options.failover),
          runnerAddress: Option.some(RunnerAddress.make(options.host, options.port))
        }
      })
    ),
    // Built first: the tables are there before the cluster's storages and the first message.
    Layer.provide(Layer.effectDiscard(prepareTables)),
    Layer.provideMerge(Database.layer(options.database))
  )

/** A client of the fleet: sends jobs and reads their results, runs nothing. */
export const clientLayer = (database: Redacted.Redacted) =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(
      NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: shardingConfig(defaultFailover) })
    ),
    Layer.provide(Layer.effectDiscard(prepareTables)),
    Layer.provideMerge(Database.layer(database))
  )
