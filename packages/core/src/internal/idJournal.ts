/**
 * The ids a paged listing has given, kept in a journal file so that a resume
 * numbers them exactly as the first run did.
 *
 * Ordinals are what a checkpoint says is done. Listing again after a crash
 * would give other ordinals to the same ids whenever the listing changed in
 * between (an object deleted, or modified out of a window, moves every later
 * one a place back): one id would then be taken for done and never asked,
 * another asked twice. So each page is appended to the journal (one JSON
 * line: its ids and where the next page starts) and synced before its ids go
 * on; a resume reads the pages back, in order, then lists on from the last
 * one's `next`. A line cut short by a crash is dropped: its ids never went on.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Effect, Either, Option, type ParseResult, Schema, Stream } from "effect"
import { ObjectId } from "../ObjectId.js"
import { type IdLine, IdSourceError } from "./idFile.js"

/** One page as listed: its ids, and the position of the next page (`null` after the last). */
export interface ListedPage<P> {
  readonly ids: ReadonlyArray<ObjectId>
  readonly next: P | null
}

export interface JournalOptions<P, I, E, R> {
  readonly path: string
  /** The schema of a position, as it is written in the file. */
  readonly position: Schema.Schema<P, I>
  readonly first: P
  /** Lists the page at `position`, whose first id gets ordinal `firstKey`. */
  readonly list: (position: P, firstKey: number) => Effect.Effect<ListedPage<P>, E, R>
}

/** The ids with their ordinals: those listed before (read back), then the rest of the listing. */
export const stream = <P, I, E, R>(
  options: JournalOptions<P, I, E, R>
): Stream.Stream<IdLine, E | IdSourceError, R | FileSystem.FileSystem> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const io = (e: PlatformError) => new IdSourceError({ reason: "Io", path: options.path, detail: e.message })
    const PageLine = Schema.parseJson(Schema.Struct({ ids: Schema.Array(ObjectId), next: Schema.NullOr(options.position) }))
    const decodePage = Schema.decodeUnknownEither(PageLine)
    const encodePage = Schema.encodeSync(PageLine)

    let before: ReadonlyArray<ListedPage<P>> = []
    if (yield* fs.exists(options.path).pipe(Effect.mapError(io))) {
      const bytes = yield* fs.readFile(options.path).pipe(Effect.mapError(io))
      const { end, pages } = yield* decodePages(options.path, bytes, decodePage, "; remove the export to start over")
      before = pages
      if (end < bytes.length) yield* fs.truncate(options.path, end).pipe(Effect.mapError(io))
    }
    const file = yield* fs.open(options.path, { flag: "a" }).pipe(Effect.mapError(io))

    let firstKey = 0
    const linesOf = (page: ListedPage<P>): Chunk.Chunk<IdLine> => {
      const lines = page.ids.map((id, i): IdLine => ({ ordinal: firstKey + i, line: 0, id }))
      firstKey += page.ids.length
      return Chunk.unsafeFromArray(lines)
    }
    const replayed = Stream.fromIterable(before).pipe(Stream.mapConcatChunk(linesOf))
    const last = before.at(-1)
    const start: P | null = last === undefined ? options.first : last.next
    const rest = start === null ? Stream.empty : Stream.paginateChunkEffect(start, (position) =>
      Effect.gen(function*() {
        const page = yield* options.list(position, firstKey)
        yield* file.writeAll(new TextEncoder().encode(`${encodePage(page)}\n`)).pipe(Effect.mapError(io))
        yield* file.sync.pipe(Effect.mapError(io))
        return [linesOf(page), Option.fromNullable(page.next)] as const
      }))
    return Stream.concat(replayed, rest)
  }))

/**
 * The whole lines of a journal's bytes, decoded (a line cut short by a crash, after the last newline, is left
 * out: its ids never went on), and where they end.
 */
const decodePages = <A>(
  path: string,
  bytes: Uint8Array,
  decode: (line: string) => Either.Either<A, ParseResult.ParseError>,
  hint = ""
): Effect.Effect<{ readonly end: number; readonly pages: ReadonlyArray<A> }, IdSourceError> => {
  const end = bytes.lastIndexOf(0x0a) + 1
  const pages: Array<A> = []
  let lineNumber = 0
  for (const line of new TextDecoder().decode(bytes.subarray(0, end)).split("\n")) {
    lineNumber++
    if (line.length === 0) continue
    const page = decode(line)
    if (Either.isLeft(page)) {
      return Effect.fail(
        new IdSourceError({
          reason: "Journal",
          path,
          line: lineNumber,
          detail: `line ${lineNumber} is not a page of listed ids (${page.left.message})${hint}`
        })
      )
    }
    pages.push(page.right)
  }
  return Effect.succeed({ end, pages })
}

const decodeIdsLine = Schema.decodeUnknownEither(Schema.parseJson(Schema.Struct({ ids: Schema.Array(ObjectId) })))

/**
 * The ids a journal holds, in order, read whole: the ids of a finished export's listing, for a later run that
 * starts from them. A line cut short by a crash is left out, as a resume leaves it out.
 */
export const readIds = (path: string): Effect.Effect<ReadonlyArray<ObjectId>, IdSourceError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(path).pipe(
      Effect.mapError((e) => new IdSourceError({ reason: "Io", path, detail: e.message }))
    )
    const { pages } = yield* decodePages(path, bytes, decodeIdsLine)
    return pages.flatMap((page) => page.ids)
  })
