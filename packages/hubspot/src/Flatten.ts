/**
 * HubSpot's batch-read answer as rows: one row per (from, to, association
 * type), and one error row per input refused. The reference reading, which
 * the byte scanner (`internal/batchReadScan.ts`) must agree with.
 */
import { type AssociationRow, type ErrorRow, type ObjectId } from "@assoc-etl/core"
import type { BatchReadError, BatchReadResponse, BatchReadResult } from "./AssociationsApi.js"

type To = BatchReadResult["to"][number]

/** True when a to-object appears twice in a page (not seen from HubSpot, but then its rows need a key each). */
const hasRepeatedTarget = (to: ReadonlyArray<To>): boolean => {
  if (to.length < 2) return false
  const ids = new Set<string>()
  for (const o of to) {
    if (ids.has(o.toObjectId)) return true
    ids.add(o.toObjectId)
  }
  return false
}

/** True when `types[i]` repeats an earlier type of the same to-object (a few types each: a scan beats a Set). */
const repeatsEarlier = (types: To["associationTypes"], i: number): boolean => {
  const t = types[i]!
  for (let j = 0; j < i; j++) {
    const u = types[j]!
    if (u.typeId === t.typeId && u.category === t.category) return true
  }
  return false
}

/** Appends the rows of one `from` object's page of associations to `rows`. */
const appendRows = (pair: AssociationRow.Pair, result: BatchReadResult, rows: Array<AssociationRow.AssociationRow>): void => {
  const fromId = result.from.id
  // A key a row only when a to-object repeats, or has many types; otherwise a repeat can only be within one
  // to-object's few types, found by a scan.
  let seen = hasRepeatedTarget(result.to) ? new Set<string>() : undefined
  for (const to of result.to) {
    const types = to.associationTypes
    if (types.length > 16) seen ??= new Set()
    for (let i = 0; i < types.length; i++) {
      const t = types[i]!
      if (seen !== undefined) {
        const key = `${to.toObjectId}\u0000${t.category}\u0000${t.typeId}`
        if (seen.has(key)) continue
        seen.add(key)
      } else if (i > 0 && repeatsEarlier(types, i)) continue
      rows.push({
        from_object_type: pair.fromType,
        from_object_id: fromId,
        to_object_type: pair.toType,
        to_object_id: to.toObjectId,
        association_category: t.category,
        association_type_id: t.typeId,
        association_label: t.label
      })
    }
  }
}

/**
 * Every row of one batch-read answer, in canonical order: the order of `inputOrder` (the request's inputs),
 * then page order; an association type met twice in one page yields one row. A result whose `from` id was
 * already met in the answer is skipped, so an answer never yields a row twice. Results for ids missing from
 * `inputOrder` come last, in answer order.
 */
export const rows = (
  pair: AssociationRow.Pair,
  response: Pick<BatchReadResponse, "results">,
  inputOrder?: ReadonlyArray<ObjectId.ObjectId>
): Array<AssociationRow.AssociationRow> => {
  const byId = new Map<string, BatchReadResult>()
  for (const result of response.results) {
    if (!byId.has(result.from.id)) byId.set(result.from.id, result)
  }
  const out: Array<AssociationRow.AssociationRow> = []
  const push = (result: BatchReadResult) => appendRows(pair, result, out)
  if (inputOrder !== undefined) {
    for (const id of inputOrder) {
      const result = byId.get(id)
      if (result !== undefined) {
        push(result)
        byId.delete(id)
      }
    }
  }
  for (const result of byId.values()) push(result)
  return out
}

const subCategoryText = (u: unknown): string | null =>
  u === undefined || u === null ? null : typeof u === "string" ? u : JSON.stringify(u)

/** The ids one error names, from its `context` (`fromObjectId`, `ids`, ...), in order, without repeats. */
export const idsOf = (error: BatchReadError): ReadonlyArray<string> => {
  const ids = new Set<string>()
  for (const values of Object.values(error.context ?? {})) {
    for (const v of values) ids.add(v)
  }
  return [...ids]
}

/** What HubSpot may say, as a 207 item, of an input that has no associations: zero rows, not a refusal. */
export const noAssociationsFound = "crm.associations.NO_ASSOCIATIONS_FOUND"

/**
 * One error row per id the error names, or one row with a `null` id when it names none; none for an input
 * that merely has no associations (`noAssociationsFound`).
 */
export const errorRows = (pair: AssociationRow.Pair, error: BatchReadError): Array<ErrorRow.ErrorRow> => {
  if (error.subCategory === noAssociationsFound) return []
  const base = {
    from_object_type: pair.fromType,
    to_object_type: pair.toType,
    category: error.category,
    sub_category: subCategoryText(error.subCategory),
    message: error.message
  }
  const ids = idsOf(error)
  return ids.length === 0 ? [{ ...base, object_id: null }] : ids.map((id) => ({ ...base, object_id: id }))
}
