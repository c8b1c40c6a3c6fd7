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
  /** The memory budget (bytes), and how often it bound the run (`BatchRead.metrics`). */
  readonly memory: {
    readonly budget: number
    readonly peak: number
    /** Batches sent smaller than the ids waiting allowed, so that their answers fit. */
    readonly boundBatches: number
    /** Requests of one id whose answer alone outweighed the budget. */
    readonly overBudget: number
  }
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
      batchSizeLowered: (yield* count(BatchRead.metrics.batchSizeLowered)) > 0,
      memory: {
        budget: yield* gauge(BatchRead.metrics.memoryBudget),
        peak: yield* gauge(BatchRead.metrics.memoryPeak),
        boundBatches: yield* count(BatchRead.metrics.memoryBoundBatches),
        overBudget: yield* count(BatchRead.metrics.memoryOverBudget)
      }
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

/** The figures of several exports as one: sums, the smallest batch size in use. */
export const combine = (all: ReadonlyArray<Progress>): Progress => {
  const byCause: Record<string, number> = {}
  for (const p of all) for (const [k, v] of Object.entries(p.retriesByCause)) byCause[k] = (byCause[k] ?? 0) + v
  const sum = (f: (p: Progress) => number) => all.reduce((n, p) => n + f(p), 0)
  return {
    idsDone: sum((p) => p.idsDone),
    // Unknown (0) while any export's source does not know its total.
    idsTotal: all.some((p) => p.idsTotal === 0) ? 0 : sum((p) => p.idsTotal),
    rows: sum((p) => p.rows),
    refused: sum((p) => p.refused),
    requests: sum((p) => p.requests),
    retriesByCause: byCause,
    retries: sum((p) => p.retries),
    rateLimited: sum((p) => p.rateLimited),
    waitedMillis: Math.max(0, ...all.map((p) => p.waitedMillis)),
    elapsedMillis: Math.max(0, ...all.map((p) => p.elapsedMillis)),
    batchSize: Math.min(...all.map((p) => p.batchSize)),
    batchSizeLowered: all.some((p) => p.batchSizeLowered),
    // One budget serves every pair of a run.
    memory: {
      budget: Math.max(0, ...all.map((p) => p.memory.budget)),
      peak: Math.max(0, ...all.map((p) => p.memory.peak)),
      boundBatches: sum((p) => p.memory.boundBatches),
      overBudget: sum((p) => p.memory.overBudget)
    }
  }
}

/**
 * Runs exports side by side with one progress output for all; each summary comes back with its run's figures.
 * Each export's metrics are tagged `assoc_etl_run` with a number of its own. The first export to fail stops the
 * others (what they committed is kept).
 */
export const withProgressAll = <A, E, R>(
  programs: ReadonlyArray<Effect.Effect<Export.Summary<A>, E, R>>,
  options: ReportOptions = {}
): Effect.Effect<
  ReadonlyArray<{ readonly summary: Export.Summary<A>; readonly progress: Progress }>,
  E,
  R
> =>
  Effect.suspend(() =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const tags = programs.map(() => String(++runs))
      const progressOf = (tag: string) => Effect.tagMetrics(progress(started), "assoc_etl_run", tag)
      const all = Effect.map(Effect.forEach(tags, progressOf), combine)
      const terminal = options.terminal ?? process.stderr.isTTY === true
      const tick = Effect.flatMap(all, (p) =>
        terminal
          ? Effect.sync(() => process.stderr.write(`\r\x1b[2K${terminalLine(p)}`))
          : Effect.annotateLogs(Effect.logInfo("progress"), fields(p)))
      const every = options.every ?? (terminal ? Duration.millis(250) : Duration.seconds(5))
      const ticker = yield* Effect.fork(Effect.repeat(Effect.delay(tick, every), Schedule.forever))
      const summaries = yield* Effect.all(
        programs.map((program, i) => Effect.tagMetrics(program, "assoc_etl_run", tags[i]!)),
        { concurrency: "unbounded" }
      ).pipe(
        Effect.ensuring(Fiber.interrupt(ticker).pipe(Effect.zipRight(terminal ? Console.error("") : Effect.void)))
      )
      return yield* Effect.forEach(summaries, (summary, i) => Effect.map(progressOf(tags[i]!), (p) => ({ summary, progress: p })))
    })
  )

