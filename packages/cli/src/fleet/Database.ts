/**
 * The fleet's PostgreSQL: where the cluster keeps its runners, shard locks, messages and replies (the job
 * workflows' journals among them), and where the status table lives. Its URL comes from `--database` or
 * `ASSOC_ETL_DATABASE_URL`; it holds a password, so it is held as a `Redacted` from where it enters and never
 * printed: a message names the server by host, port and database only.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Layer, Redacted } from "effect"
import { InvalidArgument } from "../CliError.js"
import { FleetError } from "./FleetError.js"

/** `--database` as the fleet holds it: refused (exit 2) unless a PostgreSQL URL, without echoing it. */
export const url = (text: string): Effect.Effect<Redacted.Redacted, InvalidArgument> => {
  const parsed = URL.canParse(text) ? new URL(text) : undefined
  return parsed !== undefined && (parsed.protocol === "postgres:" || parsed.protocol === "postgresql:")
    ? Effect.succeed(Redacted.make(text))
    : Effect.fail(
      new InvalidArgument({
        flag: "--database",
        detail: "expected a PostgreSQL URL, postgres://USER:PASSWORD@HOST:5432/DATABASE (the value is not shown: it "
          + "may hold a password)"
      })
    )
}

/** The server a URL names, for messages: `127.0.0.1:5432/postgres`, no user or password. */
export const where = (url: Redacted.Redacted): string => {
  const parsed = new URL(Redacted.value(url))
  return `${parsed.hostname}:${parsed.port === "" ? "5432" : parsed.port}${parsed.pathname}`
}

/** The message of a failure to reach PostgreSQL: pg's own (a refused connection, a wrong password), no URL. */
const reason = (error: unknown): string => {
  const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined
  return cause instanceof Error && cause.message !== "" ? cause.message : String(error)
}

/** A statement PostgreSQL refused, or a connection lost, as the fleet says it (exit 1). */
export const databaseError = (e: { readonly message: string; readonly cause?: unknown }) =>
  new FleetError({
    reason: "Database",
    detail: `PostgreSQL: ${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}`
  })

/** The SQL client of the fleet's PostgreSQL; fails (exit 1) when it cannot be reached within 5 s. */
export const layer = (url: Redacted.Redacted) =>
  PgClient.layer({ url, applicationName: "assoc-etl" }).pipe(
    Layer.mapError((e) =>
      new FleetError({ reason: "Database", detail: `cannot reach PostgreSQL at ${where(url)}: ${reason(e)}` })
    )
  )
