/**
 * The open part's journal read back: NDJSON lines, as `NdjsonRows` writes
 * them, decoded into a `RowBatch` with no row object and no `JSON.parse` a
 * line. A line is read by the shape its writer gives it (the keys in column
 * order, no whitespace); one whose from type, from id and to type are the
 * line before's bytes joins its group, and one whose association type is the
 * line before's bytes reuses its type. A line of any other shape is decoded
 * by `JSON.parse` and the row schema: whatever the text, the rows are
 * `NdjsonRows.decode`'s, and a line that is not a row throws.
 */
import { Schema } from "effect"
import { AssociationRow, type AssociationType } from "../../AssociationRow.js"
import { type Group, latin1, RowBatch } from "../../RowBatch.js"

const utf8 = new TextEncoder()
const text = new TextDecoder("utf-8", { fatal: true })
const decodeRow = Schema.decodeUnknownSync(AssociationRow)

const NEWLINE = 0x0a
const QUOTE = 0x22
const BACKSLASH = 0x5c
const CLOSE = 0x7d

const key = (name: string, first = false) => utf8.encode(`${first ? "{" : ","}"${name}":`)
const fromTypeKey = key("from_object_type", true)
const fromIdKey = key("from_object_id")
const toTypeKey = key("to_object_type")
const toIdKey = key("to_object_id")
const categoryKey = key("association_category")
const typeIdKey = key("association_type_id")
const labelKey = key("association_label")
const nullLiteral = utf8.encode("null")

/** Thrown inside the fast path when a line has another shape: the line is then decoded the slow way. */
const otherShape = new Error("another shape")

/** The rows of the whole lines of `bytes[start, end)` (a last line may lack its newline; blank lines are skipped). */
export const decode = (bytes: Uint8Array, start: number, end: number): RowBatch =>
  new Reader(bytes, end).lines(start)

/** A range of the bytes read, and what it was read as. */
interface Seen<A> {
  start: number
  end: number
  value: A
}

/** The most distinct tails (association types) compared with before one is read in full. */
const tailsKept = 64

class Reader {
  private at = 0
  private ids: Uint8Array = new Uint8Array(1024)
  private idsAt = 0
  private digitIds = true
  private rows = new Int32Array(3 * 256)
  private count = 0
  private readonly groups: Array<Group> = []
  private readonly types: Array<AssociationType> = []
  private readonly byTypeId = new Map<number, Array<number>>()
  /**
   * The segments of the lines read before by their shape, as `NdjsonRows` writes them: the head
   * `{"from_object_type":…,"from_object_id":` and the from id of the line before, its middle
   * `,"to_object_type":…,"to_object_id":`, and every distinct tail `,"association_category":…}` (its type).
   */
  private head: Seen<string> = { start: 0, end: 0, value: "" }
  private fromIdSeen: Seen<string> = { start: 0, end: 0, value: "" }
  private middle: Seen<string> = { start: 0, end: 0, value: "" }
  private readonly tails: Array<Seen<number>> = []
  /** The open group: rows `groupFirst` to `count - 1`, all of one from type, from id and to type. */
  private fromType = ""
  private fromId = ""
  private toType = ""
  private groupFirst = 0

  constructor(private readonly bytes: Uint8Array, private readonly end: number) {}

  lines(start: number): RowBatch {
    let s = start
    while (s < this.end) {
      let e = this.bytes.indexOf(NEWLINE, s)
      if (e === -1 || e > this.end) e = this.end
      if (e > s) {
        try {
          this.line(s, e)
        } catch (error) {
          if (error !== otherShape) throw error
          this.slow(s, e)
        }
      }
      s = e + 1
    }
    this.closeGroup()
    return new RowBatch(
      this.ids.subarray(0, this.idsAt),
      this.groups,
      this.rows.subarray(0, 3 * this.count),
      this.types,
      this.digitIds
    )
  }

