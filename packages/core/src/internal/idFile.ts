/**
 * Object ids from a file: one id a line.
 *
 * Blank lines and a header line `id` (the first non-blank line) are skipped;
 * surrounding spaces and `\r` are trimmed. A file is scanned whole before
 * the export sends a request, so a bad line stops the run before any
 * request, naming its line number, and the file's digest identifies the
 * input of an export for resume.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Effect, Option, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import * as ObjectId from "../ObjectId.js"
import { latin1 } from "../RowBatch.js"

export class IdSourceError extends Schema.TaggedError<IdSourceError>()("IdSourceError", {
  reason: Schema.Literal("BadLine", "Io", "Journal"),
  path: Schema.String,
  line: Schema.optionalWith(Schema.Number, { exact: true }),
  detail: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "BadLine":
        return `${this.path}, line ${this.line}: ${this.detail}`
      case "Io":
        return `cannot read ids from ${this.path}: ${this.detail}`
      case "Journal":
        return `${this.path}: ${this.detail}`
    }
  }
}

/** One id of the input, with its ordinal among the ids (0-based) and its line number (1-based). */
export interface IdLine {
  readonly ordinal: number
  readonly line: number
  readonly id: ObjectId.ObjectId
}

export interface BadLine {
  readonly line: number
  readonly text: string
  readonly reason: string
}

export type Parsed =
  | { readonly _tag: "Id"; readonly id: ObjectId.ObjectId }
  | { readonly _tag: "Skip" }
  | { readonly _tag: "Bad"; readonly reason: string }

const headerPattern = /^"?id"?$/i

/** What one line holds; `first` is true for the first non-blank line, where a header may stand. */
export const parseLine = (raw: string, first: boolean): Parsed => {
  const text = raw.trim()
  if (text.length === 0) return { _tag: "Skip" }
  if (first && headerPattern.test(text)) return { _tag: "Skip" }
  if (ObjectId.isObjectId(text)) return { _tag: "Id", id: text }
  const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text
  return { _tag: "Bad", reason: `${JSON.stringify(shown)} is not an object id (a string of digits)` }
}

/** The result of reading a whole id file once. */
export interface Scan {
  /** sha256 of the file's bytes: the identity of the input. */
  readonly digest: string
  readonly ids: number
  readonly badLines: ReadonlyArray<BadLine>
  /** Every line blank or digits, ending in `\n` or `\r\n`: `readFile` may split it as bytes. */
  readonly plain: boolean
}

const ioError = (path: string) => (e: PlatformError) => new IdSourceError({ reason: "Io", path, detail: e.message })

interface LineState {
  line: number
  ordinal: number
  first: boolean
}

/** Lines of a file with their parse, a chunk at a time. */
const parsedLines = (path: string, onBytes?: (bytes: Uint8Array) => void) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const state: LineState = { line: 0, ordinal: 0, first: true }
    return fs.stream(path, { chunkSize: 256 * 1024 }).pipe(
      Stream.mapError(ioError(path)),
      onBytes === undefined ? (s) => s : Stream.tap((bytes) => Effect.sync(() => onBytes(bytes))),
      Stream.decodeText(),
      Stream.splitLines,
      Stream.mapChunks((lines) =>
        Chunk.map(lines, (raw) => {
          state.line++
          const parsed = parseLine(raw, state.first)
          if (state.first && raw.trim().length > 0) state.first = false
          const ordinal = parsed._tag === "Id" ? state.ordinal++ : -1
          return { line: state.line, ordinal, parsed, raw }
        })
      )
    )
  }).pipe(Stream.unwrap)

/**
 * Counts the ids of a file of plain lines from its bytes, as they arrive: every byte a digit, `\n` or the `\r`
 * of a `\r\n`, every line blank or 1-32 digits. `count` is `undefined` for any other file (a header, spaces,
 * a bad line, a BOM), which the line reader must read.
 */
class PlainIdCounter {
  private ids = 0
  private digits = 0
  private cr = false
  private plain = true

  update(bytes: Uint8Array): void {
    if (!this.plain) return
    let { digits, cr, ids } = this
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!
      if (c >= 48 && c <= 57 && !cr && digits < 32) digits++
      else if (c === 10) {
        if (digits > 0) ids++
        digits = 0
        cr = false
      } else if (c === 13 && !cr) cr = true
      else {
        this.plain = false
        return
      }
    }
    this.digits = digits
    this.cr = cr
    this.ids = ids
  }

  get count(): number | undefined {
    if (!this.plain || this.cr) return undefined
    return this.ids + (this.digits > 0 ? 1 : 0)
  }
}

/**
 * Reads the whole file once: its digest, its number of ids, its bad lines.
 * Fails at the first bad line unless `skipBadLines`.
 *
 * A file of plain lines (digits, blank lines, `\n` or `\r\n`: what exports and `psql` write) is counted from
 * its bytes, far faster than the line reader (which held up the first request of a large file). Any other file
 * is read again by `scanLines`.
 */
