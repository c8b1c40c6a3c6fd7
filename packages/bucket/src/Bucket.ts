/**
 * The object operations a dataset on a bucket needs, as a service over the
 * AWS SDK for JavaScript v3: read and write small objects whole (with the
 * conditional writes a lease needs), upload and download files as streams
 * (memory bounded by the multipart part size), list a prefix, delete keys.
 *
 * Every failure is a `BucketError`, classified once here (`NoSuchBucket`,
 * `AccessDenied`, `Io` naming the endpoint); a missing object is a value
 * (`Option.none`), and so is a refused condition.
 */
import { Config, type ConfigError, Context, Effect, Layer, Option, type Scope } from "effect"
import type { BucketError } from "./BucketError.js"
import * as Client from "./internal/client.js"
import * as Objects from "./internal/objects.js"

export interface ObjectInfo {
  readonly key: string
  readonly size: number
}

export interface Fetched {
  readonly bytes: Uint8Array
  /** The object's entity tag, quoted as the store gives it: for `putIf`'s `ifMatch`. */
  readonly etag: string
}

/** A conditional write: only if no object is there (`ifNoneMatch: "*"`), or only over this version (`ifMatch`). */
export type Condition = { readonly ifNoneMatch: "*" } | { readonly ifMatch: string }

/** Bytes `[start, end)` of a local file. */
export interface Range {
  readonly start: number
  readonly end: number
}

export interface Service {
  /** The endpoint requests go to (scheme, host, path), or undefined for AWS: for messages. */
  readonly endpoint: string | undefined
  readonly get: (bucket: string, key: string) => Effect.Effect<Option.Option<Fetched>, BucketError>
  readonly head: (bucket: string, key: string) => Effect.Effect<Option.Option<ObjectInfo>, BucketError>
  /** Writes the object whole; gives its entity tag. */
  readonly put: (bucket: string, key: string, bytes: Uint8Array) => Effect.Effect<string, BucketError>
  /**
   * Writes the object whole if `condition` holds; none when the store refused it (412, or 409 for a concurrent
   * conditional write). Stores that ignore conditions (s3rver) write anyway.
   */
  readonly putIf: (
    bucket: string,
    key: string,
    bytes: Uint8Array,
    condition: Condition
  ) => Effect.Effect<Option.Option<string>, BucketError>
  /**
   * Uploads a local file (or `range` of it) as one object, streamed: a multipart upload of 8 MiB parts, two in
   * flight, completed only when every part is in (the object appears whole or not at all); a small file is one PUT.
   */
  readonly upload: (bucket: string, key: string, file: string, range?: Range) => Effect.Effect<void, BucketError>
  /**
   * Downloads an object into a local file, streamed: the file is replaced, or appended to with `append`; only the
   * first `bytes` bytes when given.
   */
  readonly download: (
    bucket: string,
    key: string,
    file: string,
    options?: { readonly append?: boolean; readonly bytes?: number }
  ) => Effect.Effect<void, BucketError>
  /** Every object under `prefix`, in key order (all pages). */
  readonly list: (bucket: string, prefix: string) => Effect.Effect<ReadonlyArray<ObjectInfo>, BucketError>
  /** Deletes keys (a thousand a request); keys already gone are no error. */
  readonly remove: (bucket: string, keys: ReadonlyArray<string>) => Effect.Effect<void, BucketError>
}

export class Bucket extends Context.Tag("@assoc-etl/bucket/Bucket")<Bucket, Service>() {}

/**
 * Where and as whom: `endpoint` an S3-compatible store (`http://127.0.0.1:9000`, MinIO, Ceph, R2, GCS's XML API),
 * addressed path-style, else AWS by region; `region` and `credentials` else the SDK's chain.
 */
export type BucketOptions = Client.ClientOptions

/** The service over a client built from `options`, the client closed with the scope. */
export const make = (options: BucketOptions = {}): Effect.Effect<Service, BucketError, Scope.Scope> =>
  Effect.map(
    Client.make(options),
    (client) =>
      Objects.make(client, options.endpoint === undefined ? undefined : Client.endpointLabel(options.endpoint))
  )

/** The endpoint, from `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`; none for AWS itself. */
export const endpointFromEnv: Config.Config<Option.Option<string>> = Config.string("AWS_ENDPOINT_URL_S3").pipe(
  Config.orElse(() => Config.string("AWS_ENDPOINT_URL")),
  Config.option
)

/** The service with explicit options (tests, programs with credentials of their own). */
export const layerWith = (options: BucketOptions): Layer.Layer<Bucket, BucketError> =>
  Layer.scoped(Bucket, make(options))

/**
 * The service as the command line builds it: the endpoint from `endpointFromEnv` (path-style when given),
 * credentials, region and profiles from the SDK's default chain (`us-east-1` when no region is set anywhere).
 */
export const layer: Layer.Layer<Bucket, BucketError | ConfigError.ConfigError> = Layer.scoped(
  Bucket,
  Effect.flatMap(endpointFromEnv, (endpoint) => make({ endpoint: Option.getOrUndefined(endpoint) }))
)
