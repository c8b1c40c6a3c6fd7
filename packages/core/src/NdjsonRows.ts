/**
 * Rows as NDJSON: one JSON object a line, the columns in order, ending in
 * `\n`. The dataset's journal is written in it, and an NDJSON part is these
 * bytes as they are.
 *
 * A batch is written without a string a line: a line is three cached
 * fragments and two ids (the head up to the from id, per from type; the
 * middle up to the to id, per to type; the tail from the category on, per
 * association type), and to ids of digits are copied from the batch's bytes.
 */
import { Schema } from "effect"
import { AssociationRow } from "./AssociationRow.js"
import { fromRows, type RowBatch } from "./RowBatch.js"

const utf8 = new TextEncoder()
const QUOTE = 0x22

/** A first size for the bytes of `n` rows: a line of companies of contacts takes ~210 bytes. */
const sizeFor = (n: number): number => Math.max(1024, n * 224)

/** The largest buffer `encoder` keeps between calls. */
const keptBytesMax = 32 * 1024 * 1024

/** The NDJSON bytes of a batch, in a buffer of their own. */
export const encode = (batch: RowBatch): Uint8Array => {
  const out = new Writer(new Uint8Array(sizeFor(batch.length)))
  out.batch(batch)
  return out.bytes.subarray(0, out.at)
}

/** The NDJSON bytes of rows held as objects. */
export const encodeRows = (rows: ReadonlyArray<AssociationRow>): Uint8Array => encode(fromRows(rows))

/**
 * `encode` into a buffer kept from one call to the next (up to 32 MiB): each result is valid only until the
 * next call. Fresh memory costs a page fault a 4 KiB page on first touch, more than encoding into it; a
 * journal that writes each batch before encoding the next reuses one buffer.
 */
export const encoder = (): ((batch: RowBatch) => Uint8Array) => {
  let kept: Uint8Array = new Uint8Array(0)
  return (batch) => {
    const size = sizeFor(batch.length)
    const out = new Writer(kept.length >= size ? kept : new Uint8Array(size))
    out.batch(batch)
    if (out.bytes.length <= keptBytesMax) kept = out.bytes
    return out.bytes.subarray(0, out.at)
  }
}

const decodeRowSync = Schema.decodeUnknownSync(AssociationRow)

/** The rows of NDJSON text (blank lines skipped); throws on a line that is not a row. */
export const decode = (text: string): Array<AssociationRow> => {
  const rows: Array<AssociationRow> = []
  for (const line of text.split("\n")) {
    if (line.length > 0) rows.push(decodeRowSync(JSON.parse(line)))
  }
  return rows
}

interface Tail {
  readonly category: string
  readonly label: string | null
  readonly bytes: Uint8Array
}

/** NDJSON lines into a buffer that grows by doubling. */
class Writer {
  bytes: Uint8Array
  at = 0
  private readonly heads = new Map<string, Uint8Array>()
  private readonly middles = new Map<string, Uint8Array>()
  /** Per type id, the tails met with it: nearly always one (a type id has one category and label). */
  private readonly tails = new Map<number, Array<Tail>>()

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
  }

  batch(batch: RowBatch): void {
    const { bytes: source, rows, digitIds } = batch
    const tails = batch.types.map((t) => this.tail(t.category, t.typeId, t.label))
    for (const g of batch.groups) {
      const head = this.head(g.fromType)
      const middle = this.middle(g.toType)
      for (let r = g.start; r < g.end; r++) {
        const tail = tails[rows[3 * r + 2]!]!
        this.reserve(head.length)
        this.put(head)
        this.id(g.fromId)
        this.reserve(middle.length)
        this.put(middle)
        if (digitIds) {
          const start = rows[3 * r]!
          const end = rows[3 * r + 1]!
          this.reserve(end - start + 2)
          this.bytes[this.at++] = QUOTE
          this.copy(source, start, end)
          this.bytes[this.at++] = QUOTE
        } else {
          this.id(batch.toId(r))
        }
        this.reserve(tail.length)
        this.put(tail)
      }
    }
  }

  /** Makes room for `n` more bytes. */
  private reserve(n: number): void {
    if (this.at + n <= this.bytes.length) return
    const larger = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n))
    larger.set(this.bytes.subarray(0, this.at))
    this.bytes = larger
  }

  /** Appends `b` (room reserved). */
  private put(b: Uint8Array): void {
    this.bytes.set(b, this.at)
    this.at += b.length
  }

  /** Appends `from[start, end)` (room reserved): ids are short, a loop beats `set` on a subarray. */
  private copy(from: Uint8Array, start: number, end: number): void {
    const out = this.bytes
    let at = this.at
    for (let i = start; i < end; i++) out[at++] = from[i]!
    this.at = at
  }

  /** `{"from_object_type":<type>,"from_object_id":` */
  private head(type: string): Uint8Array {
    let b = this.heads.get(type)
    if (b === undefined) this.heads.set(type, b = utf8.encode(`{"from_object_type":${JSON.stringify(type)},"from_object_id":`))
    return b
  }

  /** `,"to_object_type":<type>,"to_object_id":` */
  private middle(type: string): Uint8Array {
    let b = this.middles.get(type)
    if (b === undefined) this.middles.set(type, b = utf8.encode(`,"to_object_type":${JSON.stringify(type)},"to_object_id":`))
    return b
  }

  /** The rest of a line from `,"association_category":`, with its newline. */
  private tail(category: string, typeId: number, label: string | null): Uint8Array {
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
  private id(s: string): void {
    this.reserve(s.length + 2)
    const out = this.bytes
    let at = this.at
    out[at++] = QUOTE
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
    out[at++] = QUOTE
    this.at = at
  }
}
