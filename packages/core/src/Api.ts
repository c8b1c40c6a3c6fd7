/**
 * The wire shapes of the HubSpot endpoints assoc-etl reads, as schemas.
 *
 * Decoding is tolerant of fields HubSpot adds later (excess properties are
 * ignored) and strict on the fields we use: an answer without `results`, or
 * with an id that is not digits, fails to decode instead of losing rows.
 */
import { Effect, ParseResult, Schema } from "effect"
import * as BatchReadResults from "./internal/batchReadResults.js"
import * as JsonText from "./internal/jsonText.js"
import { ObjectId } from "./ObjectId.js"

// ---------------------------------------------------------------------------
// Associations batch read: POST /crm/associations/2026-03/{from}/{to}/batch/read
// (and its twin POST /crm/v4/associations/{from}/{to}/batch/read)
// ---------------------------------------------------------------------------

/** HubSpot's limit of inputs in one batch-read request. */
export const maxBatchInputs = 1000

export const BatchReadInput = Schema.Struct({
  id: ObjectId,
  after: Schema.optionalWith(Schema.String, { exact: true })
})
export type BatchReadInput = typeof BatchReadInput.Type

export const BatchReadRequest = Schema.Struct({
  inputs: Schema.Array(BatchReadInput)
})
export type BatchReadRequest = typeof BatchReadRequest.Type

export const Int32 = Schema.Int.pipe(Schema.between(-2147483648, 2147483647))

export const AssociationType = Schema.Struct({
  category: Schema.NonEmptyString,
  typeId: Int32,
  /** `null` when the association has no label; a missing label is read as `null`. */
  label: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})
export type AssociationType = typeof AssociationType.Type

/**
 * HubSpot's v4 answers carry `toObjectId` as a JSON number, DESIGN.md's
 * contract as a string. Both decode to a string of digits; a number that is
 * not a safe integer has already lost digits in `JSON.parse` and is refused
 * (the client quotes bare ids before parsing, see `quoteBareIds`).
 */
export const WireObjectId = Schema.Union(
  ObjectId,
  Schema.transformOrFail(Schema.Number, ObjectId, {
    strict: true,
    decode: (n, _, ast) =>
      Number.isSafeInteger(n) && n >= 0
        ? ParseResult.succeed(String(n))
        : ParseResult.fail(new ParseResult.Type(ast, n, `object id ${n} is not a safe integer`)),
    encode: (s) => ParseResult.succeed(Number(s))
  })
)


export const AssociatedObject = Schema.Struct({
  toObjectId: WireObjectId,
  associationTypes: Schema.Array(AssociationType)
})
export type AssociatedObject = typeof AssociatedObject.Type

export const NextPage = Schema.Struct({
  after: Schema.String,
  link: Schema.optionalWith(Schema.String, { exact: true })
})

export const Paging = Schema.Struct({
  next: Schema.optionalWith(NextPage, { exact: true })
})

export const BatchReadResult = Schema.Struct({
  from: Schema.Struct({ id: WireObjectId }),
  to: Schema.Array(AssociatedObject),
  paging: Schema.optionalWith(Paging, { exact: true })
})
export type BatchReadResult = typeof BatchReadResult.Type

/** One refused input (or group of inputs) in a 207 answer. */
export const BatchReadError = Schema.Struct({
  status: Schema.optionalWith(Schema.String, { exact: true }),
  category: Schema.String,
  message: Schema.String,
  subCategory: Schema.optionalWith(Schema.Unknown, { exact: true }),
  context: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }), {
    exact: true
  }),
  id: Schema.optionalWith(Schema.String, { exact: true })
})
export type BatchReadError = typeof BatchReadError.Type

const batchReadEnvelope = {
  status: Schema.String,
  numErrors: Schema.optionalWith(Schema.Number, { exact: true }),
  errors: Schema.optionalWith(Schema.Array(BatchReadError), { exact: true }),
  startedAt: Schema.optionalWith(Schema.String, { exact: true }),
  completedAt: Schema.optionalWith(Schema.String, { exact: true }),
  requestedAt: Schema.optionalWith(Schema.String, { exact: true }),
  links: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true })
}

export const BatchReadResponse = Schema.Struct({ ...batchReadEnvelope, results: Schema.Array(BatchReadResult) })
export type BatchReadResponse = typeof BatchReadResponse.Type

/** A batch-read answer with its results left undecoded. */
export const BatchReadEnvelope = Schema.Struct({ ...batchReadEnvelope, results: Schema.Array(Schema.Unknown) })
export type BatchReadEnvelope = typeof BatchReadEnvelope.Type

const decodeBatchReadEnvelope = Schema.decodeUnknown(BatchReadEnvelope)
const decodeBatchReadResponseFully = Schema.decodeUnknown(BatchReadResponse)

/**
 * Decodes a batch-read answer (parsed JSON) with `BatchReadResponse`: the same
 * values and the same errors, but the results of the common shape are decoded
 * by hand (tens of thousands of association types an answer, where the
 * schema's generic walk was the export's largest cost after `JSON.parse`).
 */
export const decodeBatchReadResponse = (u: unknown): Effect.Effect<BatchReadResponse, ParseResult.ParseError> =>
  Effect.matchEffect(decodeBatchReadEnvelope(u), {
    onFailure: () => decodeBatchReadResponseFully(u),
    onSuccess: (envelope) => {
      const results = BatchReadResults.decode(envelope.results)
      return results === undefined ? decodeBatchReadResponseFully(u) : Effect.succeed({ ...envelope, results })
    }
  })

