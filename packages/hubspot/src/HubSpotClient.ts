/**
 * The HubSpot client: one request path for every endpoint assoc-etl calls.
 *
 * Each attempt waits on the shared request budget, sends through the
 * `HttpClient` it was handed, reports to the budget the answer's rate-limit
 * headers (or that no answer came), reads a 200/207 body as it arrives into
 * one buffer of its size (telling the caller that size first, `onAnswerSize`),
 * decodes the answer with the wire schemas (ids beyond 2^53 quoted before
 * `JSON.parse`; a batch-read answer of the common shape is read from its
 * bytes instead, `BatchReadAnswer.fromBody`) and
 * classifies any failure into a `HubSpotError` (with HubSpot's `category` of
 * a refusal, e.g. a 400 `VALIDATION_ERROR`); retryable failures are
 * retried by `RetryPolicy.schedule`. A batch-read answer that is not complete
 * (`CANCELED`, ...) or not for the inputs sent (`BatchReadAnswer.flawOf`) is
 * such a failure, `Incomplete`: retried like a 5xx, never returned. Each call
 * is a span (`HubSpotClient.<call>`); requests, retries and 429s are `metrics`.
 */
import type { IdSource, ObjectType } from "@assoc-etl/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import type { HttpClientError, HttpClientResponse } from "@effect/platform"
import type { ConfigError } from "effect"
import { Clock, Config, Context, Duration, Effect, Layer, Metric, Option, ParseResult, Redacted, Schema } from "effect"
import * as Api from "./AssociationsApi.js"
import * as BatchReadAnswer from "./BatchReadAnswer.js"
import { BaseUrlError, HubSpotError, type Reason } from "./HubSpotError.js"
import * as AnswerBody from "./internal/answerBody.js"
import { type Budget, RequestBudget } from "./RequestBudget.js"
import * as RetryPolicy from "./RetryPolicy.js"

export const defaultBaseUrl = "https://api.hubapi.com"

/**
 * The path family a client calls: one of HubSpot's date versions (`/crm/associations/2026-03/...`,
 * `/crm/objects/2026-03/...`, `/account-info/2026-03/...`), or `"v4"`, the older `/crm/v4/associations/...` and
 * `/crm/v3/...` paths. 2026-09 reports the inputs it refuses in a 200 with `errors[]`, where the others answer
 * 207: the client reads both alike.
 */
export const ApiVersion = Schema.Literal("2026-03", "2026-09", "v4")
export type ApiVersion = typeof ApiVersion.Type

/** The version a client calls unless told otherwise. */
export const defaultApiVersion: ApiVersion = "2026-03"

export interface HubSpotClientOptions {
  readonly token: Redacted.Redacted<string>
  /** Default `https://api.hubapi.com`; plain `http://` only on loopback. */
  readonly baseUrl?: string
  /** The time one attempt may take, answer body included; default 30 s. */
  readonly timeout?: Duration.DurationInput
  /** Retries after the first attempt; default 8. */
  readonly maxRetries?: number
  readonly retryBase?: Duration.DurationInput
  readonly retryCap?: Duration.DurationInput
  /** Which path family to call (`ApiVersion`): `"2026-03"` (default), `"2026-09"`, or the older `"v4"`/`"v3"`. */
  readonly apiVersion?: ApiVersion
}

/**
 * What the client counts. Read them where they were counted (`Metric.value` under the same
 * `Effect.tagMetrics`) to tell one export's figures from another's.
 */
