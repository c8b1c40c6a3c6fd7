/**
 * One output row: one (from, to, association type). The field names are the
 * output columns, in DESIGN.md's order, the same for NDJSON and Parquet.
 */
import { Schema } from "effect"
import type { BatchReadResponse, BatchReadResult } from "./Api.js"
import { Int32 } from "./Api.js"
import type { ObjectId } from "./ObjectId.js"
import type { ObjectType } from "./ObjectType.js"

export const AssociationRow = Schema.Struct({
  from_object_type: Schema.String,
  from_object_id: Schema.String,
  to_object_type: Schema.String,
  to_object_id: Schema.String,
  association_category: Schema.String,
  association_type_id: Int32,
  association_label: Schema.NullOr(Schema.String)
})
export type AssociationRow = typeof AssociationRow.Type

/** The output columns in order, with their types: the one source of the schema of every part. */
export const columns = [
  { name: "from_object_type", type: "string", nullable: false },
  { name: "from_object_id", type: "string", nullable: false },
  { name: "to_object_type", type: "string", nullable: false },
  { name: "to_object_id", type: "string", nullable: false },
  { name: "association_category", type: "string", nullable: false },
  { name: "association_type_id", type: "int32", nullable: false },
  { name: "association_label", type: "string", nullable: true }
] as const satisfies ReadonlyArray<{ name: keyof AssociationRow; type: "string" | "int32"; nullable: boolean }>

export type Column = (typeof columns)[number]

export interface Pair {
  readonly fromType: ObjectType
  readonly toType: ObjectType
}

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

