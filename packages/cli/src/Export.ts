/**
 * The export program: ids → batch read → dataset directory, resumable.
 *
 * Commit order, the reason a finished export holds every association exactly
 * once:
 * 1. each answer's rows and refused inputs are appended to the open part's
 *    journal (and errors.ndjson), and the ledger notes which ordinals it
 *    finished and which continue from a new cursor;
 * 2. after each answer, or after all the answers that arrived while the
 *    previous commit ran (group commit), the dataset writer syncs those files
 *    and then writes the checkpoint, whose payload is the ledger at that moment;
 * 3. on a rerun, the dataset is cut back to the checkpoint (journal and
 *    errors truncated, uncommitted parts removed) and the ledger read back:
 *    done ordinals are skipped, pending ones continue from their cursor,
 *    every other id is asked again. Rows of uncommitted answers were cut away
 *    with the journal, so nothing is written twice; rows of committed answers
 *    are in the journal or a part, so nothing is lost.
 */
import type { Checkpoint as CheckpointNs } from "@assoc-etl/core"
import { Api, Checkpoint, Dataset, ErrorRow, IdSet, IdSource, type ObjectType, type PartEncoder } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, type HubSpotError } from "@assoc-etl/hubspot"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Effect, Option, Schema, Sink, Stream } from "effect"
import * as ListedIds from "./internal/listedIds.js"

export type Format = "ndjson" | "ndjson.gz" | "parquet"

export type Input =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "stdin"; readonly bytes: Stream.Stream<Uint8Array, IdSource.IdSourceError> }
  | { readonly kind: "list" }
  /** Objects modified from `since` (an ISO date-time) to the run's start less `searchIndexLagMillis`, through the search API. */
  | { readonly kind: "search"; readonly since: string }

export interface ExportOptions {
  readonly from: ObjectType.ObjectType
  readonly to: ObjectType.ObjectType
  readonly out: string
  readonly format: Format
  readonly input: Input
  readonly skipBadLines?: boolean
  readonly batchSize?: number
  readonly concurrency?: number
  readonly partMaxRows?: number
}

export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  reason: Schema.Literal("ArgumentsDiffer", "BadCheckpoint", "SearchTooDense"),
  directory: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "ArgumentsDiffer":
        return `${this.directory} holds another export: ${this.detail}. It was not touched. To start over, remove ${this.directory} or choose another --out.`
      case "BadCheckpoint":
        return `${this.directory}: the checkpoint cannot be read (${this.detail}). Remove ${this.directory} to start over.`
      case "SearchTooDense":
        return `${this.directory}: ${this.detail}. These objects cannot be told apart by modification time: export `
          + "them without --since (every object listed) instead."
    }
  }
}

/** Live counters of a run, updated as answers are committed; read by the progress output. */
export interface Progress {
  idsDone: number
  idsTotal: number | undefined
  /** Rows and refused inputs in the dataset, this run and earlier ones. */
  rows: number
  refused: number
  /** Requests, retries, 429s and limiter waits of this run. */
  requests: number
  retries: number
  retriesByCause: Record<string, number>
  rateLimited: number
  waitedMillis: number
  elapsedMillis: number
}

export const emptyProgress = (): Progress => ({
  idsDone: 0,
  idsTotal: undefined,
  rows: 0,
  refused: 0,
  requests: 0,
  retries: 0,
  retriesByCause: {},
  rateLimited: 0,
  waitedMillis: 0,
  elapsedMillis: 0
})

export interface Summary {
  readonly status: "complete" | "already-complete"
  readonly directory: string
  readonly extension: string
  readonly resumed: boolean
  readonly rows: number
  readonly refused: number
  readonly parts: number
  readonly progress: Progress
}

export const encoderFor = (format: Format): PartEncoder.PartEncoder =>
  format === "parquet"
    ? ParquetEncoder.make()
    : NdjsonEncoder.make({ gzip: format === "ndjson.gz" })


