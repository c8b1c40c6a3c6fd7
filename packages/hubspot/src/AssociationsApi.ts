/**
 * The wire shapes of the HubSpot endpoints assoc-etl reads, as schemas: the
 * reference reading of every answer (`BatchReadAnswer` reads the common
 * batch-read answer faster, and must agree with it).
 *
 * Decoding is tolerant of fields HubSpot adds later (excess properties are
 * ignored) and strict on the fields we use: an answer without `results`, or
 * with an id that is not digits, fails to decode instead of losing rows.
 */
import { AssociationRow, ObjectId } from "@assoc-etl/core"
import { ParseResult, Schema } from "effect"
import { Buffer } from "node:buffer"

// ---------------------------------------------------------------------------
// Associations batch read: POST /crm/associations/2026-03/{from}/{to}/batch/read
// (and its twins POST /crm/associations/2026-09/... and POST /crm/v4/associations/{from}/{to}/batch/read)
// ---------------------------------------------------------------------------

/** HubSpot's limit of inputs in one batch-read request. */
export const maxBatchInputs = 1000

export const BatchReadInput = Schema.Struct({
  id: ObjectId.ObjectId,
  after: Schema.optionalWith(Schema.String, { exact: true })
})
export type BatchReadInput = typeof BatchReadInput.Type

export const BatchReadRequest = Schema.Struct({
  inputs: Schema.Array(BatchReadInput)
})
export type BatchReadRequest = typeof BatchReadRequest.Type

export const AssociationType = Schema.Struct({
  category: Schema.NonEmptyString,
  typeId: AssociationRow.Int32,
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
  ObjectId.ObjectId,
  Schema.transformOrFail(Schema.Number, ObjectId.ObjectId, {
    strict: true,
    decode: (n, _, ast) =>
      Number.isSafeInteger(n) && n >= 0
        ? ParseResult.succeed(String(n))
        : ParseResult.fail(new ParseResult.Type(ast, n, `object id ${n} is not a safe integer`)),
    encode: (s) => ParseResult.succeed(Number(s))
  })
)

/**
 * A to-object of a result. Some answers name its type (`"toObjectTypeId": "0-2"`), and a result its from type
 * (`"fromObjectTypeId"`): both are left unread, as any member we do not use, since the path names the pair.
 */
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

/**
 * One refused input (or group of inputs): an item of `errors`, in a 207 answer, or in a 200 on version 2026-09,
 * which reports partial failures so. The status code says nothing the items do not: both are read alike.
 */
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

/**
 * The `status` of a batch answer, as the reference lists them. Only a `COMPLETE` answer (or one without a
 * `status`, as older versions send) is whole: HubSpot leaves an id with no associations out of `results`, so
 * the results of an answer that stopped early look like ids without associations (`BatchReadAnswer.flawOf`).
 */
export const BatchStatus = Schema.Literal("PENDING", "PROCESSING", "CANCELED", "COMPLETE")
export type BatchStatus = typeof BatchStatus.Type

/** The one `status` of a batch answer whose results are whole. */
export const completeStatus: BatchStatus = "COMPLETE"

const batchReadEnvelope = {
  /** Read as any string, so that a status HubSpot adds later is refused as not complete, not as a bad shape. */
  status: Schema.optionalWith(Schema.String, { exact: true }),
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

export const decodeBatchReadResponse = Schema.decodeUnknown(BatchReadResponse)

// ---------------------------------------------------------------------------
// The labels catalogue: GET /crm/associations/2026-03/{from}/{to}/labels
// (and GET /crm/v4/associations/{from}/{to}/labels)
// ---------------------------------------------------------------------------

/**
 * One association type defined for a pair, as the labels catalogue lists it, and read as `AssociationType` is.
 * The catalogue holds every type defined, those no association uses yet too.
 */
export const AssociationLabel = Schema.Struct({
  category: Schema.NonEmptyString,
  typeId: AssociationRow.Int32,
  /** `null` for a type without a label; a missing label is read as `null`. */
  label: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})
export type AssociationLabel = typeof AssociationLabel.Type

export const LabelsResponse = Schema.Struct({
  results: Schema.Array(AssociationLabel)
})
export type LabelsResponse = typeof LabelsResponse.Type

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
// The account behind the token: GET /account-info/2026-03/details (and GET /account-info/v3/details)
// ---------------------------------------------------------------------------

/** The account's details; only `portalId` is relied on, the rest is read when present. */
export const AccountDetails = Schema.Struct({
  portalId: Schema.Int,
  accountType: Schema.optionalWith(Schema.String, { exact: true }),
  timeZone: Schema.optionalWith(Schema.String, { exact: true }),
  companyCurrency: Schema.optionalWith(Schema.String, { exact: true }),
  additionalCurrencies: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  utcOffset: Schema.optionalWith(Schema.String, { exact: true }),
  utcOffsetMilliseconds: Schema.optionalWith(Schema.Number, { exact: true }),
  uiDomain: Schema.optionalWith(Schema.String, { exact: true }),
  dataHostingLocation: Schema.optionalWith(Schema.String, { exact: true })
})
export type AccountDetails = typeof AccountDetails.Type

// ---------------------------------------------------------------------------
// Parsing bodies
// ---------------------------------------------------------------------------

const bareIdPattern = /"(toObjectId|id)"(\s*):(\s*)(\d+)/g

/**
 * Quotes ids that HubSpot sends as bare JSON numbers (`"toObjectId":123`, or
 * `"toObjectId" : 123`: JSON allows whitespace on either side of the colon)
 * so that `JSON.parse` keeps every digit of ids beyond 2^53. Escaped quotes
 * in string values (`\"id\":1`) never match, since the pattern needs a quote
 * right after the name; a quote and a colon after it end a key.
 */
export const quoteBareIds = (text: string): string =>
  text.includes("Id\"") || text.includes("\"id\"") ? text.replace(bareIdPattern, "\"$1\"$2:$3\"$4\"") : text

/**
 * An HTTP body as text, exactly as undici's `text()` decodes it: a leading UTF-8 BOM dropped, bad bytes as
 * U+FFFD.
 */
export const utf8Text = (bytes: Uint8Array): string => {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const bom = body.length > 2 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0
  return body.toString("utf8", bom, body.length)
}
