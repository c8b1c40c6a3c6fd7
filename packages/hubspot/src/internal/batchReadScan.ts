/**
 * A batch-read answer read straight from its bytes, with no parsed tree: the
 * from id and cursor of each result, and for each row the place of its to id
 * and its association type: the columns of a `RowBatch`, whose NDJSON is then
 * a copy of those bytes between cached fragments. Once a large answer is read
 * (`compactFrom`), the to ids' digits are copied out of its body into a
 * buffer of their own, which the rows point into: its page keeps ~10 bytes an
 * association, not the ~100 of the answer, and the body is garbage as soon as
 * the answer is read. A smaller answer's rows stay over its body (the copy
 * costs ~5% of the scan, and a few MB waiting for the writer are nothing).
 *
 * Why: `JSON.parse` of an answer builds an object or a string for every id
 * and type, which live until the answer is written (what it cost: BENCHMARKS.md,
 * "Measurements behind the code"); and pages waiting for the writer that
 * held their answers' bodies were most of an export's memory when answers
 * are large. A large answer is read with its rows in a buffer kept from one
 * scan to the next, and the rows and digits it keeps have pages of their own
 * (`pages.ts`): buffers of some MB made and freed for each answer made
 * malloc's heap grow all through a long export.
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
 *   as the value of `"id"`/`"toObjectId"` (what `quoteBareIds` quotes), and any
 *   other number under such a key;
 * - a cursor with an escape or a non-ASCII byte;
 * - a to-object met twice in one result, or an association type met twice in
 *   one to-object (the reference keeps one row of each: rare enough to leave
 *   to it), and a repeated from id;
 * - an answer without `results`, or with members the envelope schema refuses.
 * Association types are read by `JSON.parse` of their own bytes, once per
 * distinct byte string in an answer (a few dozen), and decoded by the schema;
 * values of unknown keys are checked as JSON and skipped, as the schema ignores
 * them. The members other than `results` (`status`, `errors`, ...) are kept as
 * their text, read once an answer by `JSON.parse` and the envelope schema, the
 * reference's own fields: so `status` is read as the reference reads it, at no
 * cost a row. The JSON itself is read by `jsonReader.ts`; this module is the
 * answer's grammar on top of it.
 */
import { RowBatch } from "@assoc-etl/core"
import { Option, Schema } from "effect"
import { AssociationType } from "../AssociationsApi.js"
import { ascii, decline, Decline, DOT, isDigit, JsonReader, LBRACE, LBRACKET, QUOTE, RBRACE } from "./jsonReader.js"
import * as Pages from "./pages.js"

const { latin1 } = RowBatch
const decodeType = Schema.decodeUnknownOption(AssociationType)

/** Answers of this many bytes or more keep only their to ids' digits once read (see the header). */
export const compactFrom = 4 * 1024 * 1024

/**
 * The rows of a large answer while it is read, kept from one scan to the next (a scan runs start to end in one
 * go, and a large answer's rows are copied out once read): not a buffer of some MB made for each answer, each
 * of another size, which malloc's heap grows by (`pages.ts`). Not kept past `scratchMax` numbers.
 */
let scratch = new Int32Array(0)
const scratchMax = (32 * 1024 * 1024) / 4

export interface Scanned {
  /**
   * What the rows' to ids are digits of: the body, or for a body of `compactFrom` bytes or more, the to ids'
   * digits one after another (the rows of one to-object share its digits).
   */
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

const maxIdDigits = 32

/** FNV-1a of `b[start, end)`, kept a small integer (a map keyed by it holds no boxed number). */
const hashOf = (b: Uint8Array, start: number, end: number): number => {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 16777619)
  return h & 0x3fffffff
}

