/**
 * The batch-read handler. An answer holds up to 1000 x 500 associations: it is written as bytes, into one
 * buffer used again once the answer is sent, from parts made once: the ids of each `to` type and the tail of
 * an association for each choice of its association types. Pages are `pageSize` associations, behind opaque
 * cursors bound to the seed, the pair and the id (`cursor.ts`).
 *
 * Unknown ids are named by one `FROM_OBJECT_NOT_FOUND` item of `errors`; with `noAssociationsFound`, each id
 * without associations gets a `NO_ASSOCIATIONS_FOUND` item of its own instead of a result, as HubSpot answers.
 * An answer with `errors` is a 207, but on version 2026-09 a 200: the same body.
 *
 * The spec's variants, each an option: `numericToObjectId` writes `toObjectId` as a bare JSON number;
 * `objectTypeIds` adds `fromObjectTypeId` to each result and `toObjectTypeId` to each of its `to` items
 * (`"0-1"`, as `typeIdOf` names a type). The portal's `workCategory` is in its association types already.
 *
 * With `incomplete`, an answer drawn so has the status drawn (`PENDING`, `PROCESSING`, `CANCELED`), no
 * `completedAt`, and the results and errors of a prefix of its inputs only (every cursor is still checked): the
 * ids past the cut look like ids without associations, as in an answer of HubSpot that stopped early.
 */
import { AssociationsApi as Api } from "@assoc-etl/hubspot"
import { Either, Schema } from "effect"
import * as SimulatedPortal from "../../SimulatedPortal.js"
import type { Answer, ErrorAnswers } from "../answers.js"
import { iso } from "../answers.js"
import * as Bytes from "../bytes.js"
import * as Cursor from "../cursor.js"
import type { IncompleteAnswers } from "../incomplete.js"
import { singularOf, typeIdOf } from "../objectTypes.js"
import type { ResolvedOptions } from "../options.js"
import type { ApiVersion } from "./route.js"

/**
 * The answer to a batch-read request: the pair as written in the path (`raw`, for the paging links) with the
 * path's version, the pair as the portal names it, the body, and the `Clock` millis of its arrival.
 */
export type BatchRead = (
  baseUrl: string,
  raw: { readonly from: string; readonly to: string; readonly version: ApiVersion },
  from: string,
  to: string,
  text: string,
  requestedAt: number
) => Answer

/** Called with the inputs of every well-formed request, and its arrival (`SimulatorOptions.onBatchRead`). */
export type OnBatchRead = (inputs: ReadonlyArray<Api.BatchReadInput>, arrivedAt: number) => void

const decodeBatchRequest = Schema.decodeUnknownEither(Api.BatchReadRequest)

const encodeType = (t: Api.AssociationType): string =>
  `{"category":${JSON.stringify(t.category)},"typeId":${t.typeId},"label":${
    t.label === null ? "null" : JSON.stringify(t.label)
  }}`

interface IdBytes {
  readonly bytes: Uint8Array
  /** The id at position i is `bytes[offsets[i], offsets[i + 1])`. */
  readonly offsets: Int32Array
}

