/**
 * The resumable export: a source of ids → a stage that reads their
 * associations → a sink, with every association exactly once in the sink
 * after any crash, for any source, stage and sink that keep their laws
 * (`IdSource`, `Stage`, `RowSink`).
 *
 * The protocol, the reason a finished export holds every association once:
 * 1. the sink is opened with the checkpoint's schema; what it gives back is
 *    the last commit's checkpoint: the pair and source it read (a run that
 *    asks for others is refused), the ordinals done, the cursors of ids half
 *    done, and counters;
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
import { Chunk, Clock, Effect, Metric, Option, Schema, type Scope, Sink, Stream } from "effect"
import type { Pair } from "./AssociationRow.js"
import * as Checkpoint from "./Checkpoint.js"
import * as ErrorRow from "./ErrorRow.js"
import { IdSet } from "./IdSet.js"
import type { IdSource } from "./IdSource.js"
import * as RowBatch from "./RowBatch.js"
import type { RowSink } from "./RowSink.js"
import type { Item, Page, Stage } from "./Stage.js"

export interface ExportOptions<A, ES, RS, EG, RG, EK, RK> {
  readonly pair: Pair
  readonly source: IdSource<ES, RS>
  readonly stage: Stage<EG, RG>
  readonly sink: RowSink<A, EK, RK>
  /** The most rows one group commit takes (an answer larger than this is committed alone). */
  readonly groupRows?: number
}

export const defaultGroupRows = 100_000

export interface Summary<A> {
  /** `already-complete`: the sink held this export, finished; nothing was asked. */
  readonly status: "complete" | "already-complete"
  /** What the sink's `finish` gave: a dataset's manifest, say. */
  readonly result: A
  readonly resumed: boolean
  /** Rows and refused inputs in the sink, this run and earlier ones. */
  readonly rows: number
  readonly refused: number
  /** Ids done (duplicates and refused ones included). */
  readonly idsDone: number
}

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

export const run = <A, ES, RS, EG, RG, EK, RK>(
  options: ExportOptions<A, ES, RS, EG, RG, EK, RK>
): Effect.Effect<Summary<A>, ES | EG | EK | ExportError, Exclude<RS | RG | RK, Scope.Scope>> =>
  Effect.gen(function*() {
    const { pair } = options
    const opened = yield* options.sink.open(Checkpoint.Checkpoint)
    const previous = opened.resumed
    const startedAt = Option.isSome(previous) ? previous.value.startedAt : yield* Clock.currentTimeMillis
    const source = yield* options.source.open({ startedAt, resumed: Option.isSome(previous) })
    const identity = source.identity
    if (Option.isSome(previous)) {
      const diffs = Checkpoint.differences(previous.value, { pair, source: identity })
      if (diffs.length > 0) return yield* new ExportError({ reason: "ArgumentsDiffer", detail: diffs.join("; ") })
    }

    const ledger = Option.match(previous, {
      onNone: () => Checkpoint.Ledger.empty(),
      onSome: (c) => Checkpoint.Ledger.fromCheckpoint(c)
    })
    const counters = Option.match(previous, { onNone: () => ({ rows: 0, refused: 0 }), onSome: (c) => ({ ...c.counters }) })
    const summary = (status: Summary<A>["status"], result: A): Summary<A> => ({
      status,
      result,
      resumed: Option.isSome(previous),
      rows: counters.rows,
      refused: counters.refused,
      idsDone: ledger.done.size
    })
    if (Option.isSome(opened.finished)) return summary("already-complete", opened.finished.value)

    let badLinesRecorded = Option.match(previous, { onNone: () => false, onSome: (c) => c.badLinesRecorded })
    const payload = (): Checkpoint.Checkpoint => ({
      version: Checkpoint.version,
      from: pair.fromType,
      to: pair.toType,
      source: identity,
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
    yield* options.stage(pair, Stream.concat(Stream.fromIterable(continued), fresh)).pipe(
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
    const result = yield* opened.finish(payload(), { pair, source: identity, startedAt })
    yield* publish
    return summary("complete", result)
  }).pipe(
    Effect.scoped,
    Effect.withSpan("Export.run", { attributes: { from: options.pair.fromType, to: options.pair.toType } })
  )
