/**
 * What the user sees while an export runs and when it ends: a live line on
 * a terminal, a log line (logfmt or JSON, through Effect's loggers) every
 * few seconds elsewhere, and always a final summary on stderr.
 *
 * The figures are the library's metrics (`Export.metrics`, the client's and
 * the budget's), read under a tag of the run's own, so that two exports of
 * one process are told apart. The live line is written as it is (a carriage
 * return and an erase, no newline), so it goes straight to stderr.
 */
import { Export, type Manifest } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, HubSpotError, RequestBudget } from "@assoc-etl/hubspot"
import { Clock, Console, Duration, Effect, Fiber, Logger, Metric, Schedule } from "effect"
import { DoneWithRefusals } from "./CliError.js"

export type LogFormat = "logfmt" | "json"

/** Effect's logfmt or JSON logger, writing to stderr (stdout is left to data). */
export const logger = (format: LogFormat) =>
  Logger.replace(Logger.defaultLogger, Logger.withConsoleError(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger))

/** The figures of one export: those of the dataset so far, and this run's requests. */
export interface Progress {
  readonly idsDone: number
  /** 0 while the source does not know. */
  readonly idsTotal: number
  readonly rows: number
  readonly refused: number
  readonly requests: number
  readonly retriesByCause: Readonly<Record<string, number>>
  readonly retries: number
  readonly rateLimited: number
  readonly waitedMillis: number
  readonly elapsedMillis: number
  /** The batch size in use, and whether HubSpot's refusals lowered it. */
  readonly batchSize: number
  readonly batchSizeLowered: boolean
}

const count = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (s) => s.count)
const gauge = (metric: Metric.Metric.Gauge<number>) => Effect.map(Metric.value(metric), (s) => s.value)

/** The figures, read from the metrics under the current tags. */
export const progress = (startedAt: number): Effect.Effect<Progress> =>
  Effect.gen(function*() {
    const byCause: Record<string, number> = {}
    let retries = 0
    for (const reason of HubSpotError.Reason.literals) {
      const n = yield* count(HubSpotClient.retriesFor(reason))
      if (n > 0) byCause[reason] = n
      retries += n
    }
    return {
      idsDone: yield* gauge(Export.metrics.idsDone),
      idsTotal: yield* gauge(Export.metrics.idsTotal),
      rows: yield* gauge(Export.metrics.rows),
      refused: yield* gauge(Export.metrics.refused),
      requests: yield* count(HubSpotClient.metrics.requests),
      retriesByCause: byCause,
      retries,
      rateLimited: yield* count(HubSpotClient.metrics.rateLimited),
      waitedMillis: yield* count(RequestBudget.metricOf(RequestBudget.metrics.waitedMillis, "requests")),
      elapsedMillis: (yield* Clock.currentTimeMillis) - startedAt,
      batchSize: yield* gauge(BatchRead.metrics.batchSize),
      batchSizeLowered: (yield* count(BatchRead.metrics.batchSizeLowered)) > 0
    }
  })

const rate = (n: number, millis: number) => (millis > 0 ? (n * 1000) / millis : 0)

const eta = (p: Progress): string => {
  if (p.idsTotal === 0 || p.idsDone === 0) return "?"
  const left = ((p.idsTotal - p.idsDone) * p.elapsedMillis) / p.idsDone / 1000
  return left < 60 ? `${Math.round(left)}s` : `${Math.floor(left / 60)}m${Math.round(left % 60)}s`
}

/** The fields of a progress log line. */
export const fields = (p: Progress): Record<string, number> => ({
  ids_done: p.idsDone,
  ...(p.idsTotal > 0 ? { ids_total: p.idsTotal } : {}),
  rows: p.rows,
  refused: p.refused,
  requests: p.requests,
  retries: p.retries,
  status_429: p.rateLimited,
  rows_per_s: Math.round(rate(p.rows, p.elapsedMillis)),
  elapsed_s: Math.round(p.elapsedMillis / 100) / 10
})

