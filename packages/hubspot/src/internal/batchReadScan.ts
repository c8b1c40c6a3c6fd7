/**
 * A batch-read answer read straight from its bytes, with no parsed tree: the
 * from id and cursor of each result, and for each row the place of its to id
 * in the body and its association type: the columns of a `RowBatch` over the
 * body, whose NDJSON is then a copy of those bytes between cached fragments.
 *
 * Why: `JSON.parse` of an answer builds an object or a string for every id
 * and type, which live until the answer is written (what it cost: BENCHMARKS.md,
 * "Measurements behind the code").
 *
 * The law: when `scan(bytes)` returns a value, it is what the reference reads
 * (`JSON.parse(quoteBareIds(utf8Text(bytes)))` decoded by `BatchReadResponse`,
 * then flattened): the same results, cursors and rows. Anything it does not
 * read with certainty makes it return `undefined`, and the caller takes the
 * reference path, which decodes what it may and explains what it refuses. So
 * it declines, among others:
 * - a body that is not one JSON object (a BOM, a syntax error, text after it);
 * - a key with a backslash (`"\u0069d"` is `"id"` to `JSON.parse`), a known key
 *   twice in one object (`JSON.parse` keeps the last);
 * - an id that is neither a string of 1-32 digits nor a bare run of digits
 *   right after `"id":`/`"toObjectId":` (what `quoteBareIds` quotes), and any
 *   other number under such a key;
 * - a cursor with an escape or a non-ASCII byte;
 * - a to-object met twice in one result, or an association type met twice in
 *   one to-object (the reference keeps one row of each: rare enough to leave
 *   to it), and a repeated from id;
 * - an answer without `results`, or with members the envelope schema refuses.
 * Association types are read by `JSON.parse` of their own bytes, once per
 * distinct byte string in an answer (a few dozen), and decoded by the schema; values of unknown keys are checked as JSON and skipped, as the
 * schema ignores them.
 */
import { RowBatch } from "@assoc-etl/core"
import { Option, Schema } from "effect"
import { AssociationType } from "../AssociationsApi.js"

const { latin1 } = RowBatch
const decodeType = Schema.decodeUnknownOption(AssociationType)

export interface Scanned {
  readonly body: Uint8Array
  /** The answer's members other than `results`, and `"results":[]`, as the text of a JSON object. */
  readonly envelope: string
  /** Per result, in answer order: its from id. */
  readonly fromIds: ReadonlyArray<string>
  /** Per result: the cursor of its next page, if any. */
  readonly afters: ReadonlyArray<string | undefined>
  /** The rows of result `i` are rows `rowStart[i]` to `rowStart[i + 1] - 1`, in page order. */
  readonly rowStart: ReadonlyArray<number>
  readonly rowCount: number
  /**
   * Three numbers a row `r`: its to id is the digits `body[rows[3r], rows[3r + 1])`, and its association type
   * `types[rows[3r + 2]]`.
   */
  readonly rows: Int32Array
  /** The distinct association types of the answer. */
  readonly types: ReadonlyArray<AssociationType>
}

/** The bytes of an association type, what they decode to, and its index in `Scanned.types`. */
interface TypeEntry {
  readonly bytes: Uint8Array
  readonly type: AssociationType
  readonly index: number
}

/** Thrown inside the scanner to decline; caught by `scan`. */
class Decline {}
const decline = new Decline()

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const LBRACE = 0x7b
const RBRACE = 0x7d
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
const KEY_RESULTS = ascii("results")
const KEY_FROM = ascii("from")
const KEY_TO = ascii("to")
const KEY_PAGING = ascii("paging")
const KEY_ID = ascii("id")
const KEY_TO_OBJECT_ID = ascii("toObjectId")
const KEY_ASSOCIATION_TYPES = ascii("associationTypes")
const KEY_NEXT = ascii("next")
const KEY_AFTER = ascii("after")
const KEY_LINK = ascii("link")
const TRUE = ascii("true")
const FALSE = ascii("false")
const NULL = ascii("null")

const maxDepth = 256
const maxIdDigits = 32

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= ZERO && c <= NINE
const isHex = (c: number | undefined): boolean =>
  c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))

const utf8 = new TextDecoder()

