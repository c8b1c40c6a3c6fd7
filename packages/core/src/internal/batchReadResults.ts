/**
 * The common case of a batch-read answer's `results`, decoded by hand: ids
 * already strings of digits (the client quotes bare ids before parsing),
 * categories non-empty strings, type ids 32-bit integers, labels strings,
 * `null` or absent. The answer's schema decodes the same values to the same
 * output; this path only skips its per-field bookkeeping, which cost five
 * times `JSON.parse` on a 25,000-row answer. To-object and association-type
 * arrays whose elements already have exactly the decoded fields are returned
 * as they are (the usual case), not copied: one object fewer a row to make
 * and collect. Anything else (a bare number id,
 * a missing field, `paging: null`) returns `undefined`, and the caller decodes
 * with the schema, which accepts what it may and explains what it refuses.
 */
import type { BatchReadResult } from "../Api.js"
import { isObjectId, type ObjectId } from "../ObjectId.js"

type Fields = { readonly [key: string]: unknown }

const isFields = (u: unknown): u is Fields => typeof u === "object" && u !== null && !Array.isArray(u)

const wireId = (u: unknown): ObjectId | undefined => (typeof u === "string" && isObjectId(u) ? u : undefined)

const isInt32 = (u: unknown): u is number =>
  typeof u === "number" && Number.isInteger(u) && u >= -2147483648 && u <= 2147483647

type AssociationTypes = BatchReadResult["to"][number]["associationTypes"]

/** The number of enumerable keys of `o`, without allocating. */
const keyCount = (o: Fields): number => {
  let n = 0
  for (const _ in o) n++
  return n
}

/** An association type as it may come over the wire: its label may be absent. */
type WireType = { readonly category: string; readonly typeId: number; readonly label?: string | null | undefined }

/** Whether `t` is an association type the schema accepts (see `WireType`). */
export const isType = (t: unknown): t is WireType => {
  if (!isFields(t)) return false
  const { category, label, typeId } = t
  return typeof category === "string" && category.length > 0 && isInt32(typeId) &&
    (label === undefined || label === null || typeof label === "string")
}

/**
 * The association types of a to-object. The array itself when its types are exactly the decoded shape (the
 * usual case: no copy); a normalised copy when a label is absent or a type has fields of its own.
 */
const associationTypes = (u: unknown): AssociationTypes | undefined => {
  if (!Array.isArray(u)) return undefined
  let exact = true
  for (let i = 0; i < u.length; i++) {
    const t: unknown = u[i]
    if (!isType(t)) return undefined
    if (t.label === undefined || keyCount(t) !== 3) exact = false
  }
  if (exact) return u as AssociationTypes
  return (u as ReadonlyArray<WireType>).map((t) => ({ category: t.category, typeId: t.typeId, label: t.label ?? null }))
}

const paging = (u: unknown): BatchReadResult["paging"] | undefined => {
  if (!isFields(u)) return undefined
  const next = u["next"]
  if (next === undefined) return {}
  if (!isFields(next) || typeof next["after"] !== "string") return undefined
  const link = next["link"]
  if (link === undefined) return { next: { after: next["after"] } }
  return typeof link === "string" ? { next: { after: next["after"], link } } : undefined
}

type To = BatchReadResult["to"][number]

/** The to-objects of a result: the array itself when each is exactly the decoded shape, else a copy. */
const targets = (u: ReadonlyArray<unknown>): ReadonlyArray<To> | undefined => {
  let copy: Array<To> | undefined
  for (let i = 0; i < u.length; i++) {
    const o: unknown = u[i]
    if (!isFields(o)) return undefined
    const toObjectId = wireId(o["toObjectId"])
    const types = associationTypes(o["associationTypes"])
    if (toObjectId === undefined || types === undefined) return undefined
    if (copy === undefined && (types !== o["associationTypes"] || keyCount(o) !== 2)) copy = u.slice(0, i) as Array<To>
    if (copy !== undefined) copy.push({ toObjectId, associationTypes: types })
  }
  return copy ?? (u as ReadonlyArray<To>)
}

const result = (u: unknown): BatchReadResult | undefined => {
  if (!isFields(u) || !isFields(u["from"]) || !Array.isArray(u["to"])) return undefined
  const fromId = wireId(u["from"]["id"])
  if (fromId === undefined) return undefined
  const objects = targets(u["to"])
  if (objects === undefined) return undefined
  if (u["paging"] === undefined) return { from: { id: fromId }, to: objects }
  const page = paging(u["paging"])
  return page === undefined ? undefined : { from: { id: fromId }, to: objects, paging: page }
}

/** The decoded results, or `undefined` when any of them is not the common case. */
export const decode = (u: unknown): ReadonlyArray<BatchReadResult> | undefined => {
  if (!Array.isArray(u)) return undefined
  const out: Array<BatchReadResult> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const r = result(u[i])
    if (r === undefined) return undefined
    out[i] = r
  }
  return out
}
