/**
 * How fast a dead runner's portals move: a runner that stops renewing its shard locks loses them `lockExpiration`
 * after its last renewal, and the others take them at their next look at the assignments. @effect/cluster's own
 * defaults take ~31 s; these, about 10 s. Every runner of one fleet should use the same.
 *
 * A runner gives each lock operation `lockRefresh` (or a third of `lockExpiration`, if shorter) before it takes its
 * lock storage for unhealthy and interrupts every export it holds, to be started again. At 2 s (renewal every 2 s,
 * expiry 6 s) a worker of the bench, 12 portals at once on a busy machine, did so and restarted them all, which
 * doubled the job's time; at 3 s it did not.
 *
 * (A module of its own, without the cluster: the command line's flags state these defaults, and the cluster is
 * loaded only when a fleet command runs.)
 */
import { Duration } from "effect"

/** The cluster's timings that decide how fast a dead runner's portals move. */
export interface Failover {
  /** How often a runner renews its shard locks. */
  readonly lockRefresh: Duration.Duration
  /** How long after its last renewal a silent runner's locks are free for the others. */
  readonly lockExpiration: Duration.Duration
  /** How often a runner looks for runners gone or added, and takes free shards. */
  readonly assignmentsRefresh: Duration.Duration
  /** How often a runner checks that the others answer. */
  readonly healthCheck: Duration.Duration
  /** How often a runner looks in PostgreSQL for messages of its entities (those sent while it was away). */
  readonly messagePoll: Duration.Duration
  /**
   * How long a runner lets a portal's export run on when the portal moves away (a runner joined, or this one
   * stops) before it interrupts it. Short: an export interrupted loses only what it had not committed, and goes on
   * from its checkpoint on the new owner, which cannot start before this one let go.
   */
  readonly terminationTimeout: Duration.Duration
}

export const defaultFailover: Failover = {
  lockRefresh: Duration.seconds(3),
  lockExpiration: Duration.seconds(9),
  assignmentsRefresh: Duration.seconds(1),
  healthCheck: Duration.seconds(2),
  messagePoll: Duration.seconds(1),
  terminationTimeout: Duration.seconds(3)
}
