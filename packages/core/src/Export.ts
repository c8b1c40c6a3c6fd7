/**
 * The resumable export: a source of ids → a stage that reads their
 * associations → a sink, with every association exactly once in the sink
 * after any crash, for any source, stage and sink that keep their laws
 * (`IdSource`, `Stage`, `RowSink`).
 *
 * The protocol, the reason a finished export holds every association once:
 * 1. the sink is opened with the checkpoint's schema; what it gives back is
 *    the last commit's checkpoint: the pair and source it read, and the
 *    origin (the system read, a HubSpot portal) when the run names one (a run
 *    that asks for others is refused), the ordinals done, the cursors of ids
 *    half done, and counters;
 * 2. the checkpoint is committed before anything is asked, so a rerun with
 *    other arguments is refused even when this one fails at once;
 * 3. the stage is fed the half-done ids first (from their cursors), then
 *    every id of the source not yet started; an id met before (in this run or
 *    as a half-done one) is done at once, with no request;
 * 4. each page's rows and refused inputs are appended to the sink, and the
 *    ledger notes which ordinals the page finished and which go on from a new
 *    cursor; after each page, or after all the pages that arrived while the
 *    previous commit ran (group commit), the sink commits them with the
 *    ledger as it stands. Pages not committed before a crash are dropped by
 *    the sink on the next open and asked again; committed ones are not.
 */
import { Chunk, Clock, Effect, Function, Metric, Option, Schema, type Scope, Sink, Stream } from "effect"
import type { Pair } from "./AssociationRow.js"
import * as Checkpoint from "./Checkpoint.js"
import * as ErrorRow from "./ErrorRow.js"
import { IdSet } from "./IdSet.js"
import type { Identity, IdSource } from "./IdSource.js"
import * as RowBatch from "./RowBatch.js"
import type { RowSink } from "./RowSink.js"
import type { Item, Page, Stage } from "./Stage.js"

export interface ExportOptions<A, ES, RS, EG, RG, EK, RK, EO = never, RO = never> {
  readonly pair: Pair
  readonly source: IdSource<ES, RS>
  readonly stage: Stage<EG, RG>
  readonly sink: RowSink<A, EK, RK>
  /**
   * The system the stage reads (a HubSpot portal: `HubSpotClient.origin`), asked once a run before anything else
   * and recorded in the checkpoint: a resume against another one is refused, so two systems' rows never mix.
   * `undefined` when the system cannot tell (the run then binds nothing).
   */
  readonly origin?: Effect.Effect<Identity | undefined, EO, RO>
  /**
   * When this completes, the run stops taking answers, commits what it has, and returns with status `stopped`
   * (answers in flight are dropped and asked again by the next run): a graceful Ctrl-C.
   */
  readonly stop?: Effect.Effect<void>
  /** The most rows one group commit takes (an answer larger than this is committed alone). */
  readonly groupRows?: number
}

export const defaultGroupRows = 100_000

interface Figures {
  readonly resumed: boolean
  /** Rows and refused inputs in the sink, this run and earlier ones. */
  readonly rows: number
  readonly refused: number
  /** Ids done (duplicates and refused ones included). */
  readonly idsDone: number
  /** Ids done whose answers held no row and no refusal. */
  readonly idsWithoutRows: number
}

/**
 * How a run ended: `complete`; `already-complete` (the sink held this export, finished; nothing was asked); or
 * `stopped` by `stop`, with what was done committed (run it again to go on).
 */
export type Summary<A> =
  | Figures & {
    readonly status: "complete" | "already-complete"
    /** What the sink's `finish` gave: a dataset's manifest, say. */
    readonly result: A
  }
  | Figures & { readonly status: "stopped" }

export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  reason: Schema.Literal("ArgumentsDiffer"),
  detail: Schema.String
}) {
  override get message(): string {
    return `the output holds another export: ${this.detail}. What it committed was kept; to start over, remove it `
      + "or choose another"
  }
}

