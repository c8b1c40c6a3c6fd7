/**
 * A portal of the fleet as a cluster entity: its id is the portal's name, so every export of one portal goes to
 * one entity, which the cluster keeps on one runner at a time and which takes its messages one at a time. One
 * portal's exports thus never run on two runners at once, and each runs under the one budget of its entry's
 * `rateLimit`.
 *
 * Its message `Export` (a job's entry) is persisted (`ClusterSchema.Persisted`): it is in PostgreSQL before the
 * sender goes on, and it stays there until a reply is. Its primary key is the job's id and an attempt number: the
 * same job's message sent again (a workflow that resumed elsewhere) is the same message, and gets the same reply;
 * another job's is new. (The attempt: a runner that loses its shard locks interrupts its exports at once, and
 * @effect/cluster 0.60 then stores the interruption as the message's reply; the job sends the next attempt,
 * which resumes from the checkpoints. See Job.ts.)
 *
 * The runner that holds the entity runs the export in its own process, through the very code of
 * `assoc-etl export --job` (`ExportCommand.run`), the token read from its own environment under the entry's
 * `tokenEnv` and handed to the export as `HUBSPOT_ACCESS_TOKEN` through a `ConfigProvider` of the run's own: it
 * never leaves the process. When the runner dies (kill -9) or hands the portal over (a runner joined, a SIGTERM),
 * the message runs again on the next owner, and the export resumes from the checkpoints in `out` (a directory the
 * runners share, or a bucket, whose lease a runner killed on another machine holds until it expires: that is
 * waited for): every row exactly once. Failures are the reply (`failed`, with the message), not retried here: an
 * interruption alone leaves the message to run again.
 */
import { BucketError } from "@assoc-etl/bucket"
import { Dataset } from "@assoc-etl/core"
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import { FileSystem, Path } from "@effect/platform"
import * as Rpc from "@effect/rpc/Rpc"
import {
  Cause,
  Config,
  ConfigProvider,
  Duration,
  Effect,
  Fiber,
  Option,
  Redacted,
  Schedule,
  Schema
} from "effect"
import { DoneWithRefusals } from "../CliError.js"
import * as ExportCommand from "../ExportCommand.js"
import { Shutdown } from "../Shutdown.js"
import * as Storage from "../Storage.js"
import { FleetError } from "./FleetError.js"
import * as FleetJob from "./FleetJob.js"
import * as Outcome from "./Outcome.js"
import * as StatusTable from "./StatusTable.js"

export const Export = Rpc.make("Export", {
  payload: { jobId: FleetJob.Name, attempt: Schema.Int, entry: FleetJob.Entry },
  success: Outcome.PortalOutcome,
  primaryKey: ({ attempt, jobId }) => `${jobId}/${attempt}`
})

export const Portal = Entity.make("Portal", [Export]).annotateRpcs(ClusterSchema.Persisted, true)

/** A runner's address as the status table shows it: `127.0.0.1:34431`. */
export const runnerName = (address: { readonly host: string; readonly port: number }): string =>
  `${address.host}:${address.port}`

/**
 * The shutdown an export in a runner sees: never asked. A runner that stops interrupts its exports (what they
 * committed is kept), so that their messages, unanswered, run again on another runner; an export that stopped by
 * itself would answer "stopped", and its portal would not be carried on.
 */
const neverAsked = Shutdown.of({ requested: Effect.never, received: Effect.succeed(Option.none()) })

/** Why a portal cannot start on this runner: its token's variable is not in the runner's environment. */
const tokenMissing = (entry: FleetJob.Entry, runner: string, empty: boolean) =>
  new FleetError({
    reason: "TokenMissing",
    detail: `${entry.tokenEnv} is ${empty ? "empty" : "not set"} in the environment of the worker ${runner}: set it `
      + `to the access token of the portal ${entry.portal} on every worker`
  })

/** The token of an entry, from this process's environment, by its variable's name. */
const tokenOf = (entry: FleetJob.Entry, runner: string) =>
  Effect.gen(function*() {
    const token = yield* Effect.orDie(Config.option(Config.redacted(entry.tokenEnv)))
    if (Option.isNone(token) || Redacted.value(token.value).trim() === "") {
      return yield* tokenMissing(entry, runner, Option.isSome(token))
    }
    return token.value
  })

/** The export's configuration: `HUBSPOT_ACCESS_TOKEN` is the token, everything else the environment's. */
const withToken = (token: Redacted.Redacted) =>
  ConfigProvider.fromMap(new Map([["HUBSPOT_ACCESS_TOKEN", Redacted.value(token)]])).pipe(
    ConfigProvider.orElse(() => ConfigProvider.fromEnv())
  )

/** How one run of an entry's export ended: its state, and its error's message when it failed. */
interface RunEnd {
  readonly state: "done" | "done-with-refusals" | "failed"
  readonly error: string | null
}

/**
 * How long a portal whose `out` is a bucket waits for the prefix's lease: a runner killed on another machine holds
 * it until it expires (30 s), and only that runner can hold it (the entity runs one export of a portal at a time).
 */
const leaseWait = Schedule.spaced("5 seconds").pipe(Schedule.upTo("2 minutes"))

