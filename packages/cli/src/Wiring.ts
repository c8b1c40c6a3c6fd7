/**
 * How the command line builds its services: the HTTP client, the shared
 * request budget, the HubSpot client with the token from the environment.
 */
import { IdSource } from "@assoc-etl/core"
import { HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Config, Effect, Either, Layer, Schema } from "effect"

export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  flag: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.flag}: ${this.detail}`
  }
}

export class MissingToken extends Schema.TaggedError<MissingToken>()("MissingToken", {}) {
  override get message(): string {
    return "HUBSPOT_ACCESS_TOKEN is not set: export a private app's access token (Settings > Integrations > "
      + "Private apps in HubSpot) with the crm.objects.<type>.read scopes of the types you export."
  }
}

export const parseRateLimit = (text: string) =>
  Either.match(RequestBudget.parseLimit(text), {
    onLeft: (detail) => Effect.fail(new InvalidArgument({ flag: "--rate-limit", detail })),
    onRight: Effect.succeed
  })

export interface ClientSettings {
  readonly baseUrl: string
  readonly rateLimit: RequestBudget.Limit
  readonly maxRetries: number
}

/** The HubSpot client and its shared budget over Node's HTTP client; the token from `HUBSPOT_ACCESS_TOKEN`. */
export const clientLayer = (settings: ClientSettings) =>
  Layer.unwrapEffect(
    Config.redacted("HUBSPOT_ACCESS_TOKEN").pipe(
      Effect.mapError(() => new MissingToken()),
      Effect.map((token) =>
        HubSpotClient.layer({ token, baseUrl: settings.baseUrl, maxRetries: settings.maxRetries }).pipe(
          Layer.mapError((e) => new InvalidArgument({ flag: "--base-url", detail: e.message }))
        )
      )
    )
  ).pipe(
    Layer.provide(RequestBudget.layer({ limit: settings.rateLimit })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

/** The process's standard input as bytes. */
export const stdin = NodeStream.fromReadable<IdSource.IdSourceError, Uint8Array>(
  () => process.stdin,
  (e) => new IdSource.IdSourceError({ reason: "Io", path: "stdin", detail: e instanceof Error ? e.message : String(e) })
)