  /** Line `[s, e)` by its writer's shape; throws `otherShape` (having changed nothing) when it has another. */
  private line(s: number, e: number): void {
    const b = this.bytes
    this.at = s
    const head = this.segment(this.head, e, fromTypeKey, fromIdKey)
    const fromIdStart = this.at
    const fromIdEnd = this.stringEnd(e) + 1
    const fromId = this.same(this.fromIdSeen, fromIdStart, fromIdEnd)
      ? this.fromIdSeen.value
      : this.stringAt(fromIdStart, fromIdEnd)
    this.at = fromIdEnd
    const middle = this.segment(this.middle, e, toTypeKey, toIdKey)
    // The to id, as the bytes of its text: copied when it is plain ASCII, else decoded.
    const idStart = this.at + 1
    const idEnd = this.stringEnd(e)
    let idBytes: Uint8Array | undefined
    let digits = true
    for (let i = idStart; i < idEnd; i++) {
      const c = b[i]!
      if (c < 48 || c > 57) {
        digits = false
        if (c === BACKSLASH || c < 0x20 || c >= 0x80) {
          idBytes = utf8.encode(this.stringAt(idStart - 1, idEnd + 1))
          break
        }
      }
    }
    this.at = idEnd + 1
    // The type: one met before when the rest of the line is its bytes.
    const tailStart = this.at
    let tail: Seen<number> | undefined
    for (const t of this.tails) {
      if (this.same(t, tailStart, e)) {
        tail = t
        break
      }
    }
    if (tail === undefined) {
      this.expect(categoryKey, e)
      const category = this.string(e)
      this.expect(typeIdKey, e)
      const typeId = this.int32(e)
      this.expect(labelKey, e)
      const label = this.startsWith(this.at, nullLiteral, e) ? (this.at += nullLiteral.length, null) : this.string(e)
      if (this.at !== e - 1 || b[this.at] !== CLOSE) throw otherShape
      tail = { start: tailStart, end: e, value: this.typeIndex(category, typeId, label) }
      if (this.tails.length < tailsKept) this.tails.push(tail)
    }
    // Nothing thrown: the row is added.
    this.head = head
    this.fromIdSeen = { start: fromIdStart, end: fromIdEnd, value: fromId }
    this.middle = middle
    this.row(head.value, fromId, middle.value)
    if (idBytes === undefined) this.addRow(b, idStart, idEnd, tail.value, digits)
    else this.addRow(idBytes, 0, idBytes.length, tail.value, false)
  }

  /**
   * The segment `<key><string><next key>` at `at` (a head or a middle) and its string: `seen`, when its bytes are
   * the same, else read.
   */
  private segment(seen: Seen<string>, e: number, key: Uint8Array, next: Uint8Array): Seen<string> {
    const start = this.at
    if (this.same(seen, start, start + seen.end - seen.start)) {
      this.at = start + seen.end - seen.start
      return seen
    }
    this.expect(key, e)
    const value = this.string(e)
    this.expect(next, e)
    return { start, end: this.at, value }
  }

  /** Line `[s, e)` by `JSON.parse` and the row schema. */
  private slow(s: number, e: number): void {
    const row = decodeRow(JSON.parse(text.decode(this.bytes.subarray(s, e))))
    const id = utf8.encode(row.to_object_id)
    let digits = true
    for (const c of id) if (c < 48 || c > 57) digits = false
    const type = this.typeIndex(row.association_category, row.association_type_id, row.association_label)
    this.row(row.from_object_type, row.from_object_id, row.to_object_type)
    this.addRow(id, 0, id.length, type, digits)
  }

  /** Opens a group for the next row unless it is the open group's. */
  private row(fromType: string, fromId: string, toType: string): void {
    if (
      this.count > this.groupFirst && fromType === this.fromType && fromId === this.fromId && toType === this.toType
    ) return
    this.closeGroup()
    this.fromType = fromType
    this.fromId = fromId
    this.toType = toType
  }

  private closeGroup(): void {
    if (this.count > this.groupFirst) {
      this.groups.push({
        fromType: this.fromType,
        fromId: this.fromId,
        toType: this.toType,
        start: this.groupFirst,
        end: this.count
      })
    }
    this.groupFirst = this.count
  }