/** The ids of one run: where they come from, and the stream of those not yet started. */
interface Source {
  readonly input: CheckpointNs.Input
  readonly idsTotal: number | undefined
  readonly badLines: ReadonlyArray<IdSource.BadLine>
  readonly label: string
  /** Every id with its ordinal, the same ordinals on every run of the export (the ledger skips started ones). */
  readonly ids: Stream.Stream<
    IdSource.IdLine,
    IdSource.IdSourceError | HubSpotError.HubSpotError | ExportError | PlatformError,
    HubSpotClient.HubSpotClient | FileSystem.FileSystem
  >
}

const fileSource = (file: string, scan: IdSource.Scan, input: CheckpointNs.Input, label: string): Source => ({
  input,
  idsTotal: scan.ids,
  badLines: scan.badLines,
  label,
  ids: IdSource.readFile(file, scan)
})

const corrupt = (directory: string) => (detail: string): ExportError | HubSpotError.HubSpotError =>
  new ExportError({ reason: "BadCheckpoint", directory, detail })

/** Every object of a type, listed a page at a time (the ids kept in `DIR/.listed-ids`, see `ListedIds`). */
const listSource = (type: ObjectType.ObjectType, directory: string, path: Path.Path): Source => ({
  input: { kind: "list" },
  idsTotal: undefined,
  badLines: [],
  label: `the ${type} listed through the API`,
  ids: Stream.unwrap(Effect.map(HubSpotClient.HubSpotClient, (client) =>
    ListedIds.stream({
      path: path.join(directory, ListedIds.fileName),
      position: Schema.Struct({ after: Schema.NullOr(Schema.String) }),
      first: { after: null },
      corrupt: corrupt(directory),
      list: (position) =>
        client.listObjects(type, { limit: Api.maxListLimit, ...(position.after === null ? {} : { after: position.after }) })
          .pipe(Effect.map((answer) => {
            const after = answer.paging?.next?.after
            return {
              ids: answer.results.map((r) => r.id),
              next: after === undefined || answer.results.length === 0 ? null : { after }
            }
          }))
    })
  ))
})

/**
 * A search query's place: objects modified in [lo, hi) (epoch millis), oldest first, from the `offset`-th on.
 * The windows after it are always [hi, until), so this is all a resume needs.
 */
const SearchPage = Schema.Struct({
  lo: Schema.Int,
  hi: Schema.Int,
  offset: Schema.Int,
  /** Ids modified at `lo` that were already taken: the query's first results, skipped. */
  skip: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
})
type SearchPage = typeof SearchPage.Type

/**
 * How far the window's end is set back from the run's start. HubSpot's search index lags writes (seconds, more
 * under load): an object modified just before the run may not be found by it yet. Its modification time is
 * after `until`, so the next run, whose window starts at this run's `until`, takes it once indexed. Setting the
 * end back costs nothing (the next run takes those minutes) and, unlike starting each run earlier, gives no row
 * twice across chained runs.
 */
export const searchIndexLagMillis = 5 * 60_000

/**
 * A search window ends this long before the run started (see `searchIndexLagMillis`), but never before it
 * starts: a run chained less than the lag after the one before has an empty window, and the next run must
 * start where this one did, not earlier (it would take that stretch twice).
 */
export const searchUntil = (since: string, startedAt: string): string =>
  new Date(Math.max(Date.parse(since), Date.parse(startedAt) - searchIndexLagMillis)).toISOString()

/** The property holding an object's modification time: contacts have their own name for it. */
export const modifiedProperty = (type: string): string =>
  type === "contacts" || type === "0-1" ? "lastmodifieddate" : "hs_lastmodifieddate"

const searchQuery = (modifiedProperty: string, page: SearchPage, limit: number): Api.SearchRequest => ({
  filterGroups: [{
    filters: [
      { propertyName: modifiedProperty, operator: "GTE", value: String(page.lo) },
      { propertyName: modifiedProperty, operator: "LT", value: String(page.hi) }
    ]
  }],
  sorts: [{ propertyName: modifiedProperty, direction: "ASCENDING" }],
  properties: [modifiedProperty],
  limit,
  ...(page.offset === 0 ? {} : { after: String(page.offset) })
})