// ---------------------------------------------------------------------------
// Errors: the body of 400, 401, 403, 404, 429 and most 5xx answers
// ---------------------------------------------------------------------------

export const ErrorDetail = Schema.Struct({
  message: Schema.optionalWith(Schema.String, { exact: true }),
  context: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }), {
    exact: true
  })
})

export const ErrorBody = Schema.Struct({
  status: Schema.optionalWith(Schema.String, { exact: true }),
  message: Schema.String,
  category: Schema.optionalWith(Schema.String, { exact: true }),
  correlationId: Schema.optionalWith(Schema.String, { exact: true }),
  errorType: Schema.optionalWith(Schema.String, { exact: true }),
  policyName: Schema.optionalWith(Schema.String, { exact: true }),
  errors: Schema.optionalWith(Schema.Array(ErrorDetail), { exact: true }),
  links: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true })
})
export type ErrorBody = typeof ErrorBody.Type

/** The scopes a 403 `MISSING_SCOPES` answer names, in the order given. */
export const missingScopes = (body: ErrorBody): ReadonlyArray<string> =>
  (body.errors ?? []).flatMap((e) => {
    const ctx = e.context ?? {}
    return [...(ctx["requiredGranularScopes"] ?? []), ...(ctx["requiredScopes"] ?? [])]
  })

// ---------------------------------------------------------------------------
// Listing objects: GET /crm/objects/2026-03/{type} and GET /crm/v3/objects/{type}
// ---------------------------------------------------------------------------

/** HubSpot's limit of objects in one page of the list and search endpoints. */
export const maxListLimit = 100
export const maxSearchLimit = 200
/** HubSpot's search endpoint answers at most this many results for one query. */
export const maxSearchResults = 10_000

export const ObjectRecord = Schema.Struct({
  id: WireObjectId,
  properties: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) }), {
    exact: true
  })
})
export type ObjectRecord = typeof ObjectRecord.Type

export const ListObjectsResponse = Schema.Struct({
  results: Schema.Array(ObjectRecord),
  paging: Schema.optionalWith(Paging, { exact: true })
})
export type ListObjectsResponse = typeof ListObjectsResponse.Type

// ---------------------------------------------------------------------------
// Search: POST /crm/v3/objects/{type}/search
// ---------------------------------------------------------------------------

export const SearchFilter = Schema.Struct({
  propertyName: Schema.String,
  operator: Schema.Literal("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "HAS_PROPERTY"),
  value: Schema.optionalWith(Schema.String, { exact: true }),
  highValue: Schema.optionalWith(Schema.String, { exact: true })
})
export type SearchFilter = typeof SearchFilter.Type

export const SearchRequest = Schema.Struct({
  filterGroups: Schema.Array(Schema.Struct({ filters: Schema.Array(SearchFilter) })),
  sorts: Schema.optionalWith(
    Schema.Array(Schema.Struct({ propertyName: Schema.String, direction: Schema.Literal("ASCENDING", "DESCENDING") })),
    { exact: true }
  ),
  properties: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  limit: Schema.optionalWith(Schema.Int, { exact: true }),
  after: Schema.optionalWith(Schema.String, { exact: true })
})
export type SearchRequest = typeof SearchRequest.Type

export const SearchResponse = Schema.Struct({
  total: Schema.Int,
  results: Schema.Array(ObjectRecord),
  paging: Schema.optionalWith(Paging, { exact: true })
})
export type SearchResponse = typeof SearchResponse.Type

// ---------------------------------------------------------------------------
// Parsing bodies
// ---------------------------------------------------------------------------

const bareIdPattern = /"(toObjectId|id)":(\s*)(\d+)/g

/**
 * Quotes ids that HubSpot sends as bare JSON numbers (`"toObjectId":123`) so
 * that `JSON.parse` keeps every digit of ids beyond 2^53. Escaped quotes in
 * string values (`\"id\":1`) never match, since the pattern needs a quote
 * right after the name.
 */
export const quoteBareIds = (text: string): string =>
  text.includes("Id\":") || text.includes("\"id\":") ? text.replace(bareIdPattern, "\"$1\":$2\"$3\"") : text

/**
 * An HTTP body as text, exactly as undici's `text()` decodes it (a leading
 * UTF-8 BOM dropped, bad bytes as U+FFFD): for showing a body to a user.
 */
export const utf8Text: (bytes: Uint8Array) => string = JsonText.utf8

/**
 * An HTTP body as text for `JSON.parse`: its non-ASCII characters written as
 * `\uXXXX` escapes, so that `JSON.parse(jsonText(bytes))` returns what
 * `JSON.parse(utf8Text(bytes))` returns, or throws where it throws. Where that
 * cannot be done or would not pay (a body that is not UTF-8, has a non-ASCII
 * character right after a backslash, or is mostly non-ASCII), it is
 * `utf8Text(bytes)` itself.
 * About half the memory of the two-byte string `utf8Text` makes of a body with
 * a character past U+00FF: on a 2.2 MB batch-read answer with a few non-ASCII
 * labels, decoding and `JSON.parse` take 21-23 ms instead of 29-32 ms (see
 * `internal/jsonText.ts`).
 *
 * `quoteBareIds` reads it as it reads `utf8Text`: its pattern could only meet
 * a non-ASCII character through `\s*`, right after `"id":`, which is outside a
 * string (or `id` is), where either text is invalid JSON. The text is not for
 * a user's eyes: show `utf8Text`.
 */
export const jsonText: (bytes: Uint8Array) => string = JsonText.text
