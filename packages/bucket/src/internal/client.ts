/**
 * The S3 client of `Bucket`, and the translation of the SDK's failures into
 * `BucketError` at the edge.
 *
 * The SDK prints a `NodeVersionSupportWarning` through `process.emitWarning`
 * when a client is built on Node < 22 (`emitWarningIfUnsupportedVersion` in
 * `@aws-sdk/core/client`, called by each client's `getRuntimeConfig`, nested
 * credential clients included). Every copy of that function first reads
 * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED`: set to "true", it stays
 * silent. So that variable is set, unless the user set it, before the first
 * client is built: that one warning goes, every other warning stays.
 */
import { S3Client } from "@aws-sdk/client-s3"
import { Effect, Redacted, type Scope } from "effect"
import { BucketError } from "../BucketError.js"

export interface ClientOptions {
  /** An S3-compatible endpoint (MinIO, Ceph, R2, a loopback server): addressed path-style. Absent: AWS. */
  readonly endpoint?: string | undefined
  /** Absent: the SDK's chain (`AWS_REGION`, the profile's region), else `us-east-1`. */
  readonly region?: string | undefined
  /** Absent: the SDK's default chain (environment, `AWS_PROFILE`, SSO, web identity, instance roles). */
  readonly credentials?: {
    readonly accessKeyId: string
    readonly secretAccessKey: Redacted.Redacted<string>
    readonly sessionToken?: Redacted.Redacted<string> | undefined
  } | undefined
}

/** Turns the SDK's Node version warning off (see the module comment); the user's own setting wins. */
export const silenceNodeVersionWarning = (): void => {
  if (process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] === undefined) {
    process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true"
  }
}

/** The region the SDK's own chain finds (environment, profile), or `us-east-1` so that a loopback endpoint works. */
const chainRegion = async (): Promise<string> => {
  const probe = new S3Client({})
  try {
    return await probe.config.region()
  } catch {
    return "us-east-1"
  } finally {
    probe.destroy()
  }
}

/** An endpoint as messages show it: scheme, host and path, without credentials or a query. */
export const endpointLabel = (endpoint: string): string => {
  try {
    const u = new URL(endpoint)
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`
  } catch {
    return "the configured endpoint"
  }
}

/** The client, destroyed (its sockets closed) with the scope. */
export const make = (options: ClientOptions): Effect.Effect<S3Client, BucketError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      silenceNodeVersionWarning()
      if (options.endpoint !== undefined) {
        const valid = yield* Effect.try(() => new URL(options.endpoint!)).pipe(Effect.option)
        if (valid._tag === "None" || !/^https?:$/.test(valid.value.protocol)) {
          return yield* new BucketError({
            reason: "BadUrl",
            url: endpointLabel(options.endpoint),
            detail: "the endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) is not an http:// or https:// URL"
          })
        }
      }
      const region = options.region ?? (yield* Effect.promise(chainRegion))
      const credentials = options.credentials
      return new S3Client({
        region,
        ...(options.endpoint === undefined
          ? { followRegionRedirects: true }
          : { endpoint: options.endpoint, forcePathStyle: true }),
        ...(credentials === undefined ? {} : {
          credentials: {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: Redacted.value(credentials.secretAccessKey),
            ...(credentials.sessionToken === undefined
              ? {}
              : { sessionToken: Redacted.value(credentials.sessionToken) })
          }
        })
      })
    }),
    (client) => Effect.sync(() => client.destroy())
  )

/** Network failures: the endpoint could not be reached or the connection broke. */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED"
])
const credentialNames = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired",
  "AllAccessDisabled"
])

interface SdkLike {
  readonly name?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown }
}

/** The HTTP status of an SDK failure, when an answer came. */
export const statusOf = (cause: unknown): number | undefined => {
  const status = (cause as SdkLike | undefined)?.$metadata?.httpStatusCode
  return typeof status === "number" ? status : undefined
}

/** The SDK's error name (`NoSuchKey`, `NotFound`, `PreconditionFailed`...). */
export const nameOf = (cause: unknown): string => {
  const name = (cause as SdkLike | undefined)?.name
  return typeof name === "string" ? name : "Error"
}

/** A message of the SDK's, cut short and stripped of anything that looks like a signature or a credential. */
const scrub = (text: string): string =>
  text
    .replace(/(X-Amz-(Signature|Credential|Security-Token)=)[^&\s]+/gi, "$1…")
    .replace(/(Credential=|Signature=)[^,\s]+/g, "$1…")
    .slice(0, 300)

/** A failure of the SDK on `url` (`s3://bucket/key`) as a `BucketError`: classified by name, status and code. */
export const fromSdk = (cause: unknown, url: string, endpoint: string | undefined): BucketError => {
  const name = nameOf(cause)
  const status = statusOf(cause)
  const code = (cause as SdkLike | undefined)?.code
  const base = endpoint === undefined ? { url } : { url, endpoint }
  if (name === "NoSuchBucket") return new BucketError({ ...base, reason: "NoSuchBucket", detail: name })
  if (credentialNames.has(name)) return new BucketError({ ...base, reason: "AccessDenied", detail: name })
  if (name === "CredentialsProviderError") {
    return new BucketError({ ...base, reason: "AccessDenied", detail: "NoCredentials" })
  }
  if (status === 403) return new BucketError({ ...base, reason: "AccessDenied", detail: `${name}, HTTP 403` })
  if (name === "PermanentRedirect" || status === 301) {
    return new BucketError({
      ...base,
      reason: "Io",
      detail: "the bucket is in another region than the one asked (PermanentRedirect): set AWS_REGION to its region"
    })
  }
  const target = endpoint ?? "AWS S3"
  if (typeof code === "string" && networkCodes.has(code)) {
    return new BucketError({
      ...base,
      reason: "Io",
      detail: `cannot reach ${target} (${code}). What was committed is safe: run the same command again to resume`
    })
  }
  if (name === "TimeoutError" || name === "RequestTimeout") {
    return new BucketError({
      ...base,
      reason: "Io",
      detail: `${target} did not answer in time (${name}). What was committed is safe: run the same command again `
        + "to resume"
    })
  }
  const message = (cause as SdkLike | undefined)?.message
  const said = typeof message === "string" && message.length > 0 && message !== "UnknownError"
  const text = said ? `: ${scrub(message)}` : ""
  return new BucketError({
    ...base,
    reason: "Io",
    detail: `${target} answered ${name}${status === undefined ? "" : ` (HTTP ${status})`}${text}`
  })
}
