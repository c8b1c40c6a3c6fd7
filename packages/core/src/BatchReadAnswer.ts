/**
 * A batch-read answer as an export uses it: the refused inputs, each result's
 * from id and cursor, and the rows in canonical order.
 *
 * Two ways to one value: `fromBody` reads the common answer straight from its
 * bytes (no parsed tree, no row object: its rows write their NDJSON by copying
 * the ids' bytes), and `fromResponse` wraps an answer decoded by the
 * `BatchReadResponse` schema, the reference. `fromBody` returns `undefined`
 * for anything it does not read exactly as the reference does, so a caller
 * parses and decodes that body instead (see `internal/batchReadScan.ts`).
 */
import { Either, Schema } from "effect"
import * as Api from "./Api.js"
import * as AssociationRow from "./AssociationRow.js"
import * as Scan from "./internal/batchReadScan.js"
import { latin1 } from "./internal/latin1.js"
import type { ObjectId } from "./ObjectId.js"

export interface Result {
  readonly fromId: ObjectId
  /** The cursor of the from object's next page, if it has one. */
  readonly after: string | undefined
}

export interface BatchReadAnswer {
  readonly status: string
  /** The refused inputs (a 207's `errors[]`). */
  readonly errors: ReadonlyArray<Api.BatchReadError>
  /** In answer order. */
  readonly results: ReadonlyArray<Result>
  /**
   * Every row, in canonical order, as `AssociationRow.flatten` orders them: the order of `inputOrder` (the
   * request's inputs), then page order; results for ids missing from `inputOrder` last, in answer order.
   */
  readonly rows: (pair: AssociationRow.Pair, inputOrder?: ReadonlyArray<ObjectId>) => AssociationRow.Rows
}

/** An answer decoded by the `BatchReadResponse` schema. */
export const fromResponse = (response: Api.BatchReadResponse): BatchReadAnswer => ({
  status: response.status,
  errors: response.errors ?? [],
  results: response.results.map((r) => ({ fromId: r.from.id, after: r.paging?.next?.after })),
  rows: (pair, inputOrder) => AssociationRow.rowsOf(AssociationRow.flatten(pair, response, inputOrder))
})

const decodeEnvelope = Schema.decodeUnknownEither(Api.BatchReadEnvelope)

/**
 * The answer in `bytes` (a 200 or 207 body), read without parsing it whole; `undefined` when it is not the
 * common shape, and the caller must parse and decode it (`Api.decodeBatchReadResponse`).
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
    results[i] = { fromId: scanned.fromIds[i] as ObjectId, after: scanned.afters[i] }
  }
  return {
    status: envelope.right.status,
    errors: envelope.right.errors ?? [],
    results,
    rows: (pair, inputOrder) => new ScannedRows(scanned, pair, canonicalOrder(scanned.fromIds, inputOrder))
  }
}

/**
 * The indexes of the results in canonical order, as `AssociationRow.flatten` orders them: each at the first
 * place of its id in `inputOrder`, then the others in answer order (the scan declines an answer that repeats
 * a from id).
 */
const canonicalOrder = (
  fromIds: ReadonlyArray<string>,
  inputOrder: ReadonlyArray<ObjectId> | undefined
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

const QUOTE = 0x22

/** The rows of a scanned answer: their ids are bytes of its body. */
class ScannedRows implements AssociationRow.Rows {
  readonly length: number
  constructor(
    private readonly scanned: Scan.Scanned,
    private readonly pair: AssociationRow.Pair,
    private readonly order: ReadonlyArray<number>
  ) {
    this.length = scanned.rowCount
  }

  toArray(): ReadonlyArray<AssociationRow.AssociationRow> {
    const { body, fromIds, rowStart, rows: at, types } = this.scanned
    const rows: Array<AssociationRow.AssociationRow> = []
    for (const i of this.order) {
      const fromId = fromIds[i]!
      for (let r = rowStart[i]!; r < rowStart[i + 1]!; r++) {
        const t = types[at[3 * r + 2]!]!
        rows.push({
          from_object_type: this.pair.fromType,
          from_object_id: fromId,
          to_object_type: this.pair.toType,
          to_object_id: latin1(body, at[3 * r]!, at[3 * r + 1]!),
          association_category: t.category,
          association_type_id: t.typeId,
          association_label: t.label
        })
      }
    }
    return rows
  }

  writeNdjson(out: AssociationRow.NdjsonWriter): void {
    const { body, fromIds, rowStart, rows: at, types } = this.scanned
    const head = out.head(this.pair.fromType)
    const middle = out.middle(this.pair.toType)
    const tails = types.map((t) => out.tail(t.category, t.typeId, t.label))
    for (const i of this.order) {
      const fromId = fromIds[i]!
      for (let r = rowStart[i]!; r < rowStart[i + 1]!; r++) {
        const tail = tails[at[3 * r + 2]!]!
        out.reserve(head.length)
        out.put(head)
        out.id(fromId)
        const start = at[3 * r]!
        const end = at[3 * r + 1]!
        out.reserve(middle.length + end - start + 2 + tail.length)
        out.put(middle)
        out.bytes[out.at++] = QUOTE
        out.putRange(body, start, end)
        out.bytes[out.at++] = QUOTE
        out.put(tail)
      }
    }
  }
}