/** FNV-1a of `b[start, end)`, kept a small integer (a map keyed by it holds no boxed number). */
const hashOf = (b: Uint8Array, start: number, end: number): number => {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 16777619)
  return h & 0x3fffffff
}

class Scanner {
  pos = 0
  readonly fromIds: Array<string> = []
  readonly afters: Array<string | undefined> = []
  readonly rowStart: Array<number> = [0]
  rowCount = 0
  rows: Int32Array
  readonly types: Array<AssociationType> = []
  /** Association types by the hash of their bytes: the bytes seen, and what they decode to. */
  private readonly typeCache = new Map<number, Array<TypeEntry>>()
  /** Per place in a to-object's types, the entry met there last. */
  private readonly lastAt: Array<TypeEntry | undefined> = []
  /** The hashes of the to ids of the current result, to find a repeat. */
  private readonly targets = new Set<number>()
  /** The current to-object's types, until its id is known. */
  private readonly pendingTypes: Array<TypeEntry> = []
  private readonly envelopeMembers: Array<string> = []
  private fromIdStart = 0
  private fromIdEnd = 0
  private idStart = 0
  private idEnd = 0
  private idHash = 0
  /** The key of the member being read: `b[keyStart, keyEnd)`. */
  private keyStart = 0
  private keyEnd = 0

  constructor(readonly b: Uint8Array) {
    // A first guess: a row takes ~80 bytes of a common answer.
    this.rows = new Int32Array(3 * Math.max(64, Math.ceil(b.length / 80)))
  }

  scan(): Scanned {
    this.ws()
    this.expect(LBRACE)
    let results = false
    for (let more = this.firstMember(); more; more = this.nextMember()) {
      if (this.keyIs(KEY_RESULTS)) {
        if (results) throw decline
        results = true
        this.results()
      } else {
        const key = this.text(this.keyStart - 1, this.keyEnd + 1)
        const start = this.pos
        this.skipValue(0)
        this.envelopeMembers.push(`${key}:${this.text(start, this.pos)}`)
      }
    }
    this.ws()
    if (!results || this.pos !== this.b.length) throw decline
    return {
      body: this.b,
      envelope: `{${[...this.envelopeMembers, `"results":[]`].join(",")}}`,
      fromIds: this.fromIds,
      afters: this.afters,
      rowStart: this.rowStart,
      rowCount: this.rowCount,
      rows: this.rows,
      types: this.types
    }
  }

  /**
   * The text of `b[start, end)`, decoded as the reference decodes the whole body (bad bytes as U+FFFD: the
   * same here, since the slice begins and ends at ASCII bytes).
   */
  private text(start: number, end: number): string {
    return utf8.decode(this.b.subarray(start, end))
  }

  private ws(): void {
    const b = this.b
    let p = this.pos
    for (;;) {
      const c = b[p]
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++
      else break
    }
    this.pos = p
  }

  private expect(c: number): void {
    if (this.b[this.pos] !== c) throw decline
    this.pos++
  }

  /**
   * After an object's `{`: reads its first member's key and colon (true), or its `}` (false). The key is
   * `b[keyStart, keyEnd)`; `pos` is at the value.
   */
  private firstMember(): boolean {
    this.ws()
    if (this.b[this.pos] === RBRACE) {
      this.pos++
      return false
    }
    this.memberKey()
    return true
  }

  /** After a member's value: reads the next member's key and colon (true), or the object's `}` (false). */
  private nextMember(): boolean {
    this.ws()
    const c = this.b[this.pos++]
    if (c === RBRACE) return false
    if (c !== COMMA) throw decline
    this.ws()
    this.memberKey()
    return true
  }

  private memberKey(): void {
    this.key()
    this.ws()
    this.expect(COLON)
    this.ws()
  }

  /** After an array's `[`: true at its first element, false past its `]`. */
  private firstElement(): boolean {
    this.ws()
    if (this.b[this.pos] === RBRACKET) {
      this.pos++
      return false
    }
    return true
  }

  /** After an element: true at the next one, false past the array's `]`. */
  private nextElement(): boolean {
    this.ws()
    const c = this.b[this.pos++]
    if (c === RBRACKET) return false
    if (c !== COMMA) throw decline
    this.ws()
    return true
  }