export const metrics = {
  /** Attempts sent (first tries and retries). */
  requests: Metric.counter("assoc_etl_hubspot_requests", { incremental: true }),
  /** Retries, tagged `reason` with the failure that caused them (`retriesFor`). */
  retries: Metric.counter("assoc_etl_hubspot_retries", { incremental: true }),
  /** 429 answers of the rolling window. */
  rateLimited: Metric.counter("assoc_etl_hubspot_rate_limited", { incremental: true }),
  /** 429 answers of the daily limit. */
  dailyLimited: Metric.counter("assoc_etl_hubspot_daily_limited", { incremental: true }),
  /**
   * Batch-read answers (200/207) the byte reader declined, read by parsing them whole: answers of an unusual
   * shape, and bodies cut short by a dropped connection.
   */
  answersParsed: Metric.counter("assoc_etl_hubspot_answers_parsed", { incremental: true }),
  /**
   * Batch-read answers refused whole (an `Incomplete` failure, retried or not), tagged `flaw` with what was wrong:
   * their status (`CANCELED`, `PROCESSING`, `PENDING`, `OTHER_STATUS`) or their ids (`incompleteFor`).
   */
  incompleteAnswers: Metric.counter("assoc_etl_hubspot_incomplete_answers", { incremental: true })
} as const

/** The retries counter for one reason. */
export const retriesFor = (reason: Reason) => Metric.tagged(metrics.retries, "reason", reason)

/** The refused answers counter for one flaw (`BatchReadAnswer.FlawKind.literals` lists them). */
export const incompleteFor = (flaw: BatchReadAnswer.FlawKind) =>
  Metric.tagged(metrics.incompleteAnswers, "flaw", flaw)

export interface BatchReadCallOptions {
  /**
   * The caller already took a start from the request budget for the first
   * attempt (BatchRead takes it before it forms a batch, so the batch holds
   * everything that arrived while it waited). Retries always wait on the budget.
   */
  readonly admitted?: boolean
  /**
   * Called with the size in bytes of each answer (200/207) as soon as it is known: when its headers declare it
   * (`Content-Length`), before its body is read, else once the body is whole. Each attempt's answer is told.
   * BatchRead counts answers in flight against its memory budget so.
   */
  readonly onAnswerSize?: (bytes: number) => Effect.Effect<void>
}

export interface ListObjectsOptions {
  readonly after?: string
  /** At most `Api.maxListLimit` (100). */
  readonly limit: number
  readonly properties?: ReadonlyArray<string>
}

export interface Service {
  readonly baseUrl: string
  /**
   * One batch read of `inputs`: an answer that is `COMPLETE` (or has no status) and names only ids asked, each at
   * most once an input; any other is retried as `Incomplete` and never returned.
   */
  readonly batchRead: (
    from: ObjectType.ObjectType,
    to: ObjectType.ObjectType,
    inputs: ReadonlyArray<Api.BatchReadInput>,
    options?: BatchReadCallOptions
  ) => Effect.Effect<BatchReadAnswer.BatchReadAnswer, HubSpotError>
  readonly listObjects: (
    type: ObjectType.ObjectType,
    options: ListObjectsOptions
  ) => Effect.Effect<Api.ListObjectsResponse, HubSpotError>
  readonly search: (
    type: ObjectType.ObjectType,
    request: Api.SearchRequest
  ) => Effect.Effect<Api.SearchResponse, HubSpotError>
  /** The account behind the token (`GET /account-info/2026-03/details`): its `portalId`, and more. */
  readonly accountDetails: Effect.Effect<Api.AccountDetails, HubSpotError>
  /**
   * The labels catalogue of a pair (`GET /crm/associations/2026-03/{from}/{to}/labels`): every association type
   * defined from `from` to `to`, in HubSpot's order, those no association uses yet too.
   */
  readonly labels: (
    from: ObjectType.ObjectType,
    to: ObjectType.ObjectType
  ) => Effect.Effect<ReadonlyArray<Api.AssociationLabel>, HubSpotError>
  /** The budgets this client waits on (shared through the `RequestBudget` layer). */
  readonly budget: RequestBudget["Type"]
}

export class HubSpotClient extends Context.Tag("@assoc-etl/hubspot/HubSpotClient")<HubSpotClient, Service>() {}

const loopbackHosts = new Set(["localhost", "[::1]", "::1"])

/** True for 127.0.0.0/8, ::1 and localhost. */
export const isLoopbackHost = (hostname: string): boolean =>
  loopbackHosts.has(hostname.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)

