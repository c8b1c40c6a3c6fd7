/**
 * `assoc-etl export --job job.json`: the export's settings from a file, for cron lines that would otherwise be
 * long. The fields are the flags' names in camelCase (`--rate-limit` is `rateLimit`), each decoded as its flag
 * is; a flag given on the command line (or its environment variable) wins over the file, and the file over the
 * flag's default. An unknown field is refused: a typo must not silently fall back to a default.
 *
 *   { "pairs": ["contacts:companies", "deals:contacts"], "out": "/data/hubspot/2026-12-03",
 *     "format": "parquet", "rateLimit": "190/10s" }
 */
import { type AssociationRow, ObjectType } from "@assoc-etl/core"
import { AssociationsApi, HubSpotObjectType, RequestBudget } from "@assoc-etl/hubspot"
import { FileSystem } from "@effect/platform"
import { Effect, Either, identity, ParseResult, Schema } from "effect"
import * as ByteSize from "./ByteSize.js"
import { InvalidArgument } from "./CliError.js"

/** An object type HubSpot can have (see `HubSpotObjectType`): "foo" is refused before any request. */
export const HubSpotType = Schema.compose(
  Schema.String.pipe(
    Schema.filter((s) => Either.match(HubSpotObjectType.check(s), { onLeft: identity, onRight: () => true }))
  ),
  ObjectType.ObjectType
)

/** `from:to`, both object types HubSpot can have. */
export const PairText = Schema.transformOrFail(Schema.String, Schema.Struct({ fromType: HubSpotType, toType: HubSpotType }), {
  strict: true,
  decode: (text, _, ast) => {
    const parts = text.split(":").map((p) => p.trim())
    return parts.length === 2
      ? ParseResult.succeed({ fromType: parts[0]!, toType: parts[1]! })
      : ParseResult.fail(new ParseResult.Type(ast, text, `expected FROM:TO (contacts:companies), got ${JSON.stringify(text)}`))
  },
  encode: (pair) => ParseResult.succeed(`${pair.fromType}:${pair.toType}`)
})

/** Pairs, none twice. */
const distinct = <S extends Schema.Schema.Any>(schema: S) =>
  schema.pipe(Schema.filter((pairs: ReadonlyArray<AssociationRow.Pair>) => {
    const seen = new Set<string>()
    for (const p of pairs) {
      const key = `${p.fromType}:${p.toType}`
      if (seen.has(key)) return `${key} is given twice`
      seen.add(key)
    }
    return pairs.length > 0 || "expected at least one FROM:TO pair"
  }))

/** `--pairs contacts:companies,deals:contacts`. */
export const PairsText = distinct(
  Schema.transform(Schema.String, Schema.Array(Schema.String), {
    strict: true,
    decode: (text) => text.split(",").map((p) => p.trim()).filter((p) => p !== ""),
    encode: (pairs) => pairs.join(",")
  }).pipe(Schema.compose(Schema.Array(PairText)))
)

/** A pair's directory under a job's root: `contacts-companies`, the types as given. */
export const pairDirectory = (pair: AssociationRow.Pair): string => `${pair.fromType}-${pair.toType}`

const int = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))

/** The memory budget of an export (`--memory`): 64 KiB or more (one heavy answer is about 70 KB). */
export const MemoryBudget = ByteSize.atLeast(2 ** 16, "64KiB")

export const JobFile = Schema.Struct({
  from: Schema.optionalWith(HubSpotType, { exact: true }),
  to: Schema.optionalWith(HubSpotType, { exact: true }),
  pairs: Schema.optionalWith(Schema.Union(distinct(Schema.Array(PairText)), PairsText), { exact: true }),
  out: Schema.optionalWith(Schema.NonEmptyString, { exact: true }),
  ids: Schema.optionalWith(Schema.NonEmptyString, { exact: true }),
  since: Schema.optionalWith(Schema.NonEmptyString, { exact: true }),
  idsFrom: Schema.optionalWith(Schema.NonEmptyString, { exact: true }),
  diffAgainst: Schema.optionalWith(Schema.NonEmptyString, { exact: true }),
  skipBadLines: Schema.optionalWith(Schema.Boolean, { exact: true }),
  format: Schema.optionalWith(Schema.Literal("ndjson", "parquet"), { exact: true }),
  gzip: Schema.optionalWith(Schema.Boolean, { exact: true }),
  compression: Schema.optionalWith(Schema.Literal("snappy", "zstd", "none"), { exact: true }),
  partRows: Schema.optionalWith(int(1, Number.MAX_SAFE_INTEGER), { exact: true }),
  baseUrl: Schema.optionalWith(Schema.NonEmptyString, { exact: true }),
  apiVersion: Schema.optionalWith(Schema.Literal("2026-03", "2026-09"), { exact: true }),
  batchSize: Schema.optionalWith(int(1, AssociationsApi.maxBatchInputs), { exact: true }),
  concurrency: Schema.optionalWith(int(1, 64), { exact: true }),
  memory: Schema.optionalWith(MemoryBudget, { exact: true }),
  rateLimit: Schema.optionalWith(RequestBudget.Limit, { exact: true }),
  maxRetries: Schema.optionalWith(int(0, 100), { exact: true }),
  logFormat: Schema.optionalWith(Schema.Literal("logfmt", "json"), { exact: true })
})
export type JobFile = typeof JobFile.Type

const decode = Schema.decodeUnknownEither(Schema.parseJson(JobFile), { onExcessProperty: "error" })

/** The job file at `file`, decoded; every refusal names the file and the field (exit 2). */
export const read = (file: string): Effect.Effect<JobFile, InvalidArgument, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bad = (detail: string) => new InvalidArgument({ flag: "--job", detail: `${file}: ${detail}` })
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => bad(e._tag === "SystemError" && e.reason === "NotFound" ? "no such file" : e.message))
    )
    const decoded = decode(text)
    if (Either.isRight(decoded)) return decoded.right
    // The deepest issue: of a union (`pairs` as a string or a list), the one of the alternative that was meant.
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    const issue = issues.reduce<(typeof issues)[number] | undefined>(
      (best, i) => (best === undefined || i.path.length > best.path.length ? i : best),
      undefined
    )
    const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `
    return yield* bad(`${where}${issue?.message ?? "not a job file"}`)
  })
