/**
 * Where an export's ids come from, as a value: a file, stdin, any byte
 * stream, any `Stream` or iterable of ids a program has, or a paged listing
 * kept in a journal (the way a remote API's list or search is read). A new
 * source is one more value of this type: nothing else changes.
 *
 * `open` is called once a run, when the export knows when it first started
 * (a resume keeps the first start) and whether it resumes. It gives:
 * - an identity, recorded in the checkpoint and compared on a resume: a
 *   resume whose source has another identity is refused, not mixed in;
 * - the ids, each with its ordinal, the same ordinals for the same ids on
 *   every run of one export (the checkpoint says which ordinals are done);
 * - the bad lines it skipped (when asked to), which the export records as
 *   refused inputs.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Deferred, Effect, Option, Queue, Schema, Scope, Stream, type Take } from "effect"
import type { BadLine, IdLine } from "./internal/idFile.js"
import * as IdFile from "./internal/idFile.js"
import * as IdJournal from "./internal/idJournal.js"
import type { ObjectId } from "./ObjectId.js"
import * as ScratchDirectory from "./ScratchDirectory.js"

export { type BadLine, type IdLine, IdSourceError, parseLine } from "./internal/idFile.js"
export type { ListedPage } from "./internal/idJournal.js"
/** The ids a `fromPages` journal holds, in order, read whole (the ids of a finished export's listing). */
export const journalIds = IdJournal.readIds

/** What identifies a source's ids across runs. */
export const Identity = Schema.Struct({
  /** `"file"`, `"stdin"`, `"stream"`, or a source's own name (`"list"`, `"search"`, ...). */
  kind: Schema.String,
  /** Equal keys (of one kind) mean the same ids in the same order: what a resume compares. */
  key: Schema.String,
  /** For people: "the id file ids.txt (sha256 0c4f…)". */
  description: Schema.String,
  /** More facts about the input, kept in the checkpoint and the manifest but not compared (a search's window). */
  details: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true })
})
export type Identity = typeof Identity.Type

/** What a source learns of the run that opens it. */
export interface Run {
  /** When the export first started, in epoch millis: a resume keeps it. */
  readonly startedAt: number
  /** Whether this run resumes committed work (a journal is then read back, not started afresh). */
  readonly resumed: boolean
}

export interface Opened<E = never, R = never> {
  readonly identity: Identity
  /** Lines skipped as not ids (only when the source was asked to skip them). */
  readonly badLines: ReadonlyArray<BadLine>
  /** How many ids the source gives, once known (a listing learns it from its first answer). */
  readonly total: Effect.Effect<Option.Option<number>>
  readonly ids: Stream.Stream<IdLine, E, R>
}

export interface IdSource<E = never, R = never> {
  readonly open: (run: Run) => Effect.Effect<Opened<E, R>, E, R | Scope.Scope>
}

export interface FileOptions {
  /** Record lines that are not ids as refused inputs and go on, instead of failing before any id is read. */
  readonly skipBadLines?: boolean
}

const short = (digest: string) => digest.slice(0, 12)

/** An opened source over a scanned file. */
const openedFile = (
  file: string,
  scan: IdFile.Scan,
  identity: Identity
): Opened<IdFile.IdSourceError, FileSystem.FileSystem> => ({
  identity,
  badLines: scan.badLines,
  total: Effect.succeed(Option.some(scan.ids)),
  ids: IdFile.readFile(file, scan)
})

/**
 * The ids of a file, one a line (blank lines and an `id` header skipped). The file is read whole when the
 * source opens: a bad line fails the open, naming its number, before any id is read; its sha256 is the key.
 */
export const fromFile = (
  path: string,
  options: FileOptions = {}
): IdSource<IdFile.IdSourceError, FileSystem.FileSystem | Path.Path> => ({
  open: () =>
    Effect.gen(function*() {
      const file = (yield* Path.Path).resolve(path)
      const scan = yield* IdFile.scanFile(file, { skipBadLines: options.skipBadLines ?? false })
      return openedFile(file, scan, {
        kind: "file",
        key: scan.digest,
        description: `the id file ${file} (sha256 ${short(scan.digest)})`,
        details: { path: file }
      })
    })
})

