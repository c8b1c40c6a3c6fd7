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
 * Both read `status` from the members other than `results`, by the same schema.
 *
 * An answer is used only when it is whole and for what was asked (`flawOf`):
 * its `status` `COMPLETE` (or absent, as older versions send), and each id of
 * its `results` one that was asked, at most once an input. HubSpot leaves an
 * id with no associations out of `results`, so an answer that stopped early
 * (`PENDING`, `PROCESSING`, `CANCELED`) looks like ids without associations:
 * taken, it would mark them done with no rows.
 */
import { type AssociationRow, type ObjectId, RowBatch } from "@assoc-etl/core"
import { Either, Schema } from "effect"
import * as AssociationsApi from "./AssociationsApi.js"
import * as Flatten from "./Flatten.js"
import * as AnswerBody from "./internal/answerBody.js"
import * as Scan from "./internal/batchReadScan.js"

export interface Result {
  readonly fromId: ObjectId.ObjectId
  /** The cursor of the from object's next page, if it has one. */
  readonly after: string | undefined
}

export interface BatchReadAnswer {
  /** `COMPLETE`, another of `AssociationsApi.BatchStatus`, or anything HubSpot adds; absent in older versions. */
  readonly status: string | undefined
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
 *
 * An answer takes `bytes`: when its rows do not point into them (a large answer keeps its to ids' digits only),
 * they are given back as it is returned (`AnswerBody.giveBack`: a large body's buffer, lent by the client's body
 * reader, serves a later body), so the caller must not read them again.
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
  if (scanned.body !== bytes) AnswerBody.giveBack(bytes)
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

/**
 * What makes an answer unusable as a whole, as a metric tags it: its status (`OTHER_STATUS` for one the
 * reference does not list), an id in `results` that was not asked (`UNASKED_ID`), or an id more often in
 * `results` than in the inputs (`REPEATED_ID`).
 */
export const FlawKind = Schema.Literal("PENDING", "PROCESSING", "CANCELED", "OTHER_STATUS", "UNASKED_ID", "REPEATED_ID")
export type FlawKind = typeof FlawKind.Type

export interface Flaw {
  readonly kind: FlawKind
  /** What is wrong, for a message: names the status, or the id. */
  readonly detail: string
}

const statusKinds: ReadonlySet<string> = new Set(["PENDING", "PROCESSING", "CANCELED"])

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/**
 * Why `answer` to `inputs` must not be used, if it must not: a `status` other than `COMPLETE` (an absent one is
 * complete), else an id of `results` that was not asked, else an id that `results` carry more often than the
 * inputs ask it with distinct cursors (a from id comes once an input: its next page is asked with its cursor, in
 * a later request). Costs a map of the inputs and a look at each result, nothing a row.
 */
export const flawOf = (
  answer: BatchReadAnswer,
  inputs: ReadonlyArray<{ readonly id: string; readonly after?: string | undefined }>
): Flaw | undefined => {
  const status = answer.status
  if (status !== undefined && status !== AssociationsApi.completeStatus) {
    const known = statusKinds.has(status)
    return {
      kind: known ? (status as FlawKind) : "OTHER_STATUS",
      detail: `its status is ${known ? status : JSON.stringify(status.slice(0, 40))}, not COMPLETE (${
        plural(answer.results.length, "result")
      } for ${plural(inputs.length, "input")})`
    }
  }
  const results = answer.results
  if (results.length === 0) return undefined
  // Per id: how many results it may still have, one a distinct cursor asked (ids are digits: no key is another's).
  const left = new Map<string, number>()
  const asked = new Set<string>()
  for (const input of inputs) {
    const key = input.after === undefined ? input.id : `${input.id} ${input.after}`
    if (asked.has(key)) continue
    asked.add(key)
    left.set(input.id, (left.get(input.id) ?? 0) + 1)
  }
  for (const result of results) {
    const n = left.get(result.fromId)
    if (n === undefined) {
      return { kind: "UNASKED_ID", detail: `its results name id ${result.fromId}, which was not asked` }
    }
    if (n === 0) {
      const id = result.fromId
      const times = results.filter((r) => r.fromId === id).length
      const cursors = [...asked].filter((k) => k === id || k.startsWith(`${id} `)).length
      return {
        kind: "REPEATED_ID",
        detail: `its results carry id ${id} ${times} times, asked ${cursors === 1 ? "once" : `${cursors} times`}`
      }
    }
    left.set(result.fromId, n - 1)
  }
  return undefined
}