/** The base URL without a trailing slash; refuses non-URLs and plain http to a host that is not loopback. */
export const checkBaseUrl = (baseUrl: string): Effect.Effect<string, BaseUrlError> => {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return Effect.fail(new BaseUrlError({ reason: "Invalid", baseUrl: baseUrl.slice(0, 200) }))
  }
  if (url.protocol === "https:") return Effect.succeed(`${url.origin}${url.pathname.replace(/\/+$/, "")}`)
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) {
    return Effect.succeed(`${url.origin}${url.pathname.replace(/\/+$/, "")}`)
  }
  return Effect.fail(new BaseUrlError({ reason: url.protocol === "http:" ? "Insecure" : "Invalid", baseUrl: url.origin }))
}

const noSize = (_: number) => Effect.void

const shorten = (s: string, n = 300): string => (s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s)

const decodeErrorBody = Schema.decodeUnknownOption(Api.ErrorBody)

const parseErrorBody = (text: string): Option.Option<Api.ErrorBody> => {
  try {
    return decodeErrorBody(JSON.parse(text))
  } catch {
    return Option.none()
  }
}

const headerNumber = (headers: Readonly<Record<string, string | undefined>>, name: string): number | undefined => {
  const v = headers[name]
  if (v === undefined) return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}

interface Call<A> {
  readonly method: "GET" | "POST"
  readonly path: string
  readonly urlParams?: Readonly<Record<string, string>>
  readonly body?: unknown
  /** What was asked, for messages: "1001 inputs". */
  readonly shape: string
  readonly decode: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>
  /**
   * Reads a 200/207 body without parsing it, where it can (`undefined`: parse it and `decode`); an answer it
   * returns has taken the body (`BatchReadAnswer.fromBody`), which is not read again.
   */
  readonly fromBody?: (bytes: Uint8Array) => A | undefined
  /** Why a decoded answer must not be used, if it must not: the attempt then fails, `Incomplete`. */
  readonly flawOf?: (answer: A) => BatchReadAnswer.Flaw | undefined
  /** Told the size of a 200/207 body as soon as it is known (`BatchReadCallOptions.onAnswerSize`). */
  readonly onAnswerSize?: (bytes: number) => Effect.Effect<void>
  /** The span's name. */
  readonly name: string
  readonly budgets: ReadonlyArray<Budget>
  readonly admitted: boolean
}

