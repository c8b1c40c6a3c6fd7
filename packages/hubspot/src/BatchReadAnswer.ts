/**
 * A batch-read answer as an export uses it: the refused inputs, each result's
 * from id and cursor, and the rows in canonical order.
 *
 * Two ways to one value: `fromBody` reads the common answer straight from its
 * bytes (no parsed tree, no row object: its rows are a `RowBatch` over the
 * body), and `fromResponse` wraps an answer decoded by the
 * `BatchReadResponse` schema, the reference. `fromBody` returns `undefined`
 * for anything it does not read exactly as the reference does, so a caller
 * parses and decodes that body instead (see `internal/batchReadScan.ts`).
 */
import { type AssociationRow, type ObjectId, RowBatch } from "@assoc-etl/core"
import { Either, Schema } from "effect"
import * as AssociationsApi from "./AssociationsApi.js"
import * as Flatten from "./Flatten.js"
import * as Scan from "./internal/batchReadScan.js"

export interface Result {
  readonly fromId: ObjectId.ObjectId
  /** The cursor of the from object's next page, if it has one. */
  readonly after: string | undefined
}

export interface BatchReadAnswer {
  readonly status: string
  /** The refused inputs (a 207's `errors[]`). */
  readonly errors: ReadonlyArray<AssociationsApi.BatchReadError>
  /** In answer order. */
  readonly results: ReadonlyArray<Result>
  /**
   * Every row, in canonical order, as `Flatten.rows` orders them: the order of `inputOrder` (the request's
   * inputs), then page order; results for ids missing from `inputOrder` last, in answer order.
   */
  readonly rows: (pair: AssociationRow.Pair, inputOrder?: ReadonlyArray<ObjectId.ObjectId>) => RowBatch.RowBatch
}

/** An answer decoded by the `BatchReadResponse` schema. */
export const fromResponse = (response: AssociationsApi.BatchReadResponse): BatchReadAnswer => ({
  status: response.status,
  errors: response.errors ?? [],
  results: response.results.map((r) => ({ fromId: r.from.id, after: r.paging?.next?.after })),
  rows: (pair, inputOrder) => RowBatch.fromRows(Flatten.rows(pair, response, inputOrder))
})

const decodeEnvelope = Schema.decodeUnknownEither(AssociationsApi.BatchReadEnvelope)

/**
 * The answer in `bytes` (a 200 or 207 body), read without parsing it whole; `undefined` when it is not the
 * common shape, and the caller must parse and decode it (`AssociationsApi.decodeBatchReadResponse`).
 */
export const fromBody = (bytes: Uint8Array): BatchReadAnswer | undefined => {
  const scanned = Scan.scan(bytes)
  if (scanned === undefined) return undefined
  let json: unknown
  try {
    json = JSON.parse(scanned.envelope)
  } catch {
    return undefined
  }
  const envelope = decodeEnvelope(json)
  if (Either.isLeft(envelope)) return undefined
  const results: Array<Result> = new Array(scanned.fromIds.length)
  for (let i = 0; i < results.length; i++) {
    results[i] = { fromId: scanned.fromIds[i] as ObjectId.ObjectId, after: scanned.afters[i] }
  }
  return {
    status: envelope.right.status,
    errors: envelope.right.errors ?? [],
    results,
    rows: (pair, inputOrder) => {
      const groups = canonicalOrder(scanned.fromIds, inputOrder).map((i): RowBatch.Group => ({
        fromType: pair.fromType,
        fromId: scanned.fromIds[i]!,
        toType: pair.toType,
        start: scanned.rowStart[i]!,
        end: scanned.rowStart[i + 1]!
      }))
      return new RowBatch.RowBatch(scanned.body, groups, scanned.rows, scanned.types, true)
    }
  }
}

/**
 * The indexes of the results in canonical order, as `Flatten.rows` orders them: each at the first place of its
 * id in `inputOrder`, then the others in answer order (the scan declines an answer that repeats a from id).
 */
const canonicalOrder = (
  fromIds: ReadonlyArray<string>,
  inputOrder: ReadonlyArray<ObjectId.ObjectId> | undefined
): ReadonlyArray<number> => {
  if (inputOrder === undefined) return fromIds.map((_, i) => i)
  const index = new Map<string, number>()
  fromIds.forEach((id, i) => index.set(id, i))
  const order: Array<number> = []
  for (const id of inputOrder) {
    const i = index.get(id)
    if (i !== undefined) {
      order.push(i)
      index.delete(id)
    }
  }
  for (const i of index.values()) order.push(i)
  return order
}