/**
 * The figures of a running export, as gauges set at each commit. A program that runs several exports at once
 * tells them apart by tagging each (`Effect.tagMetrics`); readers of the same tags read that export's figures.
 */
export const metrics = {
  idsDone: Metric.gauge("assoc_etl_export_ids_done"),
  /** Set once the source knows how many ids it gives. */
  idsTotal: Metric.gauge("assoc_etl_export_ids_total"),
  rows: Metric.gauge("assoc_etl_export_rows"),
  refused: Metric.gauge("assoc_etl_export_refused"),
  commits: Metric.counter("assoc_etl_export_commits", { incremental: true })
} as const

/** Ids a page finished on their first page whose answer held no row and no refusal. */
const withoutRows = (page: Page): number => {
  let fresh = 0
  for (const item of page.done) if (item.after === undefined) fresh++
  if (fresh === 0) return 0
  const answered = new Set<string>()
  for (const group of page.rows.groups) answered.add(group.fromId)
  for (const error of page.errors) if (error.object_id !== null) answered.add(error.object_id)
  let count = 0
  for (const item of page.done) if (item.after === undefined && !answered.has(item.id)) count++
  return count
}

export const run = <A, ES, RS, EG, RG, EK, RK, EO = never, RO = never>(
  options: ExportOptions<A, ES, RS, EG, RG, EK, RK, EO, RO>
): Effect.Effect<Summary<A>, ES | EG | EK | EO | ExportError, Exclude<RS | RG | RK | RO, Scope.Scope>> =>
  Effect.gen(function*() {
    const { pair } = options
    const opened = yield* options.sink.open(Checkpoint.Checkpoint)
    const previous = opened.resumed
    const startedAt = Option.isSome(previous) ? previous.value.startedAt : yield* Clock.currentTimeMillis
    const source = yield* options.source.open({ startedAt, resumed: Option.isSome(previous) })
    const identity = source.identity
    const refuseDifferences = (origin: Identity | undefined) => {
      if (Option.isNone(previous)) return Effect.void
      const diffs = Checkpoint.differences(previous.value, { pair, source: identity, origin })
      return diffs.length > 0 ? new ExportError({ reason: "ArgumentsDiffer", detail: diffs.join("; ") }) : Effect.void
    }
    yield* refuseDifferences(undefined)

    const ledger = Option.match(previous, {
      onNone: () => Checkpoint.Ledger.empty(),
      onSome: (c) => Checkpoint.Ledger.fromCheckpoint(c)
    })
    const counters: { -readonly [K in keyof Checkpoint.Counters]: Checkpoint.Counters[K] } = Option.match(previous, {
      onNone: () => ({ rows: 0, refused: 0, withoutRows: 0 }),
      onSome: (c) => ({ ...c.counters })
    })
    const figures = (): Figures => ({
      resumed: Option.isSome(previous),
      rows: counters.rows,
      refused: counters.refused,
      idsDone: ledger.done.size,
      idsWithoutRows: counters.withoutRows
    })
    if (Option.isSome(opened.finished)) {
      return { status: "already-complete", result: opened.finished.value, ...figures() } satisfies Summary<A>
    }
    // Asked only of a run that will ask for rows: a finished export is reported without a request.
    const origin = options.origin === undefined ? undefined : yield* options.origin
    yield* refuseDifferences(origin)
    // A checkpoint that recorded an origin keeps it when this run names none.
    const recordedOrigin = origin ?? Option.getOrUndefined(Option.flatMapNullable(previous, (c) => c.origin))

    let badLinesRecorded = Option.match(previous, { onNone: () => false, onSome: (c) => c.badLinesRecorded })
    const payload = (): Checkpoint.Checkpoint => ({
      version: Checkpoint.version,
      from: pair.fromType,
      to: pair.toType,
      source: identity,
      ...(recordedOrigin === undefined ? {} : { origin: recordedOrigin }),
      startedAt,
      ...ledger.snapshot(),
      badLinesRecorded,
      counters: { ...counters }
    })
    const publish = Effect.gen(function*() {
      const total = yield* source.total
      yield* Metric.set(metrics.idsDone, ledger.done.size)
      yield* Metric.set(metrics.rows, counters.rows)
      yield* Metric.set(metrics.refused, counters.refused)
      if (Option.isSome(total)) yield* Metric.set(metrics.idsTotal, total.value)
    })
    const commit = Effect.suspend(() => opened.commit(payload())).pipe(
      Effect.withSpan("Export.commit"),
      Effect.zipRight(Metric.increment(metrics.commits)),
      Effect.zipRight(publish)
    )

    if (!badLinesRecorded && source.badLines.length > 0) {
      const rows = source.badLines.map((b) =>
        ErrorRow.invalidInput(pair, null, `${identity.description}, line ${b.line}: ${b.reason}`)
      )
      yield* opened.append(RowBatch.empty, rows)
      counters.refused += rows.length
    }
    badLinesRecorded = true
    // The checkpoint is recorded before anything is asked: a rerun with other arguments is refused even if this
    // run fails at once.
    yield* commit

    // Half-done ids first, then every id not yet started; an id met before is done at once, with no request. (A
    // half-done id is its first occurrence's: the source gives that ordinal, and so marks the id seen, before any
    // repeat.)
    const seen = IdSet.empty()
    const continued: ReadonlyArray<Item> = [...ledger.pending].map(([key, p]) => ({ key, id: p.id, after: p.after }))
    const fresh = source.ids.pipe(
      Stream.mapChunks((lines) => {
        const out: Array<Item> = []
        for (const line of lines) {
          const first = seen.add(line.id)
          if (ledger.isStarted(line.ordinal)) continue
          if (first) out.push({ key: line.ordinal, id: line.id })
          else ledger.finish(line.ordinal)
        }
        return Chunk.unsafeFromArray(out)
      })
    )
    const groupRows = options.groupRows ?? defaultGroupRows
    let stopped = false
    const stop = options.stop
    yield* options.stage(pair, Stream.concat(Stream.fromIterable(continued), fresh)).pipe(
      // Pages already taken are committed below; the stage's requests in flight are dropped.
      stop === undefined ? Function.identity : Stream.interruptWhen(Effect.tap(stop, () => void (stopped = true))),
      // Group commit: pages gather while the previous commit runs, then are committed together; a group holds at
      // most `groupRows` rows (or one larger page), so memory stays bounded when commits are slow.
      Stream.aggregate(Sink.foldWeighted({
        initial: Chunk.empty<Page>(),
        maxCost: groupRows,
        cost: (_, page: Page) => page.rows.length + page.errors.length,
        body: (group, page) => Chunk.append(group, page)
      })),
      Stream.runForEach((pages) =>
        Effect.gen(function*() {
          for (const page of pages) {
            yield* opened.append(page.rows, page.errors)
            counters.withoutRows += withoutRows(page)
            for (const item of page.done) ledger.finish(item.key)
            for (const item of page.next) {
              if (item.after === undefined) ledger.finish(item.key)
              else ledger.continueAt(item.key, item.id, item.after)
            }
            counters.rows += page.rows.length
            counters.refused += page.errors.length
          }
          yield* commit
        })
      )
    )
    if (stopped) return { status: "stopped", ...figures() } satisfies Summary<A>
    const result = yield* opened.finish(payload(), {
      pair,
      source: identity,
      ...(recordedOrigin === undefined ? {} : { origin: recordedOrigin }),
      startedAt,
      ids: { done: ledger.done.size, withoutRows: counters.withoutRows }
    })
    yield* publish
    return { status: "complete", result, ...figures() } satisfies Summary<A>
  }).pipe(
    Effect.scoped,
    Effect.withSpan("Export.run", { attributes: { from: options.pair.fromType, to: options.pair.toType } })
  )