/** An object's modification time in epoch millis, as the search answer gives it (ISO or millis). */
const modifiedOf = (modifiedProperty: string, record: Api.ObjectRecord): number | undefined => {
  const value = record.properties?.[modifiedProperty]
  if (value === undefined || value === null) return undefined
  const millis = /^[0-9]+$/.test(value) ? Number(value) : Date.parse(value)
  return Number.isNaN(millis) ? undefined : millis
}

/**
 * The query after `page`, from its answer. Keyset paging: the next query starts at L, the latest modification
 * time in the window among the results, and skips, by id, the results at L already taken (any result after
 * them comes back again and is deduped by id downstream). Paging by offset would lose objects: a run takes
 * minutes to hours, every object modified meanwhile leaves the window (its time is now after `until`), and each
 * one that leaves moves the later results a place back, under an offset already passed. Only a page that does
 * not get past its own start (more than 200 objects modified in one millisecond, or times missing) goes on by
 * offset; the offset stays below 10,000 (the search API's limit for one query) unless that many share it.
 */
const nextSearchPage = (
  modifiedProperty: string,
  page: SearchPage,
  answer: Api.SearchResponse,
  end: number
): SearchPage | null => {
  const n = answer.results.length
  if (answer.paging?.next?.after === undefined || n === 0) {
    return page.hi < end ? { lo: page.hi, hi: end, offset: 0 } : null
  }
  const times = answer.results.map((r) => modifiedOf(modifiedProperty, r))
  let last: number | undefined
  for (const t of times) if (t !== undefined && t >= page.lo && t < page.hi && (last === undefined || t > last)) last = t
  if (last === undefined || last === page.lo) return { ...page, offset: page.offset + n }
  const atLast = answer.results.filter((_, i) => times[i] === last).map((r) => r.id)
  return { lo: last, hi: page.hi, offset: 0, skip: atLast }
}

/**
 * The objects of a type modified in [since, until), through the search API, 200 a page, oldest first, with
 * keyset paging (`nextSearchPage`); the ids kept in `DIR/.listed-ids` (see `ListedIds`). The first answer's
 * `total` gives the number of ids (at most: objects modified during the run leave the window).
 */
const searchSource = (
  type: ObjectType.ObjectType,
  since: string,
  until: string,
  directory: string,
  path: Path.Path
): Source => {
  const end = Date.parse(until)
  const property = modifiedProperty(type)
  let idsTotal: number | undefined
  return {
    input: { kind: "search", since, until },
    get idsTotal() {
      return idsTotal
    },
    badLines: [],
    label: `the ${type} modified from ${since} to ${until}`,
    ids: Stream.unwrap(Effect.map(HubSpotClient.HubSpotClient, (client) =>
      ListedIds.stream({
        path: path.join(directory, ListedIds.fileName),
        position: SearchPage,
        first: { lo: Date.parse(since), hi: end, offset: 0 },
        corrupt: corrupt(directory),
        list: (page, firstKey): Effect.Effect<ListedIds.Page<SearchPage>, ExportError | HubSpotError.HubSpotError> => {
          if (page.lo >= page.hi) return Effect.succeed({ ids: [], next: null })
          const limit = Math.min(Api.maxSearchLimit, Api.maxSearchResults - page.offset)
          if (limit <= 0) {
            return Effect.fail(
              new ExportError({
                reason: "SearchTooDense",
                directory,
                detail: `more than ${Api.maxSearchResults} ${type} were modified in the same millisecond (${
                  new Date(page.lo).toISOString()
                }), more than HubSpot's search API pages through for one query`
              })
            )
          }
          return client.search(type, searchQuery(property, page, limit)).pipe(
            Effect.map((answer) => {
              // Ids before this query, plus what it matches from its start (less those at its start already taken).
              if (idsTotal === undefined && page.hi === end) {
                idsTotal = firstKey - page.offset - (page.skip?.length ?? 0) + answer.total
              }
              const skip = new Set(page.skip ?? [])
              return {
                ids: answer.results.filter((r) => !skip.has(r.id)).map((r) => r.id),
                next: nextSearchPage(property, page, answer, end)
              }
            })
          )
        }
      })
    ))
  }
}

