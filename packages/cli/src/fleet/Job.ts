/**
 * A fleet job as a durable workflow (@effect/workflow on the cluster): its idempotency key is the job's id, so a
 * job submitted twice is one execution, and the second submit finds the first's result. Each portal is one
 * activity, all started together, each sending its entry to the portal's entity (Portal.ts) and waiting for its
 * outcome. The workflow's journal is in PostgreSQL: an activity that ended is not run again when the workflow
 * resumes on another runner (its runner died); one in flight sends its message again, which the entity knows by
 * its primary key (the job's id and the attempt) and answers once. The job's result is every portal's outcome; a
 * portal that failed is an outcome, not a failure of the job's workflow, so that the other portals go on.
 *
 * An export interrupted by its runner (the runner found its shard locks' storage too slow, and gave its shards up
 * at once) came back as the message's reply, an interruption, stored for good: the activity then sends attempt
 * 1, 2, ... of the same entry, each resuming from the checkpoints. The attempts are numbered from 0 every time
 * the activity runs, so an activity run again walks the same keys and finds their stored replies.
 */
import type { Sharding } from "@effect/cluster/Sharding"
import * as Activity from "@effect/workflow/Activity"
import * as Workflow from "@effect/workflow/Workflow"
import { Cause, Effect, Exit, Schedule } from "effect"
import * as FleetJob from "./FleetJob.js"
import * as Outcome from "./Outcome.js"
import { Portal } from "./Portal.js"

export const Job = Workflow.make({
  name: "Job",
  payload: FleetJob.fields,
  success: Outcome.JobOutcome,
  idempotencyKey: (job) => job.id
})

/**
 * An activity interrupted (its runner gave its shards up, say) is started again, however often: it only waits for
 * the portal's reply, and sending its message again is the same message.
 */
const whileInterrupted = Schedule.exponential("200 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("5 seconds")),
  Schedule.whileInput((cause: Cause.Cause<unknown>) => Cause.isInterrupted(cause))
)

/** Sends attempt `attempt` of an entry to its portal, and the next when this one's reply is an interruption. */
const send = (
  jobId: string,
  entry: FleetJob.Entry,
  attempt: number
): Effect.Effect<Outcome.PortalOutcome, never, Sharding> =>
  Effect.flatMap(Portal.client, (client) => client(entry.portal).Export({ jobId, attempt, entry })).pipe(
    // The cluster's own troubles (PostgreSQL away for a moment, a full mailbox) are waited out, a while.
    Effect.retry({ schedule: Schedule.exponential("500 millis").pipe(Schedule.upTo("5 minutes")) }),
    Effect.orDie,
    Effect.exit,
    Effect.flatMap((exit) => {
      if (!Exit.isInterrupted(exit)) return exit
      const next = attempt + 1
      const warning = `the export of portal ${entry.portal} was interrupted on its runner: attempt ${next}`
      return Effect.logWarning(warning).pipe(
        Effect.zipRight(Effect.sleep("1 second")),
        Effect.zipRight(send(jobId, entry, next))
      )
    })
  )

/** The activity of one portal: its entry to its entity, its outcome back. */
const exportOf = (jobId: string, entry: FleetJob.Entry) =>
  Activity.make({
    name: `export ${entry.portal}`,
    success: Outcome.PortalOutcome,
    interruptRetryPolicy: whileInterrupted,
    execute: send(jobId, entry, 0)
  })

/** The workflow's behaviour on a runner. */
export const layer = Job.toLayer((job) =>
  Effect.map(
    Effect.forEach(job.exports, (entry) => exportOf(job.id, entry), { concurrency: "unbounded" }),
    (portals): Outcome.JobOutcome => ({ id: job.id, portals })
  )
)