export const make = (
  options: Pick<
    ResolvedOptions,
    "seed" | "pageSize" | "maxInputs" | "numericToObjectId" | "noAssociationsFound" | "objectTypeIds"
  >,
  portal: SimulatedPortal.SimulatedPortal,
  errors: ErrorAnswers,
  incomplete: IncompleteAnswers,
  onBatchRead: OnBatchRead | undefined
): BatchRead => {
  const validation = errors.validation
  const quote = options.numericToObjectId ? "" : "\""
  const firstHead = Buffer.from(`{"toObjectId":${quote}`)
  const nextHead = Buffer.from(`,{"toObjectId":${quote}`)

  const idBytesCache = new Map<string, IdBytes>()
  const idBytesOf = (type: string): IdBytes => {
    let cached = idBytesCache.get(type)
    if (cached === undefined) {
      const size = portal.size(type)
      const writer = Bytes.make()
      const offsets = new Int32Array(size + 1)
      let at = 0
      for (let i = 0; i < size; i++) {
        const id = portal.idAt(type, i)!
        writer.text(id)
        at += id.length
        offsets[i + 1] = at
      }
      cached = { bytes: writer.take().bytes, offsets }
      idBytesCache.set(type, cached)
    }
    return cached
  }

  /** By pair, then by packed set of association types: `","associationTypes":[...]}`, the tail of an association. */
  const tailsCache = new Map<string, Map<number, Buffer>>()
  const tailsOf = (from: string, to: string): Map<number, Buffer> => {
    const key = `${from}\u0000${to}`
    let tails = tailsCache.get(key)
    if (tails === undefined) {
      tails = new Map()
      tailsCache.set(key, tails)
    }
    return tails
  }
  const tailOf = (tails: Map<number, Buffer>, from: string, to: string, typeSet: number): Buffer => {
    let tail = tails.get(typeSet)
    if (tail === undefined) {
      const pool = portal.associationTypes(from, to)
      const types: Array<string> = []
      for (let t = 0; t < SimulatedPortal.typeCount(typeSet); t++) {
        types.push(encodeType(pool[SimulatedPortal.typeAt(typeSet, t)]!))
      }
      const toType = options.objectTypeIds ? `,"toObjectTypeId":${JSON.stringify(typeIdOf(to))}` : ""
      tail = Buffer.from(`${quote}${toType},"associationTypes":[${types.join(",")}]}`)
      tails.set(typeSet, tail)
    }
    return tail
  }

  const writer = Bytes.make()

  return (baseUrl, raw, from, to, text, requestedAt) => {
    const decoded = errors.decodeBody(decodeBatchRequest, text)
    if (Either.isLeft(decoded)) return decoded.left
    const list = decoded.right.inputs
    onBatchRead?.(list, requestedAt)
    if (list.length === 0) return validation("Invalid input: inputs must not be empty.")
    if (list.length > options.maxInputs) {
      return validation(`Batch input limit exceeded: at most ${options.maxInputs} inputs, got ${list.length}.`)
    }
    const seen = new Set<string>()
    const duplicates = new Set<string>()
    for (const input of list) {
      if (seen.has(input.id)) duplicates.add(input.id)
      seen.add(input.id)
    }
    if (duplicates.size > 0) {
      const ids = [...duplicates]
      return validation(`Duplicate ids in inputs: ${ids.join(", ")}`, { ids })
    }
    const cut = incomplete.draw(list.length)
    const keep = cut === undefined ? list.length : cut.keep
    const pairKey = `${from}\u0000${to}`
    const idBytes = idBytesOf(to)
    const tails = tailsOf(from, to)
    const fromType = options.objectTypeIds ? `"fromObjectTypeId":${JSON.stringify(typeIdOf(from))},` : ""
    const unknown: Array<string> = []
    const withoutAssociations: Array<string> = []
    let first = true
    writer.clear()
    writer.text(`{"status":"${cut?.status ?? "COMPLETE"}","results":[`)
    for (let n = 0; n < list.length; n++) {
      const input = list[n]!
      const kept = n < keep
      if (!portal.has(from, input.id)) {
        if (kept) unknown.push(input.id)
        continue
      }
      const all = portal.associationPositions(from, to, input.id)
      const key = `${pairKey}\u0000${input.id}`
      let offset = 0
      if (input.after !== undefined) {
        const at = Cursor.decode(options.seed, key, input.after)
        if (at === undefined || at >= all.length) {
          return validation(`Invalid paging cursor for id ${input.id}: ${JSON.stringify(input.after)}`, {
            ids: [input.id]
          })
        }
        offset = at
      }
      if (!kept) continue
      // A valid cursor points before the end: only a first page can be empty.
      if (all.length === 0 && options.noAssociationsFound) {
        withoutAssociations.push(input.id)
        continue
      }
      const end = Math.min(all.length, offset + options.pageSize)
      writer.text(`${first ? "" : ","}{${fromType}"from":{"id":"${input.id}"},"to":[`)
      first = false
      for (let k = offset; k < end; k++) {
        const i = all.toIndex[k]!
        writer.bytes(k > offset ? nextHead : firstHead)
        writer.bytes(idBytes.bytes, idBytes.offsets[i]!, idBytes.offsets[i + 1]!)
        writer.bytes(tailOf(tails, from, to, all.typeSet[k]!))
      }
      if (end < all.length) {
        const after = Cursor.encode(options.seed, key, end)
        const link = `${baseUrl}/crm/v4/objects/${raw.from}/${input.id}/associations/${raw.to}?after=${after}`
        writer.text(`],"paging":{"next":{"after":${JSON.stringify(after)},"link":${JSON.stringify(link)}}}}`)
      } else {
        writer.text("]}")
      }
    }
    const completed = cut === undefined ? `"completedAt":"${iso(requestedAt)}",` : ""
    const times = `"startedAt":"${iso(requestedAt)}",${completed}"requestedAt":"${iso(requestedAt)}"`
    const marked = cut === undefined ? {} : { incomplete: cut.status }
    if (unknown.length === 0 && withoutAssociations.length === 0) {
      writer.text(`],${times}}`)
      const taken = writer.take()
      return { status: 200, body: taken.bytes, inputs: list.length, release: taken.release, ...marked }
    }
    const items: Array<unknown> = []
    if (unknown.length > 0) {
      items.push({
        status: "error",
        category: "OBJECT_NOT_FOUND",
        subCategory: "crm.associations.FROM_OBJECT_NOT_FOUND",
        message: `No ${raw.from} found with ids: ${unknown.join(", ")}`,
        context: { fromObjectId: unknown }
      })
    }
    const fromName = singularOf(from)
    const toName = singularOf(to)
    for (const id of withoutAssociations) {
      items.push({
        status: "error",
        category: "OBJECT_NOT_FOUND",
        subCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
        message: `No ${toName} is associated with ${fromName} ${id}.`,
        context: { fromObjectId: [id], fromObjectType: [fromName], toObjectType: [toName] }
      })
    }
    writer.text(`],"numErrors":${items.length},"errors":${JSON.stringify(items)},${times}}`)
    const taken = writer.take()
    // 2026-09 reports partial failures in a 200.
    const status = raw.version === "2026-09" ? 200 : 207
    return { status, body: taken.bytes, inputs: list.length, release: taken.release, ...marked }
  }
}
