/**
 * The ids a listing source (the list API, or search for `--since`) has given, kept in the output directory so
 * that a resume numbers them exactly as the first run did.
 *
 * Ordinals are what the checkpoint says is done. Listing again after a crash would give other ordinals to the
 * same ids whenever HubSpot changed in between (an object deleted, or modified out of a `--since` window, moves
 * every later one a place back): one id would then be taken for done and never asked, another asked twice. So
 * each page is appended to `DIR/.listed-ids` (one JSON line: its ids and where the next page starts) and
 * synced before its ids go on; a resume reads the pages back, in order, then lists on from the last one's
 * `next`. A line cut short by a crash is dropped: its ids never went on.
 */
import type { IdSource } from "@assoc-etl/core"
import { ObjectId } from "@assoc-etl/core"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Effect, Option, Schema, Stream } from "effect"

export const fileName = ".listed-ids"

/** One page as listed: its ids, and the position of the next page (`null` after the last). */
export interface Page<P> {
  readonly ids: ReadonlyArray<ObjectId.ObjectId>
  readonly next: P | null
}

export interface ListedIdsOptions<P, I, E, R> {
  readonly path: string
  /** The schema of a position, as it is written in the file. */
  readonly position: Schema.Schema<P, I>
  readonly first: P
  /** Lists the page at `position`, whose first id gets ordinal `firstKey`. */
  readonly list: (position: P, firstKey: number) => Effect.Effect<Page<P>, E, R>
  /** The error for a file that is not what this module wrote. */
  readonly corrupt: (detail: string) => E
}

/** The ids with their ordinals: those listed before (read back), then the rest of the listing. */
export const stream = <P, I, E, R>(
  options: ListedIdsOptions<P, I, E, R>
): Stream.Stream<IdSource.IdLine, E | PlatformError, R | FileSystem.FileSystem> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const PageLine = Schema.parseJson(Schema.Struct({ ids: Schema.Array(ObjectId.ObjectId), next: Schema.NullOr(options.position) }))
    const decodePage = Schema.decodeUnknownEither(PageLine)
    const encodePage = Schema.encodeSync(PageLine)

    const before: Array<Page<P>> = []
    let whole = 0
    if (yield* fs.exists(options.path)) {
      const bytes = yield* fs.readFile(options.path)
      const end = bytes.lastIndexOf(0x0a) + 1
      const text = new TextDecoder().decode(bytes.subarray(0, end))
      let lineNumber = 0
      for (const line of text.split("\n")) {
        lineNumber++
        if (line.length === 0) continue
        const page = decodePage(line)
        if (page._tag === "Left") {
          return yield* Effect.fail(options.corrupt(`${options.path}, line ${lineNumber}: ${page.left.message}`))
        }
        before.push(page.right)
      }
      whole = end
      if (end < bytes.length) yield* fs.truncate(options.path, whole)
    }
    const file = yield* fs.open(options.path, { flag: "a" })

    let firstKey = 0
    const linesOf = (page: Page<P>): Chunk.Chunk<IdSource.IdLine> => {
      const lines = page.ids.map((id, i): IdSource.IdLine => ({ ordinal: firstKey + i, line: 0, id }))
      firstKey += page.ids.length
      return Chunk.unsafeFromArray(lines)
    }
    const replayed = Stream.fromIterable(before).pipe(Stream.mapConcatChunk(linesOf))
    const last = before.at(-1)
    const start: P | null = last === undefined ? options.first : last.next
    const rest = start === null ? Stream.empty : Stream.paginateChunkEffect(start, (position) =>
      Effect.gen(function*() {
        const page = yield* options.list(position, firstKey)
        yield* file.writeAll(new TextEncoder().encode(`${encodePage(page)}\n`))
        yield* file.sync
        return [linesOf(page), Option.fromNullable(page.next)] as const
      }))
    return Stream.concat(replayed, rest)
  }))
