/**
 * Answers as HubSpot sends them: the `Answer` a handler hands the server, JSON answers, and error answers
 * (`{ status: "error", message, correlationId, category, ... }`, 400 `VALIDATION_ERROR` among them) whose
 * correlation ids are drawn from the seed, one after the other: a seed gives the same ids.
 */
import { Either, ParseResult } from "effect"
import type { IncompleteStatus } from "./options.js"
import { hash2, hashString } from "./prng.js"

export interface Answer {
  readonly status: number
  /** Text is sent as UTF-8; a batch-read answer is written as its bytes already. */
  readonly body: string | Uint8Array
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
  /** The inputs a batch-read answer covers. */
  readonly inputs?: number
  /** The status of a batch-read answer that is not complete (`incomplete.ts`). */
  readonly incomplete?: IncompleteStatus
  /**
   * Called on the response's `finish`, once `body` was handed to the socket: its buffer can be written again.
   * An answer cut short by the client usually never finishes (its buffer is then left to the collector).
   */
  readonly release?: () => void
}

export const json = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): Answer =>
  headers === undefined ? { status, body: JSON.stringify(body) } : { status, body: JSON.stringify(body), headers }

/** A time as HubSpot writes it in a body. */
export const iso = (millis: number): string => new Date(millis).toISOString()

const formatParseError = (e: ParseResult.ParseError) => ParseResult.TreeFormatter.formatErrorSync(e)

export interface ErrorAnswers {
  readonly error: (
    status: number,
    category: string,
    message: string,
    extra?: Readonly<Record<string, unknown>>,
    headers?: Readonly<Record<string, string>>
  ) => Answer
  /** 400 `VALIDATION_ERROR`; with `context`, also as the one item of `errors`. */
  readonly validation: (message: string, context?: Readonly<Record<string, ReadonlyArray<string>>>) => Answer
  /** A request body parsed as JSON, then decoded; or the 400 answer that refuses it. */
  readonly decodeBody: <A>(
    decode: (u: unknown) => Either.Either<A, ParseResult.ParseError>,
    text: string
  ) => Either.Either<A, Answer>
}

export const make = (seed: number): ErrorAnswers => {
  const seedHash = hashString(seed, "simulator")
  let correlationSeq = 0
  const correlationId = (): string => {
    const n = ++correlationSeq
    const h = (k: number) => hash2(seedHash + k, n).toString(16).padStart(8, "0")
    const a = h(1)
    const b = h(2)
    const c = h(3)
    return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${h(4)}`
  }

  const error: ErrorAnswers["error"] = (status, category, message, extra, headers) =>
    json(status, { status: "error", message, correlationId: correlationId(), category, ...extra }, headers)

  const validation: ErrorAnswers["validation"] = (message, context) =>
    error(400, "VALIDATION_ERROR", message, context === undefined ? undefined : {
      errors: [{ message, context }]
    })

  const decodeBody: ErrorAnswers["decodeBody"] = (decode, text) => {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return Either.left(error(400, "VALIDATION_ERROR", "Invalid input JSON: the body is not JSON."))
    }
    const decoded = decode(body)
    return Either.isLeft(decoded)
      ? Either.left(validation(`Invalid input: ${formatParseError(decoded.left)}`))
      : Either.right(decoded.right)
  }

  return { error, validation, decodeBody }
}