export const make = (
  options: HubSpotClientOptions
): Effect.Effect<Service, BaseUrlError, HttpClient.HttpClient | RequestBudget> =>
  Effect.gen(function*() {
    const baseUrl = yield* checkBaseUrl(options.baseUrl ?? defaultBaseUrl)
    const http = yield* HttpClient.HttpClient
    const budget = yield* RequestBudget
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const schedule = RetryPolicy.schedule({
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
      ...(options.retryBase === undefined ? {} : { base: options.retryBase }),
      ...(options.retryCap === undefined ? {} : { cap: options.retryCap })
    })
    const version = options.apiVersion ?? defaultApiVersion
    const v4 = version === "v4"

    const execute = <A>(call: Call<A>): Effect.Effect<A, HubSpotError> => {
      const fail = (reason: Reason, fields: Partial<ConstructorParameters<typeof HubSpotError>[0]> = {}) =>
        new HubSpotError({ reason, method: call.method, path: call.path, ...fields })

      let request = (call.method === "GET" ? HttpClientRequest.get : HttpClientRequest.post)(
        `${baseUrl}${call.path}`
      ).pipe(
        HttpClientRequest.bearerToken(options.token),
        HttpClientRequest.acceptJson
      )
      if (call.urlParams !== undefined) request = HttpClientRequest.setUrlParams(request, call.urlParams)
      if (call.body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, call.body)

      const onTransport = (e: HttpClientError.HttpClientError) => {
        const cause = e.cause as { code?: unknown; name?: unknown } | undefined
        const code = typeof cause?.code === "string" ? cause.code : typeof cause?.name === "string" ? cause.name : e.reason
        return e._tag === "ResponseError"
          ? fail("Transport", { status: e.response.status, detail: `the answer body was cut short (${code})` })
          : fail("Transport", { detail: String(code) })
      }

      /** A 200/207 body: read from its bytes where it can, else parsed and decoded. */
      const decodeAnswer = (status: number, bytes: Uint8Array) =>
        Effect.gen(function*() {
          if (call.fromBody !== undefined) {
            const read = call.fromBody(bytes)
            if (read !== undefined) return read
            yield* Metric.increment(metrics.answersParsed)
          }
          let json: unknown
          try {
            json = JSON.parse(Api.quoteBareIds(Api.utf8Text(bytes)))
          } catch {
            return yield* fail("Transport", {
              status,
              detail: `the answer body was cut short or is not JSON (${bytes.length} bytes)`
            })
          }
          return yield* Effect.mapError(call.decode(json), (e) =>
            fail("Decode", {
              status,
              detail: `unexpected answer shape: ${shorten(ParseResult.TreeFormatter.formatErrorSync(e))}`
            }))
        })

      /** Whether the current attempt's answer came (and was reported to the budget). */
      let answered = false
      const handle = (response: HttpClientResponse.HttpClientResponse, startedAt: number) =>
        Effect.gen(function*() {
          const status = response.status
          const headers = response.headers
          const max = headerNumber(headers, "x-hubspot-ratelimit-max")
          const remaining = headerNumber(headers, "x-hubspot-ratelimit-remaining")
          const intervalMillis = headerNumber(headers, "x-hubspot-ratelimit-interval-milliseconds")
          // Uninterruptible with the flag, so that an answer is reported once: seen here, or given up below.
          yield* Effect.uninterruptible(Effect.zipRight(
            budget.requests.observe({
              startedAt,
              ...(max !== undefined && remaining !== undefined ? { max, remaining } : {}),
              ...(intervalMillis !== undefined ? { intervalMillis } : {})
            }),
            Effect.sync(() => {
              answered = true
            })
          ))
          if (status === 200 || status === 207) {
            // Read as it arrives into one buffer of its size (`internal/answerBody.ts`): an answer of 60 MB
            // weighs 60 MB, not twice that while undici joins its chunks.
            const bytes = yield* Effect.mapError(AnswerBody.read(response, call.onAnswerSize ?? noSize), onTransport)
            const answer = yield* decodeAnswer(status, bytes)
            const flaw = call.flawOf?.(answer)
            if (flaw !== undefined) {
              yield* Metric.increment(incompleteFor(flaw.kind))
              return yield* fail("Incomplete", { status, detail: flaw.detail })
            }
            return answer
          }
          const text = Api.utf8Text(new Uint8Array(yield* Effect.mapError(response.arrayBuffer, onTransport)))
          const body = parseErrorBody(text)
          const named = Option.match(body, {
            onNone: () => ({}),
            onSome: (b) => ({
              ...(b.correlationId === undefined ? {} : { correlationId: b.correlationId }),
              ...(b.category === undefined ? {} : { category: b.category })
            })
          })
          const message = Option.match(body, {
            onNone: () => (text.trimStart().startsWith("<") ? "an HTML page" : shorten(text.trim(), 120)),
            onSome: (b) => shorten(b.message, 300)
          })
          if (status === 401) return yield* fail("Unauthorized", { status, ...named })
          if (status === 403) {
            const scopes = Option.match(body, { onNone: () => [], onSome: Api.missingScopes })
            return yield* fail("Forbidden", { status, scopes, detail: message, ...named })
          }
          if (status === 429) {
            const daily = Option.exists(body, (b) => (b.policyName ?? "").toUpperCase().includes("DAILY"))
            if (daily) {
              yield* Metric.increment(metrics.dailyLimited)
              return yield* fail("DailyLimit", { status, ...named })
            }
            yield* Metric.increment(metrics.rateLimited)
            const seconds = headerNumber(headers, "retry-after")
            const policy = Option.flatMap(body, (b) => Option.fromNullable(b.policyName))
            const detail = Option.match(policy, { onNone: () => message, onSome: (p) => `policy ${p}` })
            if (seconds !== undefined && seconds >= 0) {
              const retryAfter = Math.round(seconds * 1000)
              // The limit that refused pauses: a call's own budget (search's ~5/s, policy SECONDLY) pauses only
              // calls of its kind; the app's ten-second limit, or an unnamed one, pauses every request.
              const own = call.budgets.find((b) => b !== budget.requests)
              const appWide = Option.match(policy, { onNone: () => true, onSome: (p) => p.toUpperCase() === "TEN_SECONDLY_ROLLING" })
              yield* (own !== undefined && !appWide ? own : budget.requests).pauseFor(retryAfter)
              return yield* fail("RateLimited", { status, retryAfter, detail, ...named })
            }
            return yield* fail("RateLimited", { status, detail, ...named })
          }
          if (status >= 500) return yield* fail("Server", { status, detail: message, ...named })
          return yield* fail("BadRequest", { status, detail: `${call.shape}; HubSpot says: ${message}`, ...named })
        })

      /** Why the last attempt failed: none before the first, and an attempt after one is a retry for it. */
      let retryFor: Reason | undefined
      const attempt = Effect.gen(function*() {
        const skip = retryFor === undefined && call.admitted
        if (retryFor !== undefined) yield* Metric.increment(retriesFor(retryFor))
        for (const b of call.budgets) {
          if (!skip || b !== budget.requests) yield* b.acquire
        }
        const startedAt = yield* Clock.currentTimeMillis
        answered = false
        yield* Metric.increment(metrics.requests)
        return yield* http.execute(request).pipe(
          Effect.mapError(onTransport),
          Effect.flatMap((response) => handle(response, startedAt)),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () => fail("Timeout", { detail: `after ${Duration.format(timeout)}` })
          }),
          Effect.onExit(() => answered ? Effect.void : budget.requests.unanswered(startedAt))
        )
      })

      return attempt.pipe(
        Effect.tapError((e) => Effect.sync(() => retryFor = e.reason)),
        Effect.retry(schedule),
        Effect.withSpan(call.name, { attributes: { "http.method": call.method, "url.path": call.path } })
      )
    }

    const batchRead: Service["batchRead"] = (from, to, inputs, callOptions) =>
      execute({
        method: "POST",
        path: v4
          ? `/crm/v4/associations/${from}/${to}/batch/read`
          : `/crm/associations/${version}/${from}/${to}/batch/read`,
        body: { inputs },
        shape: `${inputs.length} inputs (${inputs.filter((i) => i.after !== undefined).length} with a cursor)`,
        decode: (u) => Effect.map(Api.decodeBatchReadResponse(u), BatchReadAnswer.fromResponse),
        fromBody: BatchReadAnswer.fromBody,
        flawOf: (answer) => BatchReadAnswer.flawOf(answer, inputs),
        ...(callOptions?.onAnswerSize === undefined ? {} : { onAnswerSize: callOptions.onAnswerSize }),
        name: "HubSpotClient.batchRead",
        budgets: [budget.requests],
        admitted: callOptions?.admitted === true
      })

    const listObjects: Service["listObjects"] = (type, listOptions) =>
      execute({
        method: "GET",
        path: v4 ? `/crm/v3/objects/${type}` : `/crm/objects/${version}/${type}`,
        urlParams: {
          limit: String(listOptions.limit),
          ...(listOptions.after === undefined ? {} : { after: listOptions.after }),
          ...(listOptions.properties === undefined ? {} : { properties: listOptions.properties.join(",") })
        },
        shape: `limit ${listOptions.limit}`,
        decode: Schema.decodeUnknown(Api.ListObjectsResponse),
        name: "HubSpotClient.listObjects",
        budgets: [budget.requests],
        admitted: false
      })

    const search: Service["search"] = (type, request) =>
      execute({
        method: "POST",
        path: `/crm/v3/objects/${type}/search`,
        body: request,
        shape: `limit ${request.limit ?? "default"}, after ${request.after ?? "none"}`,
        decode: Schema.decodeUnknown(Api.SearchResponse),
        name: "HubSpotClient.search",
        budgets: [budget.search, budget.requests],
        admitted: false
      })

    const accountDetails: Service["accountDetails"] = Effect.suspend(() =>
      execute({
        method: "GET",
        path: v4 ? "/account-info/v3/details" : `/account-info/${version}/details`,
        shape: "account details",
        decode: Schema.decodeUnknown(Api.AccountDetails),
        name: "HubSpotClient.accountDetails",
        budgets: [budget.requests],
        admitted: false
      })
    )

    const decodeLabels = Schema.decodeUnknown(Api.LabelsResponse)
    const labels: Service["labels"] = (from, to) =>
      execute({
        method: "GET",
        path: v4
          ? `/crm/v4/associations/${from}/${to}/labels`
          : `/crm/associations/${version}/${from}/${to}/labels`,
        shape: "the labels catalogue",
        decode: (u) => Effect.map(decodeLabels(u), (response) => response.results),
        name: "HubSpotClient.labels",
        budgets: [budget.requests],
        admitted: false
      })

    return {
      baseUrl,
      batchRead,
      listObjects,
      search,
      accountDetails,
      labels,
      budget
    } satisfies Service
  })