const stdinSpool = ".stdin-ids"

/** Makes file and stdin inputs a file that can be scanned before any request and read again. */
const prepareSource = (options: ExportOptions, startedAt: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const skipBadLines = options.skipBadLines ?? false
    switch (options.input.kind) {
      case "list":
        return listSource(options.from, options.out, path)
      case "search":
        return searchSource(options.from, options.input.since, searchUntil(options.input.since, startedAt), options.out, path)
      case "file": {
        const file = path.resolve(options.input.path)
        const scan = yield* IdSource.scanFile(file, { skipBadLines })
        return fileSource(file, scan, { kind: "file", path: file, digest: scan.digest }, file)
      }
      case "stdin": {
        const file = path.join(options.out, stdinSpool)
        yield* IdSource.spool(options.input.bytes, file)
        const scan = yield* IdSource.scanFile(file, { skipBadLines })
        return fileSource(file, scan, { kind: "stdin", digest: scan.digest }, "stdin")
      }
    }
  })

/** The most rows one group commit takes (an answer larger than this is committed alone). */
const groupRows = 100_000

export const run = (options: ExportOptions, progress: Progress = emptyProgress()) =>
  Effect.scoped(Effect.gen(function*() {
    const pair = { fromType: options.from, toType: options.to }
    const encoder = encoderFor(options.format)
    const opened = yield* Dataset.open({
      directory: options.out,
      encoder,
      ...(options.partMaxRows !== undefined ? { partMaxRows: options.partMaxRows } : {})
    })
    if (opened.complete) {
      return {
        status: "already-complete",
        directory: options.out,
        extension: encoder.extension,
        resumed: false,
        rows: 0,
        refused: 0,
        parts: 0,
        progress
      } satisfies Summary
    }
    const previous = yield* Option.match(opened.resumed, {
      onNone: () => Effect.succeed(Option.none<CheckpointNs.Checkpoint>()),
      onSome: (payload) =>
        Checkpoint.decode(payload).pipe(
          Effect.mapError((e) => new ExportError({ reason: "BadCheckpoint", directory: options.out, detail: e.message })),
          Effect.map(Option.some)
        )
    })
    // A resume keeps the first run's start, and so a search's window: [since, startedAt - searchIndexLagMillis).
    const startedAt = Option.match(previous, { onNone: () => new Date().toISOString(), onSome: (c) => c.startedAt })
    if (Option.isNone(previous)) {
      // Ids listed by anything but this export's checkpointed runs are not this export's.
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      yield* fs.remove(path.join(options.out, ListedIds.fileName), { force: true })
    }
    const source = yield* prepareSource(options, startedAt)
    const args: CheckpointNs.Args = { from: options.from, to: options.to, format: options.format, input: source.input }
    if (Option.isSome(previous)) {
      const diffs = Checkpoint.differences(previous.value.args, args)
      if (diffs.length > 0) {
        return yield* new ExportError({ reason: "ArgumentsDiffer", directory: options.out, detail: diffs.join("; ") })
      }
    }

    const ledger = Option.match(previous, {
      onNone: () => Checkpoint.Ledger.empty(),
      onSome: (c) => Checkpoint.Ledger.fromCheckpoint(c)
    })
    const earlier = Option.match(previous, {
      onNone: () => ({ rows: 0, refused: 0, requests: 0, retries: 0 }),
      onSome: (c) => c.counters
    })
    const counters = { ...earlier }
    let badLinesRecorded = Option.match(previous, { onNone: () => false, onSome: (c) => c.badLinesRecorded })
    const payload = (): CheckpointNs.Checkpoint => ({
      version: Checkpoint.version,
      args,
      startedAt,
      ...ledger.snapshot(),
      badLinesRecorded,
      counters: { ...counters }
    })
    const writer = opened.writer

    if (!badLinesRecorded && source.badLines.length > 0) {
      const rows = source.badLines.map((b) => ErrorRow.invalidInput(pair, null, `${source.label}, line ${b.line}: ${b.reason}`))
      yield* writer.append([], rows)
      counters.refused += rows.length
    }
    badLinesRecorded = true
    // The arguments are recorded before any request: a rerun with others is refused even if this one fails at once.
    yield* writer.commit(payload())
    progress.idsTotal = source.idsTotal
    progress.rows = counters.rows
    progress.refused = counters.refused
    progress.idsDone = ledger.done.size

    // Continuations first, then every id not yet started; an id met before is done at once, with no request.
    const seen = IdSet.IdSet.empty()
    const continued: ReadonlyArray<BatchRead.Item> = [...ledger.pending].map(([key, p]) => ({
      key,
      id: p.id,
      after: p.after
    }))
    const fresh = source.ids.pipe(
      Stream.mapChunks((lines) => {
        const out: Array<BatchRead.Item> = []
        for (const line of lines) {
          const first = seen.add(line.id)
          if (ledger.isStarted(line.ordinal)) continue
          if (first) out.push({ key: line.ordinal, id: line.id })
          else ledger.finish(line.ordinal)
        }
        return Chunk.unsafeFromArray(out)
      })
    )
    const items = Stream.concat(Stream.fromIterable(continued), fresh)

    const stage = new BatchRead.Progress()
    // The client may serve other exports of the process: this run's figures are what it adds from now on.
    const base = yield* BatchRead.stats(stage)
    const refresh = Effect.gen(function*() {
      const stats = yield* BatchRead.stats(stage)
      // A search source learns its total from its first answer.
      progress.idsTotal = source.idsTotal
      progress.idsDone = ledger.done.size
      progress.rows = counters.rows
      progress.refused = counters.refused
      progress.requests = stats.client.requests - base.client.requests
      progress.rateLimited = stats.client.status429 - base.client.status429
      const retries = Object.entries(stats.client.retries).map(([cause, n]) =>
        [cause, n - (base.client.retries[cause as keyof typeof base.client.retries] ?? 0)] as const
      ).filter(([, n]) => n > 0)
      progress.retriesByCause = Object.fromEntries(retries)
      progress.retries = retries.reduce((a, [, n]) => a + n, 0)
      progress.waitedMillis = stats.budget.waitedMillis - base.budget.waitedMillis
    })
    yield* BatchRead.make({
      from: options.from,
      to: options.to,
      progress: stage,
      // Ids are deduped above, across resumes too (a resume reads every id again, from its file or `.listed-ids`).
      dedupe: false,
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {})
    })(items).pipe(
      // Group commit: answers gather while the previous commit runs, then are committed together; a group holds
      // at most `groupRows` rows (or one larger answer), so memory stays bounded when commits are slow.
      Stream.aggregate(Sink.foldWeighted({
        initial: Chunk.empty<BatchRead.Page>(),
        maxCost: groupRows,
        cost: (_, page: BatchRead.Page) => page.rows.length + page.errors.length,
        body: (group, page) => Chunk.append(group, page)
      })),
      Stream.runForEach((pages) =>
        Effect.gen(function*() {
          for (const page of pages) {
            yield* writer.append(page.rows, page.errors)
            for (const item of page.done) ledger.finish(item.key)
            for (const item of page.next) {
              if (item.after === undefined) ledger.finish(item.key)
              else ledger.continueAt(item.key, item.id, item.after)
            }
            counters.rows += page.rows.length
            counters.refused += page.errors.length
          }
          yield* refresh
          counters.requests = earlier.requests + progress.requests
          counters.retries = earlier.retries + progress.retries
          yield* writer.commit(payload())
        })
      )
    )

    yield* refresh
    const manifest = yield* writer.finish(payload(), {
      startedAt,
      export: { from: options.from, to: options.to, input: source.input }
    })
    return {
      status: "complete",
      directory: options.out,
      extension: encoder.extension,
      resumed: Option.isSome(previous),
      rows: counters.rows,
      refused: counters.refused,
      parts: manifest.parts.length,
      progress
    } satisfies Summary
  }))