  /** A key: the bytes between its quotes, `b[keyStart, keyEnd)`. Declines an escape or a control character. */
  private key(): void {
    this.keyStart = this.pos + 1
    this.keyEnd = this.unescapedString(false)
  }

  /**
   * Reads a string with no escape and no control character (and only ASCII if `ascii`) whose `"` is at `pos`;
   * returns where its closing quote is. Declines any other.
   */
  private unescapedString(ascii: boolean): number {
    const b = this.b
    if (b[this.pos] !== QUOTE) throw decline
    const top = ascii ? 0x80 : 0x100
    let p = this.pos + 1
    for (;;) {
      const c = b[p]
      if (c === undefined || c < 0x20 || c >= top || c === BACKSLASH) throw decline
      if (c === QUOTE) break
      p++
    }
    this.pos = p + 1
    return p
  }

  /** Whether the key just read is `key`. */
  private keyIs(key: Uint8Array): boolean {
    const start = this.keyStart
    if (this.keyEnd - start !== key.length) return false
    for (let i = 0; i < key.length; i++) if (this.b[start + i] !== key[i]) return false
    return true
  }

  /** Skips a string whose `"` is at `pos`, checking its escapes and characters as `JSON.parse` does. */
  private skipString(): void {
    const b = this.b
    let p = this.pos + 1
    for (;;) {
      const c = b[p]
      if (c === undefined || c < 0x20) throw decline
      if (c === QUOTE) break
      if (c === BACKSLASH) {
        const e = b[p + 1]
        if (e === 0x75) {
          if (!isHex(b[p + 2]) || !isHex(b[p + 3]) || !isHex(b[p + 4]) || !isHex(b[p + 5])) throw decline
          p += 6
        } else if (
          e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 ||
          e === 0x74
        ) {
          p += 2
        } else {
          throw decline
        }
      } else {
        p++
      }
    }
    this.pos = p + 1
  }

  /** Skips a number as JSON's grammar has it. */
  private skipNumber(): void {
    const b = this.b
    let p = this.pos
    if (b[p] === MINUS) p++
    if (b[p] === ZERO) p++
    else if (isDigit(b[p])) while (isDigit(b[p])) p++
    else throw decline
    if (b[p] === DOT) {
      p++
      if (!isDigit(b[p])) throw decline
      while (isDigit(b[p])) p++
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++
      if (b[p] === PLUS || b[p] === MINUS) p++
      if (!isDigit(b[p])) throw decline
      while (isDigit(b[p])) p++
    }
    this.pos = p
  }

  private skipLiteral(literal: Uint8Array): void {
    for (let i = 0; i < literal.length; i++) if (this.b[this.pos + i] !== literal[i]) throw decline
    this.pos += literal.length
  }

  /**
   * Skips any value, checked as JSON. `member`: whether it is a member's value, whose key was just read: a
   * number under `id` or `toObjectId` declines, since `quoteBareIds` may have made a string, or no JSON, of it.
   */
  private skipValue(depth: number, member = true): void {
    if (depth > maxDepth) throw decline
    const c = this.b[this.pos]
    if (c === LBRACE) {
      this.pos++
      for (let more = this.firstMember(); more; more = this.nextMember()) this.skipValue(depth + 1)
    } else if (c === LBRACKET) {
      this.pos++
      for (let more = this.firstElement(); more; more = this.nextElement()) this.skipValue(depth + 1, false)
    } else if (c === QUOTE) {
      this.skipString()
    } else if (c === 0x74) {
      this.skipLiteral(TRUE)
    } else if (c === 0x66) {
      this.skipLiteral(FALSE)
    } else if (c === 0x6e) {
      this.skipLiteral(NULL)
    } else {
      if (member && (this.keyIs(KEY_ID) || this.keyIs(KEY_TO_OBJECT_ID))) throw decline
      this.skipNumber()
    }
  }