/** Runs an export with progress output (see `withProgressAll`). */
export const withProgress = <A, E, R>(
  program: Effect.Effect<Export.Summary<A>, E, R>,
  options: ReportOptions = {}
): Effect.Effect<{ readonly summary: Export.Summary<A>; readonly progress: Progress }, E, R> =>
  Effect.map(withProgressAll([program], options), (all) => all[0]!)

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
    ...memoryLines(p),
    `  time            ${Math.round(p.elapsedMillis / 100) / 10}s`,
    ...(s.status === "stopped"
      ? []
      : [`  files           ${dir}/part-*${options.extension}, manifest.json, _errors/errors.ndjson, _SUCCESS`])
  ].join("\n")
}

/** What the memory budget did, when it bound the run: smaller batches, or answers heavier than all of it. */
const memoryLines = (p: Progress): ReadonlyArray<string> => {
  const m = p.memory
  if (m.boundBatches === 0 && m.overBudget === 0) return []
  const over = m.overBudget > 0
    ? `; ${m.overBudget} answer${m.overBudget === 1 ? "" : "s"} alone outweighed it, sent one id a request`
    : ""
  return [
    `  memory          --memory ${BatchRead.sizeText(m.budget)} bound ${m.boundBatches} batch${m.boundBatches === 1 ? "" : "es"} `
    + `(smaller, or fewer in flight: the answers are heavy)${over}; held at most ${BatchRead.sizeText(m.peak)}`
  ]
}

/** Prints the summary; an export with refused inputs ends in `DoneWithRefusals` (exit 3). */
export const outcome = (s: Export.Summary<Manifest.Manifest>, p: Progress, options: SummaryOptions) =>
  Console.error(summaryText(s, p, options)).pipe(
    Effect.zipRight(
      s.refused > 0 && s.status !== "stopped" ? Effect.fail(new DoneWithRefusals({ refused: s.refused })) : Effect.void
    )
  )

/** One pair of a job, as it ended. */
export interface PairOutcome {
  /** `contacts-companies`: the pair's directory under the job's root. */
  readonly name: string
  readonly summary: Export.Summary<Manifest.Manifest>
  readonly progress: Progress
}

const pairLine = (o: PairOutcome): string => {
  const s = o.summary
  const state = s.status === "already-complete" ? "already complete" : s.status
  const parts = s.status === "complete" ? ` in ${s.result.parts.length} part${s.result.parts.length === 1 ? "" : "s"}` : ""
  return `  ${o.name.padEnd(30)} ${state.padEnd(16)} ${s.rows} rows${parts}, ${s.refused} refused, ${s.idsDone} ids`
}

/** The summary of a job of several pairs under `root`: a line a pair, then the run's requests and time. */
export const jobSummaryText = (root: string, outcomes: ReadonlyArray<PairOutcome>, extension: string): string => {
  const p = combine(outcomes.map((o) => o.progress))
  const stopped = outcomes.some((o) => o.summary.status === "stopped")
  const refused = outcomes.filter((o) => o.summary.refused > 0).map((o) => `${root}/${o.name}/_errors/errors.ndjson`)
  const causes = Object.entries(p.retriesByCause).map(([k, v]) => `${k} ${v}`).join(", ")
  return [
    stopped
      ? `job stopped: ${root} holds what was done, committed`
      : `job complete: ${root}, ${outcomes.length} pair${outcomes.length === 1 ? "" : "s"}`,
    ...outcomes.map(pairLine),
    ...(refused.length > 0 ? [`  refused inputs  see ${refused.join(", ")}`] : []),
    `  requests        ${p.requests} (this run, all pairs on one budget), 429s ${p.rateLimited}, waited ${
      Math.round(p.waitedMillis / 100) / 10
    }s on the rate limit`,
    `  retries         ${p.retries}${causes.length > 0 ? ` (${causes})` : ""}`,
    ...(p.batchSizeLowered
      ? [`  batch size      lowered to ${p.batchSize}: HubSpot refused larger batches (400 VALIDATION_ERROR)`]
      : []),
    ...memoryLines(p),
    `  time            ${Math.round(p.elapsedMillis / 100) / 10}s`,
    ...(stopped ? [] : [`  files           ${root}/<from>-<to>/part-*${extension}, manifest.json, _labels/, _SUCCESS`])
  ].join("\n")
}

/** Prints a job's summary; a job with refused inputs in any pair ends in `DoneWithRefusals` (exit 3). */
export const jobOutcome = (root: string, outcomes: ReadonlyArray<PairOutcome>, extension: string) => {
  const stopped = outcomes.some((o) => o.summary.status === "stopped")
  const refused = outcomes.reduce((n, o) => n + o.summary.refused, 0)
  return Console.error(jobSummaryText(root, outcomes, extension)).pipe(
    Effect.zipRight(refused > 0 && !stopped ? Effect.fail(new DoneWithRefusals({ refused })) : Effect.void)
  )
}
