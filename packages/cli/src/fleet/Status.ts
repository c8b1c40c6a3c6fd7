/**
 * `assoc-etl fleet status [JOB_ID]`: what the fleet's status table says. With a job id: the job's state and a
 * line a pair of each portal (state, rows committed, inputs refused, the runner that has or had it, when it last
 * changed, its last error); without: the jobs submitted last, a line each. Read from PostgreSQL alone: it works
 * with every worker stopped.
 */
import { Console, Effect, Option } from "effect"
import { InvalidArgument } from "../CliError.js"
import * as Outcome from "./Outcome.js"
import * as StatusTable from "./StatusTable.js"

/** An instant as the tables show it: `2026-12-02T02:01:13Z`, UTC, to the second. */
const instant = (d: Date): string => `${d.toISOString().slice(0, 19)}Z`

const count = (n: number | null): string => (n === null ? "-" : String(n))

/** Rows of cells as columns padded to their widest cell, two spaces apart; the last column unpadded. */
export const columns = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)))
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n")
}

export interface JobStatus {
  readonly id: string
  readonly submittedAt: Date
  readonly pairs: ReadonlyArray<StatusTable.PairRow>
}

/** A job's state from its pairs' states. */
export const stateOf = (job: JobStatus): Outcome.State => Outcome.worst(job.pairs.map((p) => p.state))

const tally = (states: ReadonlyArray<Outcome.State>): string =>
  Outcome.State.literals
    .map((s) => [s, states.filter((t) => t === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ")

/** The text of one job's status: a head line, then a table of its pairs. */
export const jobText = (job: JobStatus): string => {
  const portals = new Set(job.pairs.map((p) => p.portal)).size
  const head = `job ${job.id}: ${stateOf(job)} (submitted ${instant(job.submittedAt)}), ${portals} portal${
    portals === 1 ? "" : "s"
  }, ${job.pairs.length} pair${job.pairs.length === 1 ? "" : "s"}: ${tally(job.pairs.map((p) => p.state))}`
  const table = columns([
    ["PORTAL", "PAIR", "STATE", "ROWS", "REFUSED", "RUNNER", "UPDATED", "ERROR"],
    ...job.pairs.map((p) => [
      p.portal,
      p.pair,
      p.state,
      count(p.rows),
      count(p.refused),
      p.runner ?? "-",
      instant(p.updatedAt),
      p.error ?? ""
    ])
  ])
  return `${head}\n${table}`
}

/** A listed job's state from its counts of pairs by state; none for a job without pairs. */
const recentState = (j: StatusTable.JobRow): Outcome.State | null => {
  const n = (x: number | null) => x ?? 0
  const states: ReadonlyArray<Outcome.State> = [
    ...Array<Outcome.State>(n(j.pending)).fill("pending"),
    ...Array<Outcome.State>(n(j.running)).fill("running"),
    ...Array<Outcome.State>(n(j.done)).fill("done"),
    ...Array<Outcome.State>(n(j.refusals)).fill("done-with-refusals"),
    ...Array<Outcome.State>(n(j.failed)).fill("failed")
  ]
  return states.length === 0 ? null : Outcome.worst(states)
}

/** The text of the list of recent jobs. */
export const recentText = (jobs: ReadonlyArray<StatusTable.JobRow>): string => {
  if (jobs.length === 0) return "no job submitted yet"
  return columns([
    [
      ...["JOB", "STATE", "SUBMITTED", "UPDATED", "PORTALS", "PAIRS"],
      ...["DONE", "REFUSALS", "FAILED", "RUNNING", "PENDING", "ROWS"]
    ],
    ...jobs.map((j) => [
        j.id,
        recentState(j) ?? "-",
        instant(j.submittedAt),
        j.updatedAt === null ? "-" : instant(j.updatedAt),
        count(j.portals),
        count(j.pairs),
        count(j.done),
        count(j.refusals),
        count(j.failed),
        count(j.running),
        count(j.pending),
        count(j.rows)
      ])
  ])
}

/**
 * A job's status as one JSON document, for scripts and monitoring: what `jobText` shows, its instants in ISO
 * 8601 (to the millisecond), a count not yet known `null`.
 */
export const jobJson = (job: JobStatus): string =>
  JSON.stringify({
    id: job.id,
    state: stateOf(job),
    submittedAt: job.submittedAt.toISOString(),
    pairs: job.pairs.map((p) => ({
      portal: p.portal,
      pair: p.pair,
      state: p.state,
      rows: p.rows,
      refused: p.refused,
      runner: p.runner,
      updatedAt: p.updatedAt.toISOString(),
      error: p.error
    }))
  })

/** The recent jobs as one JSON document, `{"jobs": [...]}`, the last submitted first (see `jobJson`). */
export const recentJson = (jobs: ReadonlyArray<StatusTable.JobRow>): string =>
  JSON.stringify({
    jobs: jobs.map((j) => ({
      id: j.id,
      state: recentState(j),
      submittedAt: j.submittedAt.toISOString(),
      updatedAt: j.updatedAt === null ? null : j.updatedAt.toISOString(),
      portals: j.portals,
      pairs: j.pairs,
      done: j.done,
      refusals: j.refusals,
      failed: j.failed,
      running: j.running,
      pending: j.pending,
      rows: j.rows
    }))
  })

/** The job `id` as the status table has it; refused (exit 2) when no job has that id. */
export const jobStatus = (id: string) =>
  Effect.flatMap(
    StatusTable.job(id),
    Option.match({
      onNone: () =>
        Effect.fail(new InvalidArgument({ flag: "JOB_ID", detail: `no job ${id} was submitted to this fleet` })),
      onSome: (job) => Effect.succeed<JobStatus>(job)
    })
  )

/** Prints the status of the job `id`, or the list of the `limit` jobs submitted last, as text or JSON. */
export const show = (id: Option.Option<string>, limit: number, format: "text" | "json") =>
  Effect.gen(function*() {
    yield* StatusTable.ensure
    if (Option.isSome(id)) {
      const job = yield* jobStatus(id.value)
      return yield* Console.log(format === "json" ? jobJson(job) : jobText(job))
    }
    const jobs = yield* StatusTable.recent(limit)
    yield* Console.log(format === "json" ? recentJson(jobs) : recentText(jobs))
  })