export interface BytesOptions extends FileOptions {
  /** The identity's kind; default `"bytes"`. */
  readonly kind?: string
  /** Names the input in messages; default the kind. */
  readonly label?: string
}

/**
 * The ids of a byte stream, one a line, as a file's: copied to a temporary file (removed when the run ends)
 * and read from there. Its sha256 is the key, so a resume must be fed the same bytes.
 */
export const fromBytes = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  options: BytesOptions = {}
): IdSource<E | IdFile.IdSourceError, R | FileSystem.FileSystem | Path.Path> => ({
  open: () =>
    Effect.gen(function*() {
      const path = yield* Path.Path
      const kind = options.kind ?? "bytes"
      const label = options.label ?? kind
      const spoolError = (e: PlatformError) => new IdFile.IdSourceError({ reason: "Io", path: label, detail: e.message })
      const directory = yield* ScratchDirectory.make("ids").pipe(Effect.mapError(spoolError))
      const file = path.join(directory, "ids")
      yield* IdFile.spool(bytes, file)
      const scan = yield* IdFile.scanFile(file, { skipBadLines: options.skipBadLines ?? false }).pipe(
        Effect.mapError((e) => new IdFile.IdSourceError({ ...e, path: label }))
      )
      return openedFile(file, scan, { kind, key: scan.digest, description: `${label} (sha256 ${short(scan.digest)})` })
    })
})

/** The ids of standard input, one a line (see `fromBytes`). */
export const stdin = (
  options: FileOptions = {}
): IdSource<IdFile.IdSourceError, FileSystem.FileSystem | Path.Path> =>
  fromBytes(
    Stream.fromAsyncIterable(
      process.stdin as AsyncIterable<Uint8Array>,
      (e) => new IdFile.IdSourceError({ reason: "Io", path: "stdin", detail: e instanceof Error ? e.message : String(e) })
    ),
    { ...options, kind: "stdin", label: "ids from stdin" }
  )

export interface StreamOptions {
  /**
   * What identifies these ids, when the program knows (the query and its snapshot, say): the ids are then read
   * as they come, and a resume must give the same ids in the same order for the same key. Without a key the ids
   * are copied to a temporary file first and their sha256 is the key.
   */
  readonly key?: string
  /** Names the ids in messages; default "ids from a stream". */
  readonly description?: string
}

const encoder = new TextEncoder()

/** The ids of a `Stream` a program has, in order. */
export const fromStream = <E, R>(
  ids: Stream.Stream<ObjectId, E, R>,
  options: StreamOptions = {}
): IdSource<E | IdFile.IdSourceError, R | FileSystem.FileSystem | Path.Path> => {
  const description = options.description ?? "ids from a stream"
  if (options.key === undefined) {
    const lines = ids.pipe(Stream.mapChunks((chunk) => {
      let text = ""
      for (const id of chunk) text += `${id}\n`
      return Chunk.of(encoder.encode(text))
    }))
    return fromBytes(lines, { kind: "stream", label: description })
  }
  const key = options.key
  return {
    open: () =>
      Effect.succeed({
        identity: { kind: "stream", key, description },
        badLines: [],
        total: Effect.succeed(Option.none()),
        ids: Stream.suspend(() => {
          let ordinal = 0
          return ids.pipe(Stream.mapChunks((chunk) => Chunk.map(chunk, (id): IdLine => ({ ordinal: ordinal++, line: 0, id }))))
        })
      })
  }
}

/** The ids of an iterable (an array, a set), in order (see `fromStream`). */
export const fromIterable = (
  ids: Iterable<ObjectId>,
  options: StreamOptions = {}
): IdSource<IdFile.IdSourceError, FileSystem.FileSystem | Path.Path> => fromStream(Stream.fromIterable(ids), options)