  /**
   * An object id at `pos`: a string of 1-32 digits, or a bare run of them right after the key's `":` (which
   * `quoteBareIds` quotes), ending where a number could not go on. Its digits are `b[idStart, idEnd)`, and
   * `idHash` their hash.
   */
  private objectId(): void {
    const b = this.b
    const quoted = b[this.pos] === QUOTE
    if (!quoted && b[this.keyEnd + 1] !== COLON) throw decline
    const start = quoted ? this.pos + 1 : this.pos
    let p = start
    let h = 0x811c9dc5
    while (isDigit(b[p])) {
      h = Math.imul(h ^ b[p]!, 16777619)
      p++
    }
    const n = p - start
    if (n === 0 || n > maxIdDigits) throw decline
    if (quoted) {
      if (b[p] !== QUOTE) throw decline
      this.pos = p + 1
    } else {
      const c = b[p]
      if (c === DOT || c === 0x65 || c === 0x45) throw decline
      this.pos = p
    }
    this.idStart = start
    this.idEnd = p
    // Kept a small integer, so that a set of them holds no boxed number.
    this.idHash = h & 0x3fffffff
  }

  private results(): void {
    this.expect(LBRACKET)
    const seenFrom = new Set<string>()
    for (let more = this.firstElement(); more; more = this.nextElement()) {
      this.result()
      const fromId = this.fromIds[this.fromIds.length - 1]!
      if (seenFrom.has(fromId)) throw decline
      seenFrom.add(fromId)
    }
  }

  private result(): void {
    this.expect(LBRACE)
    let from = false
    let to = false
    let paging = false
    let after: string | undefined
    this.targets.clear()
    for (let more = this.firstMember(); more; more = this.nextMember()) {
      if (this.keyIs(KEY_FROM)) {
        if (from) throw decline
        from = true
        this.from()
      } else if (this.keyIs(KEY_TO)) {
        if (to) throw decline
        to = true
        this.expect(LBRACKET)
        for (let one = this.firstElement(); one; one = this.nextElement()) this.target()
      } else if (this.keyIs(KEY_PAGING)) {
        if (paging) throw decline
        paging = true
        after = this.paging()
      } else {
        this.skipValue(1)
      }
    }
    if (!from || !to) throw decline
    // `objectId` read 1 to 32 digits: an object id.
    const fromId = latin1(this.b, this.fromIdStart, this.fromIdEnd)
    this.fromIds.push(fromId)
    this.afters.push(after)
    this.rowStart.push(this.rowCount)
  }

  private from(): void {
    this.expect(LBRACE)
    let id = false
    for (let more = this.firstMember(); more; more = this.nextMember()) {
      if (this.keyIs(KEY_ID)) {
        if (id) throw decline
        id = true
        this.objectId()
        this.fromIdStart = this.idStart
        this.fromIdEnd = this.idEnd
      } else {
        this.skipValue(2)
      }
    }
    if (!id) throw decline
  }

  /** One to-object: its rows, one an association type, in order. */
  private target(): void {
    this.expect(LBRACE)
    let idStart = -1
    let idEnd = -1
    let types = false
    const pending = this.pendingTypes
    pending.length = 0
    for (let more = this.firstMember(); more; more = this.nextMember()) {
      if (this.keyIs(KEY_TO_OBJECT_ID)) {
        if (idStart >= 0) throw decline
        this.objectId()
        if (this.targets.has(this.idHash)) throw decline
        this.targets.add(this.idHash)
        idStart = this.idStart
        idEnd = this.idEnd
      } else if (this.keyIs(KEY_ASSOCIATION_TYPES)) {
        if (types) throw decline
        types = true
        this.expect(LBRACKET)
        for (let one = this.firstElement(), k = 0; one; one = this.nextElement(), k++) {
          const entry = this.associationType(k)
          const type = entry.type
          for (const t of pending) if (t.type.typeId === type.typeId && t.type.category === type.category) throw decline
          pending.push(entry)
        }
      } else {
        this.skipValue(3)
      }
    }
    if (idStart < 0 || !types) throw decline
    if (3 * (this.rowCount + pending.length) > this.rows.length) {
      const larger = new Int32Array(Math.max(2 * this.rows.length, 3 * (this.rowCount + pending.length)))
      larger.set(this.rows)
      this.rows = larger
    }
    const rows = this.rows
    let at = 3 * this.rowCount
    for (let i = 0; i < pending.length; i++) {
      rows[at++] = idStart
      rows[at++] = idEnd
      rows[at++] = pending[i]!.index
    }
    this.rowCount += pending.length
  }

