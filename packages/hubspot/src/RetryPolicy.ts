/**
 * The one retry schedule of every HubSpot request: exponential backoff with
 * jitter, capped, with `Retry-After` as a floor, for errors `isRetryable`
 * accepts, at most `maxRetries` times.
 */
import { Duration, Schedule } from "effect"
import { type HubSpotError, isRetryable } from "./HubSpotError.js"

export interface RetryOptions {
  /** Retries after the first attempt; default 8. */
  readonly maxRetries?: number
  /** The first delay; default 200 ms. It doubles on each retry. */
  readonly base?: Duration.DurationInput
  /** The longest delay of the backoff; default 30 s (a `Retry-After` may ask for longer and is obeyed). */
  readonly cap?: Duration.DurationInput
}

export const defaultMaxRetries = 8

/**
 * Delay before retry n (0-based): `min(cap, base * 2^n * jitter)`, jitter in
 * [0.8, 1.2), then at least the error's `Retry-After`.
 */
export const schedule = (options: RetryOptions = {}): Schedule.Schedule<unknown, HubSpotError> => {
  const cap = Duration.toMillis(options.cap ?? Duration.seconds(30))
  const maxRetries = options.maxRetries ?? defaultMaxRetries
  return Schedule.exponential(options.base ?? Duration.millis(200), 2).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.identity<HubSpotError>()),
    Schedule.modifyDelay(([, error], delay) =>
      Duration.millis(Math.round(Math.max(Math.min(Duration.toMillis(delay), cap), error.retryAfter ?? 0)))
    ),
    Schedule.whileInput(isRetryable),
    Schedule.intersect(Schedule.recurs(maxRetries))
  )
}