export interface PagesOptions<P, I, E, R> {
  readonly identity: Identity
  /** The journal file: the pages listed so far (see `internal/idJournal.ts`). Removed when a run starts afresh. */
  readonly journal: string
  /** The schema of a page's position, as the journal keeps it. */
  readonly position: Schema.Schema<P, I>
  readonly first: P
  /** Lists the page at `position`, whose first id gets ordinal `firstKey`; `total` when the answer says it. */
  readonly list: (
    position: P,
    firstKey: number
  ) => Effect.Effect<IdJournal.ListedPage<P> & { readonly total?: number }, E, R>
}

/**
 * The ids of a paged listing (a remote API's list or search), each page kept in a journal before its ids go
 * on, so that a resume gives the same ordinals to the same ids however the listing changed since. `options`
 * may depend on the run: a window that ends at the export's first start, say.
 */
export const fromPages = <P, I, E, R>(
  options: (run: Run) => PagesOptions<P, I, E, R>
): IdSource<E | IdFile.IdSourceError, R | FileSystem.FileSystem> => ({
  open: (run) =>
    Effect.gen(function*() {
      const o = options(run)
      if (!run.resumed) {
        // Ids listed by anything but this export's committed runs are not this export's.
        const fs = yield* FileSystem.FileSystem
        yield* fs.remove(o.journal, { force: true }).pipe(
          Effect.mapError((e) => new IdFile.IdSourceError({ reason: "Io", path: o.journal, detail: e.message }))
        )
      }
      let total: number | undefined
      return {
        identity: o.identity,
        badLines: [],
        total: Effect.sync(() => Option.fromNullable(total)),
        ids: IdJournal.stream({
          path: o.journal,
          position: o.position,
          first: o.first,
          list: (position, firstKey) =>
            Effect.map(o.list(position, firstKey), (page) => {
              if (total === undefined && page.total !== undefined) total = page.total
              return page
            })
        })
      }
    })
})

export interface ShareOptions {
  /** How many exports read the source: `share` gives that many sources. */
  readonly consumers: number
  /**
   * Whether any of the exports resumes committed work: the source is opened once, for all, with this (a listing's
   * journal is kept when any export's checkpoint counts on its ordinals, and started afresh only when none does).
   */
  readonly resumed: boolean
  /** Chunks of ids the fastest export may be ahead of the slowest before the source waits; default 16. */
  readonly maximumLag?: number
}

/**
 * One source read by several exports at once (the pairs of a nightly job that start from the same objects): it
 * is opened once, by the first export that opens its share, with the `startedAt` of that run, and its ids go to
 * every share, with the same ordinals, so each export's checkpoint counts the same ids. A listing is thus asked
 * once, not once a pair. The source runs as fast as the slowest share reads (up to `maximumLag` chunks ahead);
 * a share whose export stops reading (finished, stopped, failed) is let go when that export's run ends, so it
 * never holds the others back. The shares live as long as the scope `share` runs in.
 */
export const share = <E, R>(
  source: IdSource<E, R>,
  options: ShareOptions
): Effect.Effect<ReadonlyArray<IdSource<E, R>>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    type Shared = { readonly opened: Opened<E, R>; readonly queues: ReadonlyArray<Queue.Dequeue<Take.Take<IdLine, E>>> }
    const ready = yield* Deferred.make<Shared, E>()
    let opening = false
    const openOnce = (run: Run): Effect.Effect<Shared, E, R> =>
      Effect.suspend(() => {
        if (opening) return Deferred.await(ready)
        opening = true
        const open = Effect.gen(function*() {
          const opened = yield* source.open({ startedAt: run.startedAt, resumed: options.resumed })
          const queues = yield* Stream.broadcastedQueues(opened.ids, options.consumers, options.maximumLag ?? 16)
          return { opened, queues }
        })
        return open.pipe(Scope.extend(scope), Effect.intoDeferred(ready), Effect.zipRight(Deferred.await(ready)))
      })
    return Array.from({ length: options.consumers }, (_, i): IdSource<E, R> => ({
      open: (run) =>
        Effect.gen(function*() {
          const { opened, queues } = yield* openOnce(run)
          const queue = queues[i]!
          yield* Effect.addFinalizer(() => Queue.shutdown(queue))
          return { ...opened, ids: Stream.flattenTake(Stream.fromQueue(queue, { shutdown: true })) }
        })
    }))
  })
