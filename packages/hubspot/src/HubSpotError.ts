/**
 * The failures of a HubSpot request, classified once at the client's edge.
 *
 * Messages are built from the method, the URL path, the status and what the
 * answer says (scopes, policy): never from a header or the token.
 */
import { Schema } from "effect"

export const Reason = Schema.Literal(
  "Unauthorized",
  "Forbidden",
  "RateLimited",
  "DailyLimit",
  "Server",
  "Transport",
  "Timeout",
  "BadRequest",
  "Decode",
  "Incomplete"
)
export type Reason = typeof Reason.Type

export class HubSpotError extends Schema.TaggedError<HubSpotError>()("HubSpotError", {
  reason: Reason,
  method: Schema.String,
  /** The URL path of the request (no query, no host). */
  path: Schema.String,
  /** The answer's status; absent when no answer came (Transport, Timeout). */
  status: Schema.optionalWith(Schema.Number, { exact: true }),
  /** Milliseconds HubSpot asked to wait (`Retry-After`). */
  retryAfter: Schema.optionalWith(Schema.Number, { exact: true }),
  /** The scopes a 403 names. */
  scopes: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  correlationId: Schema.optionalWith(Schema.String, { exact: true }),
  /** HubSpot's `category` of the refusal, when the answer's body named one (`VALIDATION_ERROR`, `RATE_LIMITS`). */
  category: Schema.optionalWith(Schema.String, { exact: true }),
  /** A short description of what went wrong, already free of secrets. */
  detail: Schema.optionalWith(Schema.String, { exact: true })
}) {
  override get message(): string {
    const where = `${this.method} ${this.path}`
    const status = this.status === undefined ? "" : ` answered ${this.status}`
    const detail = this.detail === undefined ? "" : `: ${this.detail}`
    const correlation = this.correlationId === undefined ? "" : ` (correlationId ${this.correlationId})`
    switch (this.reason) {
      case "Unauthorized":
        return `${where}${status}: the access token was refused (HUBSPOT_ACCESS_TOKEN missing, wrong or expired)${correlation}`
      case "Forbidden": {
        const scopes = this.scopes !== undefined && this.scopes.length > 0
          ? `; grant the app these scopes: ${this.scopes.join(", ")}`
          : ""
        return `${where}${status}: the app lacks a required scope${scopes}${detail}${correlation}`
      }
      case "DailyLimit":
        return `${where}${status}: the app's daily request limit is spent; ` +
          `run the same command again tomorrow (after midnight in the HubSpot account's time zone) to resume`
      case "RateLimited":
        return `${where}${status}: rate limited${
          this.retryAfter === undefined ? "" : ` (Retry-After ${this.retryAfter} ms)`
        }${detail}`
      case "Timeout":
        return `${where}: no complete answer in time${detail}`
      case "Transport":
        return `${where}${status}: the connection failed${detail}`
      case "Incomplete":
        return `${where}${status}: answer refused, nothing of it kept${detail}`
      default:
        return `${where}${status}${detail}${correlation}`
    }
  }
}

/**
 * The one retry rule: rate limits of the rolling window, server errors, timeouts,
 * broken connections, cut-short bodies and answers that are not complete (a
 * batch read `CANCELED`, ...: `Incomplete`) are retried; a refused token, missing
 * scopes, a bad request, an answer of the wrong shape and the daily limit are not.
 */
export const isRetryable = (error: HubSpotError): boolean => {
  switch (error.reason) {
    case "RateLimited":
    case "Server":
    case "Transport":
    case "Timeout":
    case "Incomplete":
      return true
    default:
      return false
  }
}

/**
 * A 400 that HubSpot's body files under `VALIDATION_ERROR`: the request was refused as sent (a batch of more
 * inputs than the server takes, a cursor it does not know, ...). Never retried as it was; the batch-read stage
 * splits a refused batch of several inputs (see `BatchRead`).
 */
export const isValidationError = (error: HubSpotError): boolean =>
  error.reason === "BadRequest" && error.status === 400 && error.category === "VALIDATION_ERROR"

/** A base URL that is refused before any request: not a URL, or plain http to a host that is not loopback. */
export class BaseUrlError extends Schema.TaggedError<BaseUrlError>()("BaseUrlError", {
  reason: Schema.Literal("Invalid", "Insecure"),
  baseUrl: Schema.String
}) {
  override get message(): string {
    return this.reason === "Invalid"
      ? `the HubSpot base URL ${JSON.stringify(this.baseUrl)} is not a URL`
      : `refusing plain http:// for the HubSpot base URL ${this.baseUrl}: the token would travel unencrypted; ` +
        `use https://, or http:// only on loopback (127.0.0.0/8, ::1, localhost)`
  }
}