export const layer = (
  options: HubSpotClientOptions
): Layer.Layer<HubSpotClient, BaseUrlError, HttpClient.HttpClient | RequestBudget> =>
  Layer.effect(HubSpotClient, make(options))

/** The token, from `HUBSPOT_ACCESS_TOKEN`: a private app's access token (an empty one is refused). */
export const tokenFromEnv: Config.Config<Redacted.Redacted<string>> = Config.redacted("HUBSPOT_ACCESS_TOKEN").pipe(
  Config.validate({ message: "is empty", validation: (token) => Redacted.value(token).trim().length > 0 })
)

/**
 * The portal the client reads (`accountDetails`' `portalId`), as `Export.run`'s `origin`: recorded in the
 * checkpoint, so that a resume with another token or base URL, which reads another portal, is refused instead of
 * mixing two portals' rows in one dataset.
 */
export const origin: Effect.Effect<IdSource.Identity | undefined, HubSpotError, HubSpotClient> = Effect.flatMap(
  HubSpotClient,
  (client) => client.accountDetails
).pipe(
  Effect.map((details): IdSource.Identity | undefined => ({
    kind: "hubspot-portal",
    key: String(details.portalId),
    description: `HubSpot portal ${details.portalId}`
  })),
  // HubSpot documents the `oauth` scope for account details: a token without it can still export, unbound.
  Effect.catchIf(
    (e) => e.reason === "Forbidden",
    (e) =>
      Effect.as(
        Effect.logWarning(
          "the token may not read the account's details, so this export is not bound to its portal: a resume "
            + "with another token or base URL would not be refused"
        ).pipe(Effect.annotateLogs({ detail: e.message })),
        undefined
      )
  )
)

/** The base URL, from `HUBSPOT_BASE_URL`, by default `https://api.hubapi.com`. */
export const baseUrlFromEnv: Config.Config<string> = Config.string("HUBSPOT_BASE_URL").pipe(
  Config.withDefault(defaultBaseUrl)
)

/** Each option as a `Config`; the token and base URL default to `tokenFromEnv` and `baseUrlFromEnv`. */
export type ConfigOptions = { readonly [K in keyof HubSpotClientOptions]?: Config.Config<NonNullable<HubSpotClientOptions[K]>> }

/** The client, its options read from `Config` when the layer is built. */
export const layerConfig = (
  options: ConfigOptions = {}
): Layer.Layer<HubSpotClient, BaseUrlError | ConfigError.ConfigError, HttpClient.HttpClient | RequestBudget> =>
  Layer.effect(
    HubSpotClient,
    Effect.flatMap(
      Config.unwrap<HubSpotClientOptions>({ ...options, token: options.token ?? tokenFromEnv, baseUrl: options.baseUrl ?? baseUrlFromEnv }),
      make
    )
  )
