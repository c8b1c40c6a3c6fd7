/**
 * The fleet's status tables, in its PostgreSQL beside the cluster's: `assoc_etl_fleet_jobs` (each job as
 * submitted: its id, its file's settings as JSON, when) and `assoc_etl_fleet_pairs` (a row a pair of a portal of a
 * job: state, rows, refused inputs, runner, last error). `submit` writes the job and its pairs `pending`; the runner
 * that takes a portal marks them `running` with its address, updates their committed rows every few seconds, and
 * writes their ends before it replies. What `fleet status` prints is read here; the job's result is the workflow's
 * (its journal is in the cluster's tables), and these rows say the same once it has ended.
 *
 * The tables hold no token: a job's settings name the environment variable of each portal's token, and an error is
 * a message. They are made when missing, under an advisory lock (the first runners start together).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, Schema } from "effect"
import * as FleetJob from "./FleetJob.js"
import * as Outcome from "./Outcome.js"

/** The key of the advisory lock that makes the tables one at a time (any number only this tool uses). */
const schemaLock = 0x61_73_73_6f_63

/** Makes the tables if they are missing. */
export const ensure: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${schemaLock})`
    yield* sql`CREATE TABLE IF NOT EXISTS assoc_etl_fleet_jobs (
      id text PRIMARY KEY,
      settings text NOT NULL,
      submitted_at timestamptz NOT NULL DEFAULT now()
    )`
    yield* sql`CREATE TABLE IF NOT EXISTS assoc_etl_fleet_pairs (
      job_id text NOT NULL REFERENCES assoc_etl_fleet_jobs (id),
      portal text NOT NULL,
      pair text NOT NULL,
      position integer NOT NULL,
      state text NOT NULL,
      rows bigint,
      refused bigint,
      runner text,
      error text,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, portal, pair)
    )`
  }))
})

/** The pairs' directories of an entry, in its order: `contacts-companies`. */
export const pairNames = (entry: FleetJob.Entry): ReadonlyArray<string> =>
  entry.pairs.map((p) => `${p.fromType}-${p.toType}`)

/**
 * Records a submitted job and its pairs, `pending`, unless its id is known: then gives the settings it was
 * submitted with, which the caller compares (the same id, other settings, is refused).
 */
export const submit = (job: FleetJob.FleetJob): Effect.Effect<Option.Option<string>, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const settings = FleetJob.encodeJson(job)
    return yield* sql.withTransaction(Effect.gen(function*() {
      const inserted = yield* sql<{ id: string }>`INSERT INTO assoc_etl_fleet_jobs (id, settings)
        VALUES (${job.id}, ${settings}) ON CONFLICT (id) DO NOTHING RETURNING id`
      if (inserted.length === 0) {
        const known = yield* sql<{ settings: string }>`SELECT settings FROM assoc_etl_fleet_jobs WHERE id = ${job.id}`
        return Option.fromNullable(known[0]?.settings)
      }
      let position = 0
      for (const entry of job.exports) {
        for (const pair of pairNames(entry)) {
          yield* sql`INSERT INTO assoc_etl_fleet_pairs (job_id, portal, pair, position, state)
            VALUES (${job.id}, ${entry.portal}, ${pair}, ${position++}, 'pending') ON CONFLICT DO NOTHING`
        }
      }
      return Option.none()
    }))
  })

/** A runner took a portal: its pairs are `running` there, their last error cleared. */
export const started = (jobId: string, portal: string, runner: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`UPDATE assoc_etl_fleet_pairs SET state = 'running', runner = ${runner}, error = NULL, updated_at = now()
      WHERE job_id = ${jobId} AND portal = ${portal}`)

/** The rows a running pair has committed so far. */
export const progress = (jobId: string, portal: string, pair: Outcome.PairOutcome) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`UPDATE assoc_etl_fleet_pairs SET rows = ${pair.rows}, refused = ${pair.refused}, updated_at = now()
      WHERE job_id = ${jobId} AND portal = ${portal} AND pair = ${pair.pair} AND state = 'running'`)

/** A portal's end: each pair's state, rows and refused inputs, and the portal's error on its pairs that failed. */
export const ended = (jobId: string, outcome: Outcome.PortalOutcome) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.forEach(outcome.pairs, (pair) =>
      sql`UPDATE assoc_etl_fleet_pairs SET state = ${pair.state}, rows = ${pair.rows}, refused = ${pair.refused},
        runner = ${outcome.runner}, error = ${pair.state === "failed" ? outcome.error : null}, updated_at = now()
        WHERE job_id = ${jobId} AND portal = ${outcome.portal} AND pair = ${pair.pair}`, { discard: true })))

/** Rows as the tables hold them; anything else is a bug (a defect), not the user's input. */
const decodeRows = <A, I>(schema: Schema.Schema<A, I>) => (rows: unknown) =>
  Effect.orDie(Schema.decodeUnknown(schema)(rows))

const Count = Schema.NullOr(Schema.Union(Schema.Int, Schema.NumberFromString))

/** A pair's row, as `fleet status JOB_ID` shows it. */
export const PairRow = Schema.Struct({
  portal: Schema.String,
  pair: Schema.String,
  state: Outcome.State,
  rows: Count,
  refused: Count,
  runner: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
  updatedAt: Schema.DateFromSelf
})
export type PairRow = typeof PairRow.Type

/** The job `id`: when it was submitted and its pairs, in the job file's order; none if no job has that id. */
export const job = (id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const jobs = yield* sql`SELECT submitted_at AS "submittedAt" FROM assoc_etl_fleet_jobs WHERE id = ${id}`
    if (jobs.length === 0) return Option.none()
    const { submittedAt } = yield* decodeRows(Schema.Struct({ submittedAt: Schema.DateFromSelf }))(jobs[0])
    const rows = yield* sql`SELECT portal, pair, state, rows, refused, runner, error, updated_at AS "updatedAt"
      FROM assoc_etl_fleet_pairs WHERE job_id = ${id} ORDER BY position`
    const pairs = yield* decodeRows(Schema.Array(PairRow))(rows)
    return Option.some({ id, submittedAt, pairs })
  })

/** A job in the list of recent ones: its pairs counted by state, and their rows. */
export const JobRow = Schema.Struct({
  id: Schema.String,
  submittedAt: Schema.DateFromSelf,
  updatedAt: Schema.NullOr(Schema.DateFromSelf),
  portals: Count,
  pairs: Count,
  pending: Count,
  running: Count,
  done: Count,
  refusals: Count,
  failed: Count,
  rows: Count
})
export type JobRow = typeof JobRow.Type

/** The `limit` jobs submitted last, the latest first. */
export const recent = (limit: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT j.id, j.submitted_at AS "submittedAt", max(p.updated_at) AS "updatedAt",
        count(DISTINCT p.portal) AS portals, count(p.pair) AS pairs,
        count(*) FILTER (WHERE p.state = 'pending') AS pending,
        count(*) FILTER (WHERE p.state = 'running') AS running,
        count(*) FILTER (WHERE p.state = 'done') AS done,
        count(*) FILTER (WHERE p.state = 'done-with-refusals') AS refusals,
        count(*) FILTER (WHERE p.state = 'failed') AS failed,
        sum(p.rows) AS rows
      FROM assoc_etl_fleet_jobs j LEFT JOIN assoc_etl_fleet_pairs p ON p.job_id = j.id
      GROUP BY j.id, j.submitted_at ORDER BY j.submitted_at DESC, j.id LIMIT ${limit}`
    return yield* decodeRows(Schema.Array(JobRow))(rows)
  })