  /**
   * The `k`th association type of a to-object: the same bytes as the `k`th type of the last to-object (the
   * usual case), else its bytes looked up, or parsed and checked once per answer. Equal bytes make an equal
   * value: an entry's bytes are one whole JSON object.
   */
  private associationType(k: number): TypeEntry {
    const start = this.pos
    const last = this.lastAt[k]
    if (last !== undefined && this.bytesAt(last.bytes, start)) {
      this.pos = start + last.bytes.length
      return last
    }
    const entry = this.metBefore(start) ?? this.lookUpType()
    this.lastAt[k] = entry
    return entry
  }

  /**
   * The type at `start` when its bytes are those of one met before in this answer, found without reading it
   * through: a type is a flat object, so its bytes end at the first `}` (unless a label holds one; such a type
   * is found by `lookUpType`). Equal bytes of a whole object read before are that object.
   */
  private metBefore(start: number): TypeEntry | undefined {
    const b = this.b
    const end = b.indexOf(RBRACE, start) + 1
    if (end <= start) return undefined
    const met = this.typeCache.get(hashOf(b, start, end))
    if (met === undefined) return undefined
    for (const m of met) {
      if (m.bytes.length === end - start && this.bytesAt(m.bytes, start)) {
        this.pos = end
        return m
      }
    }
    return undefined
  }

  /** Whether `bytes` are at `b[at]`: compared from the end, where types differ (type id, label). */
  private bytesAt(bytes: Uint8Array, at: number): boolean {
    const b = this.b
    if (at + bytes.length > b.length) return false
    for (let i = bytes.length - 1; i >= 0; i--) if (b[at + i] !== bytes[i]) return false
    return true
  }

  /** The association type at `pos`, from the cache by the hash of its bytes, or parsed and checked. */
  private lookUpType(): TypeEntry {
    const b = this.b
    const start = this.pos
    if (b[start] !== LBRACE) throw decline
    this.skipValue(4, false)
    const end = this.pos
    const h = hashOf(b, start, end)
    let met = this.typeCache.get(h)
    if (met !== undefined) {
      for (const m of met) if (m.bytes.length === end - start && this.bytesAt(m.bytes, start)) return m
    } else {
      this.typeCache.set(h, met = [])
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(this.text(start, end))
    } catch {
      throw decline
    }
    // Checked by the schema; an absent label is `null`.
    const decoded = decodeType(parsed)
    if (Option.isNone(decoded)) throw decline
    const type: AssociationType = decoded.value
    const entry = { bytes: b.slice(start, end), type, index: this.types.length }
    this.types.push(type)
    met.push(entry)
    return entry
  }

  /** A result's `paging`: the cursor of its next page, if any. */
  private paging(): string | undefined {
    this.expect(LBRACE)
    let next = false
    let after: string | undefined
    for (let more = this.firstMember(); more; more = this.nextMember()) {
      if (this.keyIs(KEY_NEXT)) {
        if (next) throw decline
        next = true
        after = this.next()
      } else {
        this.skipValue(2)
      }
    }
    return after
  }

  private next(): string {
    this.expect(LBRACE)
    let after: string | undefined
    let link = false
    for (let more = this.firstMember(); more; more = this.nextMember()) {
      if (this.keyIs(KEY_AFTER)) {
        if (after !== undefined) throw decline
        after = this.plainString()
      } else if (this.keyIs(KEY_LINK)) {
        if (link || this.b[this.pos] !== QUOTE) throw decline
        link = true
        this.skipString()
      } else {
        this.skipValue(3)
      }
    }
    if (after === undefined) throw decline
    return after
  }

  /** A string of ASCII with no escape, as it is. */
  private plainString(): string {
    const start = this.pos + 1
    return latin1(this.b, start, this.unescapedString(true))
  }
}

/** The answer read from its bytes, or `undefined` where the reference path must read it (see the header). */
export const scan = (bytes: Uint8Array): Scanned | undefined => {
  try {
    return new Scanner(bytes).scan()
  } catch (e) {
    if (e instanceof Decline || e instanceof RangeError) return undefined
    throw e
  }
}
