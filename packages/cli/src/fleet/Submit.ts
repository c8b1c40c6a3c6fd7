/**
 * `assoc-etl fleet submit JOB.json [--wait]`: a job to the fleet. The file is read and every entry's settings
 * checked as `export --job` checks them (refused: exit 2, nothing recorded); then the job is recorded in the status
 * table and its workflow's first message in the cluster's tables, both in PostgreSQL, and its id is printed: from
 * then on it runs whether or not this process does. The workflow's idempotency key is the job's id: submitting a
 * job again changes nothing (its settings must be the same; other settings under a known id are refused), and
 * `--wait` on a finished job gives its result at once.
 *
 * `--wait` follows the job to its end and exits with its status: 0 every pair done, 3 some pair had inputs refused
 * by HubSpot, 1 a portal failed (`fleet status` tells why). Stopping the waiting (Ctrl-C) does not stop the job.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { WorkflowEngine } from "@effect/workflow/WorkflowEngine"
import { Clock, Console, Duration, Effect, Exit, Option, type Redacted } from "effect"
import { DoneWithRefusals, InvalidArgument } from "../CliError.js"
import * as ExportCommand from "../ExportCommand.js"
import * as Cluster from "./Cluster.js"
import * as Database from "./Database.js"
import * as FleetJob from "./FleetJob.js"
import { FleetError } from "./FleetError.js"
import { Job } from "./Job.js"
import * as Outcome from "./Outcome.js"
import * as Status from "./Status.js"
import * as StatusTable from "./StatusTable.js"

export interface SubmitOptions {
  readonly file: string
  readonly wait: boolean
  readonly database: Redacted.Redacted
  /** How often `--wait` prints where the job is, on stderr. */
  readonly every: Duration.Duration
}

/** Each entry's settings as `export --job` resolves them: a refusal names the entry (exit 2). */
const checkEntries = (file: string, job: FleetJob.FleetJob) =>
  Effect.forEach(job.exports, (entry, i) =>
    ExportCommand.settingsOfJob(FleetJob.jobFileOf(entry)).pipe(
      Effect.mapError((e) =>
        new InvalidArgument({ flag: file, detail: `exports[${i}] (${entry.portal}): ${e.message}` })
      )
    ), { discard: true })

/** The job's end, from its outcome: done, refusals (exit 3) or a portal failed (exit 1). */
const ending = (outcome: Outcome.JobOutcome) => {
  const failed = outcome.portals.filter((p) => p.error !== null || p.pairs.some((pair) => pair.state === "failed"))
  if (failed.length > 0) {
    const why = failed.map((p) => `${p.portal}: ${p.error ?? "a pair failed"}`).join("; ")
    return Effect.fail(
      new FleetError({
        reason: "JobFailed",
        detail: `job ${outcome.id}: ${failed.length} of ${outcome.portals.length} portals failed (${why}). What they `
          + "committed is kept: submit the job again under a new id to resume them (finished datasets are not "
          + "exported again)"
      })
    )
  }
  const refused = outcome.portals.flatMap((p) => p.pairs).reduce((n, p) => n + (p.refused ?? 0), 0)
  return Outcome.stateOf(outcome) === "done-with-refusals"
    ? Effect.fail(new DoneWithRefusals({ refused }))
    : Effect.void
}

/** Waits for the workflow's result, printing where the job is now and then. */
const waitFor = (job: FleetJob.FleetJob, executionId: string, every: Duration.Duration) =>
  Effect.gen(function*() {
    let said = 0
    let last = ""
    const tick = Effect.gen(function*() {
      const result = yield* Job.poll(executionId)
      if (result !== undefined && result._tag === "Complete") return Option.some(result.exit)
      const now = yield* Clock.currentTimeMillis
      if (now - said >= Duration.toMillis(every)) {
        const status = yield* Status.jobStatus(job.id)
        const line = `job ${job.id}: ${Status.stateOf(status)}`
        if (line !== last || now - said >= 6 * Duration.toMillis(every)) {
          const states = status.pairs.map((p) => p.state)
          yield* Console.error(`${line}: ${states.filter(Outcome.isEnded).length} of ${states.length} pairs ended`)
          last = line
        }
        said = now
      }
      return Option.none()
    })
    const untilEnded: Effect.Effect<
      Exit.Exit<Outcome.JobOutcome>,
      SqlError | InvalidArgument,
      SqlClient.SqlClient | WorkflowEngine
    > =
      Effect.flatMap(tick, Option.match({
        onNone: () => Effect.zipRight(Effect.sleep("1 second"), Effect.suspend(() => untilEnded)),
        onSome: Effect.succeed
      }))
    const exit = yield* untilEnded
    if (Exit.isFailure(exit)) {
      return yield* new FleetError({ reason: "JobFailed", detail: `job ${job.id}: its workflow failed: ${exit.cause}` })
    }
    return exit.value
  })

export const run = (options: SubmitOptions) =>
  Effect.gen(function*() {
    const job = yield* FleetJob.read(options.file)
    yield* checkEntries(options.file, job)
    yield* Effect.gen(function*() {
      // (The client's layer made the tables, if they were missing.)
      const known = yield* StatusTable.submit(job)
      if (Option.isSome(known) && known.value !== FleetJob.encodeJson(job)) {
        return yield* new InvalidArgument({
          flag: options.file,
          detail: `a job ${job.id} was submitted before with other settings: give this job another id`
        })
      }
      const executionId = yield* Job.executionId(job)
      yield* Job.execute(job, { discard: true })
      yield* Console.log(job.id)
      if (!options.wait) {
        return yield* Console.error(
          `job ${job.id} ${Option.isSome(known) ? "was submitted before" : "submitted"}: ${job.exports.length} portal${
            job.exports.length === 1 ? "" : "s"
          }; assoc-etl fleet status ${job.id} tells where it is`
        )
      }
      const outcome = yield* waitFor(job, executionId, options.every)
      yield* Console.error(Status.jobText(yield* Status.jobStatus(job.id)))
      yield* ending(outcome)
    }).pipe(
      Effect.catchTag("SqlError", (e) => Effect.fail(Database.databaseError(e))),
      Effect.provide(Cluster.clientLayer(options.database))
    )
  })
