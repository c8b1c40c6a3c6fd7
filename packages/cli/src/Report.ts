/**
 * What the user sees while an export runs and when it ends: a live line on
 * a terminal, a logfmt or JSON line every few seconds elsewhere, and always a
 * final summary on stderr.
 */
import { Console, Duration, Effect, Fiber, Schedule } from "effect"
import * as Export from "./Export.js"
import * as ExitCode from "./ExitCode.js"

export type LogFormat = "logfmt" | "json"

export interface ReportOptions {
  readonly logFormat: LogFormat
  readonly out: string
  /** Defaults to whether stderr is a terminal. */
  readonly terminal?: boolean
  readonly every?: Duration.DurationInput
}

const rate = (n: number, millis: number) => (millis > 0 ? (n * 1000) / millis : 0)

const eta = (p: Export.Progress, millis: number): string => {
  if (p.idsTotal === undefined || p.idsDone === 0) return "?"
  const left = ((p.idsTotal - p.idsDone) * millis) / p.idsDone / 1000
  return left < 60 ? `${Math.round(left)}s` : `${Math.floor(left / 60)}m${Math.round(left % 60)}s`
}

export const fields = (p: Export.Progress, millis: number): Record<string, string | number> => ({
  ids_done: p.idsDone,
  ...(p.idsTotal !== undefined ? { ids_total: p.idsTotal } : {}),
  rows: p.rows,
  refused: p.refused,
  requests: p.requests,
  retries: p.retries,
  status_429: p.rateLimited,
  rows_per_s: Math.round(rate(p.rows, millis)),
  elapsed_s: Math.round(millis / 100) / 10
})

export const logLine = (format: LogFormat, p: Export.Progress, millis: number): string => {
  const f = fields(p, millis)
  return format === "json"
    ? JSON.stringify({ level: "info", msg: "progress", ...f })
    : ["level=info msg=progress", ...Object.entries(f).map(([k, v]) => `${k}=${v}`)].join(" ")
}

export const terminalLine = (p: Export.Progress, millis: number): string => {
  const ids = p.idsTotal !== undefined ? `${p.idsDone}/${p.idsTotal} ids` : `${p.idsDone} ids`
  return `${ids} · ${p.rows} rows · ${p.requests} requests · ${p.retries} retries · ${p.rateLimited} 429s · ${
    Math.round(rate(p.rows, millis))
  } rows/s · ETA ${eta(p, millis)}`
}

/** Runs an export with progress output, then prints the summary (also after a failure or Ctrl-C). */
export const withProgress = <E, R>(
  program: (progress: Export.Progress) => Effect.Effect<Export.Summary, E, R>,
  options: ReportOptions
): Effect.Effect<Export.Summary, E, R> =>
  Effect.gen(function*() {
    const progress = Export.emptyProgress()
    const started = Date.now()
    const terminal = options.terminal ?? process.stderr.isTTY === true
    const tick = Effect.sync(() => {
      const millis = Date.now() - started
      if (terminal) process.stderr.write(`\r\x1b[2K${terminalLine(progress, millis)}`)
      else process.stderr.write(`${logLine(options.logFormat, progress, millis)}\n`)
    })
    const every = options.every ?? (terminal ? Duration.millis(250) : Duration.seconds(5))
    const ticker = yield* Effect.fork(Effect.repeat(Effect.delay(tick, every), Schedule.forever))
    return yield* program(progress).pipe(
      Effect.ensuring(Fiber.interrupt(ticker).pipe(Effect.zipRight(terminal ? Console.error("") : Effect.void))),
      Effect.onExit(() => Effect.sync(() => progress.elapsedMillis = Date.now() - started))
    )
  })


export const summaryText = (s: Export.Summary): string => {
  if (s.status === "already-complete") {
    return `${s.directory} is already complete (_SUCCESS present): nothing to do. Remove it to export again.`
  }
  const p = s.progress
  const causes = Object.entries(p.retriesByCause).map(([k, v]) => `${k} ${v}`).join(", ")
  return [
    `export ${s.resumed ? "resumed and " : ""}complete: ${s.directory}`,
    `  rows            ${s.rows} in ${s.parts} part${s.parts === 1 ? "" : "s"}`,
    `  refused inputs  ${s.refused}${s.refused > 0 ? ` (see ${s.directory}/_errors/errors.ndjson)` : ""}`,
    `  ids             ${p.idsDone}`,
    `  requests        ${p.requests} (this run), 429s ${p.rateLimited}, waited ${Math.round(p.waitedMillis / 100) / 10}s on the rate limit`,
    `  retries         ${p.retries}${causes.length > 0 ? ` (${causes})` : ""}`,
    `  time            ${Math.round(p.elapsedMillis / 100) / 10}s`,
    `  files           ${s.directory}/part-*${s.extension}, manifest.json, _errors/errors.ndjson, _SUCCESS`
  ].join("\n")
}

/** Prints the summary; an export with refused inputs ends in `DoneWithRefusals` (exit 3). */
export const outcome = (s: Export.Summary) =>
  Console.error(summaryText(s)).pipe(
    Effect.zipRight(s.refused > 0 ? Effect.fail(new ExitCode.DoneWithRefusals({ refused: s.refused })) : Effect.void)
  )
