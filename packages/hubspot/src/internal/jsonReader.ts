/**
 * A reader of the bytes of one JSON text that reads only what it reads with certainty: keys and strings it
 * reads must be free of escapes, values it skips are checked as `JSON.parse` checks them, and anything else
 * throws `decline`, so that its user can leave the body to the reference reader. Positions are byte offsets
 * into `b`; the key of the member being read is `b[keyStart, keyEnd)`.
 */

import { RowBatch } from "@assoc-etl/core"

/** Thrown inside a reader to decline; caught by whoever reads. */
export class Decline {}
export const decline = new Decline()

export const QUOTE = 0x22
const BACKSLASH = 0x5c
export const COLON = 0x3a
const COMMA = 0x2c
export const LBRACE = 0x7b
export const RBRACE = 0x7d
export const LBRACKET = 0x5b
const RBRACKET = 0x5d
const MINUS = 0x2d
const PLUS = 0x2b
export const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39

/** The bytes of an ASCII string. */
export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
const TRUE = ascii("true")
const FALSE = ascii("false")
const NULL = ascii("null")

const maxDepth = 256

export const isDigit = (c: number | undefined): boolean => c !== undefined && c >= ZERO && c <= NINE
const isHex = (c: number | undefined): boolean =>
  c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))

const utf8 = new TextDecoder()

export class JsonReader {
  pos = 0
  /** The key of the member being read: `b[keyStart, keyEnd)`. */
  protected keyStart = 0
  protected keyEnd = 0

  constructor(readonly b: Uint8Array) {}

  /** Whether a bare number may be the value of the member whose key was just read (`skipValue`). */
  protected numberAllowed(): boolean {
    return true
  }

  /**
   * The text of `b[start, end)`, decoded as the reference decodes the whole body (bad bytes as U+FFFD: the
   * same here, since the slice begins and ends at ASCII bytes).
   */
  protected text(start: number, end: number): string {
    return utf8.decode(this.b.subarray(start, end))
  }

  protected ws(): void {
    const b = this.b
    let p = this.pos
    for (;;) {
      const c = b[p]
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++
      else break
    }
    this.pos = p
  }

  protected expect(c: number): void {
    if (this.b[this.pos] !== c) throw decline
    this.pos++
  }

  /**
   * After an object's `{`: reads its first member's key and colon (true), or its `}` (false). The key is
   * `b[keyStart, keyEnd)`; `pos` is at the value.
   */
  protected firstMember(): boolean {
    this.ws()
    if (this.b[this.pos] === RBRACE) {
      this.pos++
      return false
    }
    this.memberKey()
    return true
  }

  /** After a member's value: reads the next member's key and colon (true), or the object's `}` (false). */
  protected nextMember(): boolean {
    this.ws()
    const c = this.b[this.pos++]
    if (c === RBRACE) return false
    if (c !== COMMA) throw decline
    this.ws()
    this.memberKey()
    return true
  }

  protected memberKey(): void {
    this.key()
    this.ws()
    this.expect(COLON)
    this.ws()
  }

  /** After an array's `[`: true at its first element, false past its `]`. */
  protected firstElement(): boolean {
    this.ws()
    if (this.b[this.pos] === RBRACKET) {
      this.pos++
      return false
    }
    return true
  }

  /** After an element: true at the next one, false past the array's `]`. */
  protected nextElement(): boolean {
    this.ws()
    const c = this.b[this.pos++]
    if (c === RBRACKET) return false
    if (c !== COMMA) throw decline
    this.ws()
    return true
  }

  /** A key: the bytes between its quotes, `b[keyStart, keyEnd)`. Declines an escape or a control character. */
  protected key(): void {
    this.keyStart = this.pos + 1
    this.keyEnd = this.unescapedString(false)
  }

  /**
   * Reads a string with no escape and no control character (and only ASCII if `ascii`) whose `"` is at `pos`;
   * returns where its closing quote is. Declines any other.
   */
  protected unescapedString(ascii: boolean): number {
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
  protected keyIs(key: Uint8Array): boolean {
    const start = this.keyStart
    if (this.keyEnd - start !== key.length) return false
    for (let i = 0; i < key.length; i++) if (this.b[start + i] !== key[i]) return false
    return true
  }

  /** Skips a string whose `"` is at `pos`, checking its escapes and characters as `JSON.parse` does. */
  protected skipString(): void {
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
  protected skipNumber(): void {
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

  protected skipLiteral(literal: Uint8Array): void {
    for (let i = 0; i < literal.length; i++) if (this.b[this.pos + i] !== literal[i]) throw decline
    this.pos += literal.length
  }

  /**
   * Skips any value, checked as JSON. `member`: whether it is a member's value, whose key was just read: a
   * number there declines unless `numberAllowed`.
   */
  protected skipValue(depth: number, member = true): void {
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
      if (member && !this.numberAllowed()) throw decline
      this.skipNumber()
    }
  }

  /** Whether `bytes` are at `b[at]`: compared from the end, where types differ (type id, label). */
  protected bytesAt(bytes: Uint8Array, at: number): boolean {
    const b = this.b
    if (at + bytes.length > b.length) return false
    for (let i = bytes.length - 1; i >= 0; i--) if (b[at + i] !== bytes[i]) return false
    return true
  }

  /** A string of ASCII with no escape, as it is. */
  protected plainString(): string {
    const start = this.pos + 1
    return RowBatch.latin1(this.b, start, this.unescapedString(true))
  }
}