/** Runs an entry's export as `export --job` would; an interruption alone is not an end (the message runs again). */
const runEntry = (entry: FleetJob.Entry, runner: string) =>
  Effect.gen(function*() {
    const token = yield* tokenOf(entry, runner)
    const settings = yield* ExportCommand.settingsOfJob(FleetJob.jobFileOf(entry))
    yield* ExportCommand.run(settings).pipe(
      Effect.withConfigProvider(withToken(token)),
      Effect.provideService(Shutdown, neverAsked),
      Effect.retry({
        schedule: leaseWait,
        while: (e) => e instanceof BucketError.BucketError && e.reason === "Locked"
      })
    )
  }).pipe(
    Effect.as<RunEnd>({ state: "done", error: null }),
    Effect.catchAllCause((cause): Effect.Effect<RunEnd, never> => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const e = failure.value
        if (e instanceof DoneWithRefusals) return Effect.succeed({ state: "done-with-refusals", error: null })
        return Effect.succeed({ state: "failed", error: e.message })
      }
      const defect = Cause.dieOption(cause)
      if (Option.isSome(defect)) {
        const text = defect.value instanceof Error ? defect.value.message : String(defect.value)
        return Effect.succeed({ state: "failed", error: `unexpected failure (a bug): ${text}` })
      }
      return Effect.failCause(cause as Cause.Cause<never>)
    })
  )

/**
 * A pair's dataset as it stands: finished (its manifest's rows and refused inputs), or the rows its checkpoint has
 * committed. A bucket's is not read here: its figures are unknown (null).
 */
const pairFigures = (entry: FleetJob.Entry, pair: string) =>
  Effect.gen(function*() {
    if (Storage.isBucket(entry.out)) return { finished: false, rows: null, refused: null }
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const directory = path.join(entry.out, pair)
    const sealed = yield* fs.exists(path.join(directory, Dataset.successName))
    if (sealed) {
      const manifest = yield* Dataset.readManifest(directory)
      return { finished: true, rows: manifest.totals.rows, refused: manifest.errors.rows }
    }
    const checkpoint = yield* Dataset.readCheckpoint(directory)
    return Option.match(checkpoint, {
      onNone: () => ({ finished: false, rows: 0, refused: 0 }),
      onSome: ({ dataset }) => ({
        finished: false,
        rows: dataset.parts.reduce((n, p) => n + p.rows, dataset.open.rows),
        refused: dataset.errors.rows
      })
    })
  }).pipe(Effect.orElseSucceed(() => ({ finished: false, rows: null, refused: null })))

/** Each pair's end, from the run's end and what its dataset holds. */
const pairOutcomes = (entry: FleetJob.Entry, end: RunEnd) =>
  Effect.forEach(StatusTable.pairNames(entry), (pair) =>
    Effect.map(pairFigures(entry, pair), (f): Outcome.PairOutcome => {
      const unknown = f.rows === null
      const state: Outcome.State = f.finished
        ? (f.refused ?? 0) > 0 ? "done-with-refusals" : "done"
        : unknown && end.state !== "failed"
        ? end.state
        : "failed"
      return { pair, state, rows: f.rows, refused: f.refused }
    }))

/** A status-table write, retried a while; the status table only informs, so a write that fails is logged. */
const record = <E, R>(write: Effect.Effect<unknown, E, R>) =>
  write.pipe(
    Effect.retry({ schedule: Schedule.exponential("200 millis"), times: 5 }),
    Effect.catchAllCause((cause) => Effect.logWarning("the status table was not updated", cause)),
    Effect.asVoid
  )

/** Every few seconds, the committed rows of the portal's pairs into the status table. */
const reportProgress = (jobId: string, entry: FleetJob.Entry) =>
  Effect.forEach(StatusTable.pairNames(entry), (pair) =>
    Effect.flatMap(pairFigures(entry, pair), (f) =>
      f.rows === null
        ? Effect.void
        : record(
          StatusTable.progress(jobId, entry.portal, { pair, state: "running", rows: f.rows, refused: f.refused })
        )),
    { discard: true }
  ).pipe(Effect.delay(Duration.seconds(5)), Effect.forever)

/** Runs one job's entry on this runner: the status table says so, the export runs, the outcome is the reply. */
export const exportPortal = (jobId: string, entry: FleetJob.Entry, runner: string) =>
  Effect.gen(function*() {
    yield* record(StatusTable.started(jobId, entry.portal, runner))
    yield* Effect.logInfo(`export of portal ${entry.portal} (job ${jobId}) starts on ${runner}`)
    const progress = yield* Effect.fork(reportProgress(jobId, entry))
    const end = yield* runEntry(entry, runner).pipe(Effect.ensuring(Fiber.interrupt(progress)))
    const outcome: Outcome.PortalOutcome = {
      portal: entry.portal,
      runner,
      error: end.error,
      pairs: yield* pairOutcomes(entry, end)
    }
    yield* record(StatusTable.ended(jobId, outcome))
    const state = Outcome.worst(outcome.pairs.map((p) => p.state))
    const why = end.error === null ? "" : `: ${end.error}`
    yield* Effect.logInfo(`export of portal ${entry.portal} (job ${jobId}) ended on ${runner}: ${state}${why}`)
    return outcome
  }).pipe(Effect.annotateLogs({ job: jobId, portal: entry.portal }))

/** The entity's behaviour on a runner. */
export const layer = Portal.toLayer(
  Effect.gen(function*() {
    const runner = runnerName(yield* Entity.CurrentRunnerAddress)
    return {
      Export: (request) => exportPortal(request.payload.jobId, request.payload.entry, runner)
    }
  })
)