export const scanFile = (
  path: string,
  options: { readonly skipBadLines: boolean }
): Effect.Effect<Scan, IdSourceError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const hash = createHash("sha256")
    const counter = new PlainIdCounter()
    yield* fs.stream(path, { chunkSize: 256 * 1024 }).pipe(
      Stream.mapError(ioError(path)),
      Stream.runForEach((bytes) =>
        Effect.sync(() => {
          hash.update(bytes)
          counter.update(bytes)
        })
      )
    )
    const ids = counter.count
    return ids === undefined ? yield* scanLines(path, options) : { digest: hash.digest("hex"), ids, badLines: [], plain: true }
  })

/** `scanFile` by the line reader: what `readFile` reads, line by line. */
export const scanLines = (
  path: string,
  options: { readonly skipBadLines: boolean }
): Effect.Effect<Scan, IdSourceError, FileSystem.FileSystem> => {
  const hash = createHash("sha256")
  const badLines: Array<BadLine> = []
  let ids = 0
  return parsedLines(path, (bytes) => hash.update(bytes)).pipe(
    Stream.runForEachChunk((chunk) =>
      Effect.suspend(() => {
        for (const l of chunk) {
          if (l.parsed._tag === "Id") ids++
          else if (l.parsed._tag === "Bad") {
            if (!options.skipBadLines) {
              return Effect.fail(new IdSourceError({ reason: "BadLine", path, line: l.line, detail: l.parsed.reason }))
            }
            badLines.push({ line: l.line, text: l.raw.trim().slice(0, 200), reason: l.parsed.reason })
          }
        }
        return Effect.void
      })
    ),
    Effect.map(() => ({ digest: hash.digest("hex"), ids, badLines, plain: false }))
  )
}

/**
 * The ids of a file in order, bad lines left out (scan the file first to know of them). Given its scan, a
 * plain file is split as bytes, with the same lines and ordinals.
 */
export const readFile = (path: string, scan?: Scan): Stream.Stream<IdLine, IdSourceError, FileSystem.FileSystem> =>
  scan?.plain === true ? readPlainFile(path) : parsedLines(path).pipe(
    Stream.mapChunks((chunk) =>
      Chunk.filterMap(chunk, (l) =>
        l.parsed._tag === "Id" ? Option.some<IdLine>({ ordinal: l.ordinal, line: l.line, id: l.parsed.id }) : Option.none()
      )
    )
  )

/**
 * The ids of a plain file (see `PlainIdCounter`), its lines split on `\n` in its bytes. A line that is not an
 * id fails the stream: the file changed after it was scanned.
 */
const readPlainFile = (path: string): Stream.Stream<IdLine, IdSourceError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    let line = 0
    let ordinal = 0
    // The start of a line cut by the end of a chunk.
    let carry = ""
    let changed: IdSourceError | undefined
    const id = (text: string, out: Array<IdLine>) => {
      line++
      const digits = text.endsWith("\r") ? text.slice(0, -1) : text
      if (digits.length === 0) return
      if (ObjectId.isObjectId(digits)) out.push({ ordinal: ordinal++, line, id: digits })
      else changed ??= new IdSourceError({ reason: "BadLine", path, line, detail: "the file changed while it was read" })
    }
    const emit = (out: Array<IdLine>) =>
      changed === undefined ? Effect.succeed(Chunk.unsafeFromArray(out)) : Effect.fail(changed)
    const lines = fs.stream(path, { chunkSize: 64 * 1024 }).pipe(
      Stream.mapError(ioError(path)),
      Stream.mapChunksEffect((chunks) => {
        const out: Array<IdLine> = []
        for (const bytes of chunks) {
          let start = 0
          for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, start)) {
            id(carry + latin1(bytes, start, i), out)
            carry = ""
            start = i + 1
          }
          carry += latin1(bytes, start, bytes.length)
        }
        return emit(out)
      })
    )
    const last = Stream.suspend(() => {
      const out: Array<IdLine> = []
      if (carry.length > 0) id(carry, out)
      return Stream.fromEffect(emit(out)).pipe(Stream.flattenChunks)
    })
    return Stream.concat(lines, last)
  }).pipe(Stream.unwrap)

/**
 * Copies a byte stream (stdin) to a file, so it can be scanned before any
 * request and read again; the copy is synced before it is used.
 */
export const spool = <E, R>(
  input: Stream.Stream<Uint8Array, E, R>,
  path: string
): Effect.Effect<void, E | IdSourceError, R | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "w" }).pipe(Effect.mapError(ioError(path)))
      yield* input.pipe(
        Stream.runForEach((bytes) => file.writeAll(bytes).pipe(Effect.mapError(ioError(path))))
      )
      yield* file.sync.pipe(Effect.mapError(ioError(path)))
    }))
  })