export const terminalLine = (p: Progress): string => {
  const ids = p.idsTotal > 0 ? `${p.idsDone}/${p.idsTotal} ids` : `${p.idsDone} ids`
  return `${ids} · ${p.rows} rows · ${p.requests} requests · ${p.retries} retries · ${p.rateLimited} 429s · ${
    Math.round(rate(p.rows, p.elapsedMillis))
  } rows/s · ETA ${eta(p)}`
}

export interface ReportOptions {
  /** Defaults to whether stderr is a terminal. */
  readonly terminal?: boolean
  readonly every?: Duration.DurationInput
}

let runs = 0

/**
 * Runs an export with progress output; its summary comes back with the run's figures. The export's metrics are
 * tagged `assoc_etl_run` with a number of its own.
 */
export const withProgress = <A, E, R>(
  program: Effect.Effect<Export.Summary<A>, E, R>,
  options: ReportOptions = {}
): Effect.Effect<{ readonly summary: Export.Summary<A>; readonly progress: Progress }, E, R> =>
  Effect.suspend(() =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const terminal = options.terminal ?? process.stderr.isTTY === true
      const tick = Effect.flatMap(progress(started), (p) =>
        terminal
          ? Effect.sync(() => process.stderr.write(`\r\x1b[2K${terminalLine(p)}`))
          : Effect.annotateLogs(Effect.logInfo("progress"), fields(p)))
      const every = options.every ?? (terminal ? Duration.millis(250) : Duration.seconds(5))
      const ticker = yield* Effect.fork(Effect.repeat(Effect.delay(tick, every), Schedule.forever))
      const summary = yield* program.pipe(
        Effect.ensuring(Fiber.interrupt(ticker).pipe(Effect.zipRight(terminal ? Console.error("") : Effect.void)))
      )
      return { summary, progress: yield* progress(started) }
    }).pipe(Effect.tagMetrics("assoc_etl_run", String(++runs)))
  )

export interface SummaryOptions {
  readonly directory: string
  /** The parts' extension, with its dot. */
  readonly extension: string
}

export const summaryText = (
  s: Export.Summary<Manifest.Manifest>,
  p: Progress,
  options: SummaryOptions
): string => {
  const dir = options.directory
  if (s.status === "already-complete") {
    return `${dir} is already complete (_SUCCESS present): nothing to do. Remove it to export again.`
  }
  const causes = Object.entries(p.retriesByCause).map(([k, v]) => `${k} ${v}`).join(", ")
  const head = s.status === "stopped"
    ? [`export stopped: ${dir} holds what was done, committed`, `  rows            ${s.rows}`]
    : [
      `export ${s.resumed ? "resumed and " : ""}complete: ${dir}`,
      `  rows            ${s.rows} in ${s.result.parts.length} part${s.result.parts.length === 1 ? "" : "s"}`
    ]
  return [
    ...head,
    `  refused inputs  ${s.refused}${s.refused > 0 ? ` (see ${dir}/_errors/errors.ndjson)` : ""}`,
    `  ids             ${s.idsDone}${s.idsWithoutRows > 0 ? ` (${s.idsWithoutRows} with no associations)` : ""}`,
    `  requests        ${p.requests} (this run), 429s ${p.rateLimited}, waited ${Math.round(p.waitedMillis / 100) / 10}s on the rate limit`,
    `  retries         ${p.retries}${causes.length > 0 ? ` (${causes})` : ""}`,
    ...(p.batchSizeLowered
      ? [`  batch size      lowered to ${p.batchSize}: HubSpot refused larger batches (400 VALIDATION_ERROR)`]
      : []),
    `  time            ${Math.round(p.elapsedMillis / 100) / 10}s`,
    ...(s.status === "stopped"
      ? []
      : [`  files           ${dir}/part-*${options.extension}, manifest.json, _errors/errors.ndjson, _SUCCESS`])
  ].join("\n")
}

/** Prints the summary; an export with refused inputs ends in `DoneWithRefusals` (exit 3). */
export const outcome = (s: Export.Summary<Manifest.Manifest>, p: Progress, options: SummaryOptions) =>
  Console.error(summaryText(s, p, options)).pipe(
    Effect.zipRight(
      s.refused > 0 && s.status !== "stopped" ? Effect.fail(new DoneWithRefusals({ refused: s.refused })) : Effect.void
    )
  )
