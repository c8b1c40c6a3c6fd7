/**
 * A fleet's job file (`assoc-etl fleet submit JOB.json`): a job id and the exports of several portals, each entry
 * the nightly job's settings (JobFile.ts: the same fields, decoded the same way) plus the portal's name and the
 * name of the environment variable that holds its token in every worker's environment. The token itself is never
 * in the file, the database or a message: each worker reads it from its own environment when it runs the portal.
 *
 *   { "id": "nightly-2026-12-02",
 *     "exports": [ { "portal": "acme", "tokenEnv": "ACME_HUBSPOT_TOKEN", "pairs": ["contacts:companies"],
 *                    "out": "/data/hubspot/acme/2026-12-02", "format": "parquet", "rateLimit": "100/10s" } ] }
 *
 * `pairs` and `out` are required (each pair's dataset is `out/<from>-<to>/`, as with `export --pairs`); an unknown
 * field, a portal or an `out` given twice, and ids from stdin are refused, each naming its field (exit 2). Local
 * paths are made absolute against the directory `submit` runs in: the workers may run elsewhere, so `out` should be
 * a directory they share (or a bucket).
 */
import { HubSpotIdSource } from "@assoc-etl/hubspot"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Either, ParseResult, Schema } from "effect"
import { InvalidArgument } from "../CliError.js"
import * as JobFile from "../JobFile.js"

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** A job id or a portal's name: letters, digits, `.`, `_` and `-`, at most 128, starting with a letter or digit. */
export const Name = Schema.String.pipe(
  Schema.filter((s) =>
    namePattern.test(s)
    || `expected letters, digits, ".", "_" or "-" (at most 128, the first a letter or digit), got ${JSON.stringify(s)}`
  )
)

/** The name of an environment variable: `ACME_HUBSPOT_TOKEN`. */
export const EnvName = Schema.String.pipe(
  Schema.filter((s) =>
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)
    || `expected the name of an environment variable (ACME_HUBSPOT_TOKEN), got ${JSON.stringify(s)}`
  )
)

// One portal's export: the nightly job's fields but `from` and `to` (a fleet's entry names pairs) and `logFormat`
// (the worker's own), with `pairs` and `out` required.
const { from: _from, logFormat: _logFormat, out: _out, pairs, to: _to, ...options } = JobFile.JobFile.fields

export const Entry = Schema.Struct({
  portal: Name,
  tokenEnv: EnvName,
  pairs: pairs.from,
  out: Schema.NonEmptyString,
  ...options
}).pipe(
  Schema.filter((entry) =>
    entry.ids === "-"
      ? { path: ["ids"], message: "ids from stdin (-) cannot reach a worker: give a file every worker can read" }
      : undefined
  )
)
export type Entry = typeof Entry.Type

/** The job as it travels: in the workflow's payload and journal (no token in it, only the variables' names). */
export const fields = {
  id: Name,
  exports: Schema.Array(Entry).pipe(Schema.minItems(1, { message: () => "expected at least one portal's export" }))
}

/** Refuses a portal or an `out` that two entries share: two workers would write one dataset. */
const distinctEntries = (job: { readonly exports: ReadonlyArray<Entry> }) => {
  for (const [i, entry] of job.exports.entries()) {
    for (const key of ["portal", "out"] as const) {
      const first = job.exports.findIndex((e) => e[key] === entry[key])
      if (first < i) {
        return { path: ["exports", i, key], message: `${JSON.stringify(entry[key])} is exports[${first}]'s ${key} too` }
      }
    }
  }
  return undefined
}

export const FleetJob = Schema.Struct(fields).pipe(Schema.filter(distinctEntries))
export type FleetJob = typeof FleetJob.Type

/** The job as the workflow's payload and the status table store it: JSON of its encoded form, in field order. */
export const encodeJson = (job: FleetJob): string => JSON.stringify(Schema.encodeSync(FleetJob)(job))

const decode = Schema.decodeUnknownEither(Schema.parseJson(FleetJob), { onExcessProperty: "error" })

/** `exports.1.portal` as a reader of the file spells it: `exports[1].portal`. */
const fieldPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (s, key) => typeof key === "number" ? `${s}[${key}]` : s === "" ? String(key) : `${s}.${String(key)}`,
    ""
  )

/**
 * Local paths (not `s3://...`) made absolute against `cwd`; `since` only when it is not a date (then it names the
 * previous run's directory).
 */
const absolute = (job: FleetJob, resolve: (p: string) => string): FleetJob => {
  const local = (p: string | undefined) => p === undefined || p.startsWith("s3://") ? p : resolve(p)
  const since = (p: string | undefined) =>
    p === undefined || HubSpotIdSource.parseMoment(p) !== undefined ? p : local(p)
  const exports = job.exports.map((entry) => {
    const moved: Record<string, unknown> = { ...entry, out: local(entry.out) }
    for (const [key, value] of [
      ["ids", local(entry.ids)],
      ["idsFrom", local(entry.idsFrom)],
      ["diffAgainst", local(entry.diffAgainst)],
      ["since", since(entry.since)]
    ] as const) {
      if (value !== undefined) moved[key] = value
    }
    return moved as Entry
  })
  return { ...job, exports }
}

/** The job file at `file`, decoded, its paths absolute; every refusal names the file and the field (exit 2). */
export const read = (file: string): Effect.Effect<FleetJob, InvalidArgument, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const bad = (detail: string) => new InvalidArgument({ flag: file, detail })
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => bad(e._tag === "SystemError" && e.reason === "NotFound" ? "no such file" : e.message))
    )
    const decoded = decode(text)
    if (Either.isLeft(decoded)) {
      // The deepest issue: of a union (`pairs` as a string or a list), the one of the alternative that was meant.
      const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
      const issue = issues.reduce<(typeof issues)[number] | undefined>(
        (best, i) => (best === undefined || i.path.length > best.path.length ? i : best),
        undefined
      )
      const where = issue === undefined || issue.path.length === 0 ? "not a fleet job file" : fieldPath(issue.path)
      return yield* bad(`${where}: ${issue?.message ?? "unreadable"}`)
    }
    // Two entries whose `out`s differ only as written ("./a" and "a") are one directory.
    const job = absolute(decoded.right, (p) => path.resolve(p))
    const duplicate = distinctEntries(job)
    if (duplicate !== undefined) return yield* bad(`${fieldPath(duplicate.path)}: ${duplicate.message}`)
    return job
  })

/** The nightly job's settings of one entry, as `export --job` reads them from a file. */
export const jobFileOf = (entry: Entry): JobFile.JobFile => {
  const { portal: _portal, tokenEnv: _tokenEnv, ...settings } = entry
  return settings
}
