/** What the hubspot tests share: rows as a multiset, and the metrics one test counted. */
import { type AssociationRow, NdjsonRows, RowBatch } from "@assoc-etl/core"
import { Effect, Metric } from "effect"

const utf8 = new TextDecoder()

/** Rows as sorted NDJSON lines (core's encoder): a multiset to compare. */
export const multiset = (
  rows: RowBatch.RowBatch | ReadonlyArray<AssociationRow.AssociationRow>
): ReadonlyArray<string> => {
  const bytes = rows instanceof RowBatch.RowBatch ? NdjsonRows.encode(rows) : NdjsonRows.encodeRows(rows)
  const lines = utf8.decode(bytes).split("\n")
  lines.pop()
  return lines.sort()
}

let runs = 0

/**
 * Runs `effect` with its metrics tagged for it alone (metrics are the process's): `count` and `gauge` read
 * inside it give what it counted. Fibers it forks (the stage's, the client's) inherit the tag.
 */
export const counted = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => effect.pipe(Effect.tagMetrics("test_run", String(++runs))))

/** A counter's count, as counted under the current tags (`counted`). */
export const count = (metric: Metric.Metric.Counter<number>): Effect.Effect<number> =>
  Effect.map(Metric.value(metric), (state) => state.count)

/** A gauge's value, as set under the current tags (`counted`). */
export const gauge = (metric: Metric.Metric.Gauge<number>): Effect.Effect<number> =>
  Effect.map(Metric.value(metric), (state) => state.value)