/** Appends the rows of one `from` object's page of associations to `rows` (see `fromResult`). */
const appendRows = (pair: Pair, result: BatchReadResult, rows: Array<AssociationRow>): void => {
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
 * The rows of one `from` object's page of associations, in page order; an
 * association type met twice in the page yields one row.
 */
export const fromResult = (pair: Pair, result: BatchReadResult): Array<AssociationRow> => {
  const rows: Array<AssociationRow> = []
  appendRows(pair, result, rows)
  return rows
}

/**
 * Every row of one batch-read answer, in canonical order: the order of
 * `inputOrder` (the request's inputs), then page order. A result whose `from`
 * id was already met in the answer is skipped, so an answer never yields a
 * row twice. Results for ids missing from `inputOrder` come last, in answer
 * order.
 */
export const flatten = (
  pair: Pair,
  response: Pick<BatchReadResponse, "results">,
  inputOrder?: ReadonlyArray<ObjectId>
): Array<AssociationRow> => {
  const byId = new Map<string, BatchReadResult>()
  for (const result of response.results) {
    if (!byId.has(result.from.id)) byId.set(result.from.id, result)
  }
  const rows: Array<AssociationRow> = []
  const push = (result: BatchReadResult) => appendRows(pair, result, rows)
  if (inputOrder === undefined) {
    for (const result of byId.values()) push(result)
    return rows
  }
  for (const id of inputOrder) {
    const result = byId.get(id)
    if (result !== undefined) {
      push(result)
      byId.delete(id)
    }
  }
  for (const result of byId.values()) push(result)
  return rows
}

const digits = /^[0-9]+$/

/**
 * Builds NDJSON lines: one JSON object a row, the columns in order, ending in
 * `\n`. Ids of digits need no escaping, and the few distinct types,
 * categories and labels of a chunk are escaped once each.
 */
const lineWriter = () => {
  const quoted = new Map<string, string>()
  const q = (s: string): string => {
    let json = quoted.get(s)
    if (json === undefined) {
      json = JSON.stringify(s)
      quoted.set(s, json)
    }
    return json
  }
  const id = (s: string): string => (digits.test(s) ? `"${s}"` : JSON.stringify(s))
  return (r: AssociationRow): string =>
    `{"from_object_type":${q(r.from_object_type)},"from_object_id":${id(r.from_object_id)},"to_object_type":${
      q(r.to_object_type)
    },"to_object_id":${id(r.to_object_id)},"association_category":${q(r.association_category)},"association_type_id":${
      r.association_type_id | 0
    },"association_label":${r.association_label === null ? "null" : q(r.association_label)}}\n`
}

/** The NDJSON text of a chunk of rows, one line a row (see `encodeNdjsonBytes` for the bytes to write). */
export const encodeNdjson = (rows: ReadonlyArray<AssociationRow>): string => {
  const line = lineWriter()
  let out = ""
  for (const r of rows) out += line(r)
  return out
}

const utf8 = new TextEncoder()

/**
 * A chunk of rows, however it is held: as row objects (`rowsOf`), or as the
 * bytes of the answer they came in (`BatchReadAnswer`), which write their
 * NDJSON without making a row object.
 */
export interface Rows {
  readonly length: number
  /** The rows as objects, in order (made on demand for rows held as bytes). */
  readonly toArray: () => ReadonlyArray<AssociationRow>
  /** Appends the rows' NDJSON lines, as `encodeNdjsonBytes` writes them. */
  readonly writeNdjson: (out: NdjsonWriter) => void
}

const isRows = (rows: Rows | ReadonlyArray<AssociationRow>): rows is Rows => !Array.isArray(rows)

/** Rows held as objects. */
export const rowsOf = (rows: ReadonlyArray<AssociationRow>): Rows => ({
  length: rows.length,
  toArray: () => rows,
  writeNdjson: (out) => {
    for (const r of rows) out.row(r)
  }
})

export const emptyRows: Rows = rowsOf([])

/** The rows as objects, whichever way they are held. */
export const toArray = (rows: Rows | ReadonlyArray<AssociationRow>): ReadonlyArray<AssociationRow> =>
  isRows(rows) ? rows.toArray() : rows

/**
 * The UTF-8 bytes of `encodeNdjson(rows)`, one buffer for the chunk, written without a string a line (see
 * `NdjsonWriter`).
 */
export const encodeNdjsonBytes = (rows: Rows | ReadonlyArray<AssociationRow>): Uint8Array => {
  const out = new NdjsonWriter(new Uint8Array(sizeFor(rows.length)))
  write(rows, out)
  return out.bytes.subarray(0, out.at)
}

const write = (rows: Rows | ReadonlyArray<AssociationRow>, out: NdjsonWriter): void => {
  if (isRows(rows)) rows.writeNdjson(out)
  else for (const r of rows) out.row(r)
}

/** A first size for the bytes of `n` rows: a line of companies of contacts takes ~210 bytes. */
const sizeFor = (n: number): number => Math.max(1024, n * 224)

/** The largest buffer `ndjsonEncoder` keeps between calls. */
const keptBytesMax = 32 * 1024 * 1024

/**
 * `encodeNdjsonBytes` into a buffer kept from one call to the next (up to 32 MiB): each result is valid only
 * until the next call. Fresh memory costs a page fault a 4 KiB page on first touch, ~4 ms a MiB here, more
 * than encoding into it; a journal writer that writes each chunk before encoding the next reuses one buffer.
 */
export const ndjsonEncoder = (): ((rows: Rows | ReadonlyArray<AssociationRow>) => Uint8Array) => {
  let kept: Uint8Array = new Uint8Array(0)
  return (rows) => {
    const size = sizeFor(rows.length)
    const out = new NdjsonWriter(kept.length >= size ? kept : new Uint8Array(size))
    write(rows, out)
    if (out.bytes.length <= keptBytesMax) kept = out.bytes
    return out.bytes.subarray(0, out.at)
  }
}

interface Tail {
  readonly category: string
  readonly label: string | null
  readonly bytes: Uint8Array
}

/**
 * Writes NDJSON lines into a buffer that grows by doubling. A line is three cached fragments and two ids: the
 * head up to the from id (per from type), the middle up to the to id (per to type), and the tail from the
 * category to the end (per type id, category and label: a few dozen a chunk). Ids of digits are copied as
 * bytes; other ids go through `JSON.stringify`.
 */
export class NdjsonWriter {
  bytes: Uint8Array
  at = 0
  private readonly heads = new Map<string, Uint8Array>()
  private readonly middles = new Map<string, Uint8Array>()
  /** Per type id, the tails met with it: nearly always one (a type id has one category and label). */
  private readonly tails = new Map<number, Array<Tail>>()

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.at + n <= this.bytes.length) return
    const larger = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n))
    larger.set(this.bytes.subarray(0, this.at))
    this.bytes = larger
  }

  /** Appends `b` (room reserved). */
  put(b: Uint8Array): void {
    this.bytes.set(b, this.at)
    this.at += b.length
  }

  /** Appends `from[start, end)`, reserving room. */
  putRange(from: Uint8Array, start: number, end: number): void {
    this.reserve(end - start)
    const out = this.bytes
    let at = this.at
    for (let i = start; i < end; i++) out[at++] = from[i]!
    this.at = at
  }

  /** `{"from_object_type":<type>,"from_object_id":` */
  head(type: string): Uint8Array {
    let b = this.heads.get(type)
    if (b === undefined) this.heads.set(type, b = utf8.encode(`{"from_object_type":${JSON.stringify(type)},"from_object_id":`))
    return b
  }

  /** `,"to_object_type":<type>,"to_object_id":` */
  middle(type: string): Uint8Array {
    let b = this.middles.get(type)
    if (b === undefined) this.middles.set(type, b = utf8.encode(`,"to_object_type":${JSON.stringify(type)},"to_object_id":`))
    return b
  }

  /** The rest of a line from `,"association_category":`, with its newline. */
  tail(category: string, typeId: number, label: string | null): Uint8Array {
    let met = this.tails.get(typeId)
    if (met === undefined) this.tails.set(typeId, met = [])
    for (const t of met) if (t.category === category && t.label === label) return t.bytes
    const bytes = utf8.encode(`,"association_category":${JSON.stringify(category)},"association_type_id":${typeId | 0},"association_label":${
      label === null ? "null" : JSON.stringify(label)
    }}\n`)
    met.push({ category, label, bytes })
    return bytes
  }

  /** Appends an id as a JSON string: copied byte by byte when it is digits, else through `JSON.stringify`. */
  id(s: string): void {
    this.reserve(s.length + 2)
    const out = this.bytes
    let at = this.at
    out[at++] = 34 // "
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c < 48 || c > 57) {
        const quoted = utf8.encode(JSON.stringify(s))
        this.reserve(quoted.length)
        this.put(quoted)
        return
      }
      out[at++] = c
    }
    out[at++] = 34
    this.at = at
  }

  /** Appends the line of one row. */
  row(r: AssociationRow): void {
    const h = this.head(r.from_object_type)
    const m = this.middle(r.to_object_type)
    const t = this.tail(r.association_category, r.association_type_id, r.association_label)
    this.reserve(h.length)
    this.put(h)
    this.id(r.from_object_id)
    this.reserve(m.length)
    this.put(m)
    this.id(r.to_object_id)
    this.reserve(t.length)
    this.put(t)
  }
}

const decodeRowSync = Schema.decodeUnknownSync(AssociationRow)

/** The rows of NDJSON text written by `encodeNdjson` (blank lines skipped); throws on a line that is not a row. */
export const decodeNdjson = (text: string): Array<AssociationRow> => {
  const rows: Array<AssociationRow> = []
  for (const line of text.split("\n")) {
    if (line.length > 0) rows.push(decodeRowSync(JSON.parse(line)))
  }
  return rows
}