/** The grammar of a batch-read answer, over the JSON reader. */
class Scanner extends JsonReader {
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
  /**
   * The to ids of the current result, to find a repeat: by the hash of their digits, where the first with that
   * hash stands in the body; those whose hash an earlier one had (another id, as hashes go: rare), where they
   * stand. Two ids of one hash are compared digit by digit: a collision of hashes is no repeat.
   */
  private readonly targets = new Map<number, number>()
  private readonly sameHash: Array<number> = []
  /** The current to-object's types, until its id is known. */
  private readonly pendingTypes: Array<TypeEntry> = []
  private readonly envelopeMembers: Array<string> = []
  private fromIdStart = 0
  private fromIdEnd = 0
  private idStart = 0
  private idEnd = 0
  private idHash = 0

  /** Whether `rows` is `scratch`: the body is large, and its rows are copied out once read. */
  private readonly large: boolean

  constructor(b: Uint8Array) {
    super(b)
    this.large = b.length >= compactFrom
    // A first guess: a row takes ~80 bytes of a common answer.
    const guess = 3 * Math.max(64, Math.ceil(b.length / 80))
    if (!this.large) this.rows = new Int32Array(guess)
    else this.rows = scratch.length >= guess ? scratch : (scratch = new Int32Array(guess))
  }

  /** A number under `id` or `toObjectId` declines: `quoteBareIds` may have made a string, or no JSON, of it. */
  protected override numberAllowed(): boolean {
    return !this.keyIs(KEY_ID) && !this.keyIs(KEY_TO_OBJECT_ID)
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
    // Before `rows` is read: it cuts them.
    const body = this.b.length >= compactFrom ? this.compact() : this.b
    return {
      body,
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
   * Copies the to ids' digits out of the body, one after another, points `rows` at the copies (a to-object's
   * rows are consecutive and share one) and copies `rows` out of `scratch`, cut to the rows read: the buffer the
   * rows are over.
   */
  private compact(): Uint8Array {
    const b = this.b
    const n = this.rowCount
    const rows = this.rows
    let size = 0
    let last = -1
    for (let i = 0; i < 3 * n; i += 3) {
      if (rows[i] !== last) {
        last = rows[i]!
        size += rows[i + 1]! - last
      }
    }
    // The rows and the digits, in one buffer with pages of its own once it is large (`pages.ts`).
    const buffer = Pages.buffer(12 * n + size)
    const exact = new Int32Array(buffer, 0, 3 * n)
    const out = new Uint8Array(buffer, 12 * n, size)
    let at = 0
    let start = 0
    last = -1
    for (let i = 0; i < 3 * n; i += 3) {
      if (rows[i] !== last) {
        last = rows[i]!
        const end = rows[i + 1]!
        start = at
        for (let p = last; p < end; p++) out[at++] = b[p]!
      }
      rows[i] = start
      rows[i + 1] = at
    }
    exact.set(rows.subarray(0, 3 * n))
    this.rows = exact
    if (scratch.length > scratchMax) scratch = new Int32Array(0)
    return out
  }
















  /**
   * An object id at `pos`, the value of an `id` or `toObjectId` key: a string of 1-32 digits, or a bare run of
   * them (which `quoteBareIds` quotes, whitespace about the colon or not), ending where a number could not go
   * on. Its digits are `b[idStart, idEnd)`, and `idHash` their hash.
   */
  private objectId(): void {
    const b = this.b
    const quoted = b[this.pos] === QUOTE
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

  /** Whether the id at `at` in the body has the digits of the one just read, `b[idStart, idEnd)`. */
  private idAt(at: number): boolean {
    const b = this.b
    const n = this.idEnd - this.idStart
    for (let i = 0; i < n; i++) if (b[at + i] !== b[this.idStart + i]) return false
    return !isDigit(b[at + n])
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
    this.sameHash.length = 0
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
        const first = this.targets.get(this.idHash)
        if (first === undefined) {
          this.targets.set(this.idHash, this.idStart)
        } else {
          if (this.idAt(first)) throw decline
          for (const at of this.sameHash) if (this.idAt(at)) throw decline
          this.sameHash.push(this.idStart)
        }
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
      if (this.large) scratch = larger
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