  private addRow(from: Uint8Array, start: number, end: number, type: number, digits: boolean): void {
    if (!digits) this.digitIds = false
    const length = end - start
    if (this.idsAt + length > this.ids.length) {
      const larger = new Uint8Array(Math.max(2 * this.ids.length, this.idsAt + length))
      larger.set(this.ids.subarray(0, this.idsAt))
      this.ids = larger
    }
    if (3 * this.count + 3 > this.rows.length) {
      const larger = new Int32Array(2 * this.rows.length)
      larger.set(this.rows)
      this.rows = larger
    }
    const r = 3 * this.count++
    const ids = this.ids
    let at = this.idsAt
    this.rows[r] = at
    for (let i = start; i < end; i++) ids[at++] = from[i]!
    this.idsAt = at
    this.rows[r + 1] = at
    this.rows[r + 2] = type
  }

  private typeIndex(category: string, typeId: number, label: string | null): number {
    let met = this.byTypeId.get(typeId)
    if (met === undefined) this.byTypeId.set(typeId, met = [])
    for (const t of met) if (this.types[t]!.category === category && this.types[t]!.label === label) return t
    this.types.push({ category, typeId, label })
    met.push(this.types.length - 1)
    return this.types.length - 1
  }

  /** Whether `bytes[start, end)` is not empty and holds the bytes of `seen`. */
  private same<A>(seen: Seen<A>, start: number, end: number): boolean {
    const length = seen.end - seen.start
    if (length === 0 || end - start !== length || end > this.end) return false
    const bytes = this.bytes
    const from = seen.start
    for (let i = 0; i < length; i++) if (bytes[from + i] !== bytes[start + i]) return false
    return true
  }

  private startsWith(at: number, literal: Uint8Array, e: number): boolean {
    if (at + literal.length > e) return false
    for (let i = 0; i < literal.length; i++) if (this.bytes[at + i] !== literal[i]) return false
    return true
  }

  private expect(literal: Uint8Array, e: number): void {
    if (!this.startsWith(this.at, literal, e)) throw otherShape
    this.at += literal.length
  }

  /** The index of the quote closing the JSON string that starts at `at`, before `e`. */
  private stringEnd(e: number): number {
    const b = this.bytes
    if (b[this.at] !== QUOTE) throw otherShape
    for (let i = this.at + 1; i < e; i++) {
      const c = b[i]!
      if (c === QUOTE) return i
      if (c === BACKSLASH) i++
    }
    throw otherShape
  }

  /** The JSON string at `at`, read past. */
  private string(e: number): string {
    const start = this.at
    const end = this.stringEnd(e) + 1
    this.at = end
    return this.stringAt(start, end)
  }

  /** The JSON string token `bytes[start, end)`: plain ASCII as it is, else decoded in full (escapes, UTF-8). */
  private stringAt(start: number, end: number): string {
    const b = this.bytes
    for (let i = start + 1; i < end - 1; i++) {
      const c = b[i]!
      if (c === BACKSLASH || c < 0x20 || c >= 0x80) {
        let value: unknown
        try {
          value = JSON.parse(text.decode(b.subarray(start, end)))
        } catch {
          throw otherShape
        }
        if (typeof value !== "string") throw otherShape
        return value
      }
    }
    return latin1(b, start + 1, end - 1)
  }

  /** An int32 written as `-?[0-9]+` with no leading zero, read past. */
  private int32(e: number): number {
    const b = this.bytes
    let i = this.at
    const negative = b[i] === 0x2d
    if (negative) i++
    const first = i
    let n = 0
    while (i < e && i - first < 11 && b[i]! >= 48 && b[i]! <= 57) n = n * 10 + (b[i++]! - 48)
    const length = i - first
    if (length === 0 || length > 10 || (length > 1 && b[first] === 48)) throw otherShape
    const value = negative ? -n : n
    if (value < -2147483648 || value > 2147483647 || Object.is(value, -0)) throw otherShape
    this.at = i
    return value
  }
}
