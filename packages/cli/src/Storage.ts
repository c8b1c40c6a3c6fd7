/**
 * Where the command line's datasets are: a local directory, or a location in a bucket, `s3://bucket/prefix`
 * (@assoc-etl/bucket). An export's `--out` in a bucket is staged in a temporary directory of this process, with
 * the prefix's lease taken and what the bucket holds of an earlier run restored first, before anything is sent to
 * HubSpot; its commits go to the bucket. An input in a bucket (`--since`, `--ids-from`, `--diff-against`, diff's
 * OLD and NEW) is downloaded into a temporary directory for the run, its parts only when they are read. Everything
 * is removed, and the lease given back, with the scope.
 *
 * The bucket's client (the AWS SDK's, its credentials from the SDK's chain) is made only when a location is a
 * bucket's, and the SDK itself loaded only then (`import()`, which the bundle keeps lazy: ~1.5 MB of code that
 * every start would otherwise evaluate): a local run needs nothing of AWS. (Hence the deep imports of the two
 * modules that load no SDK.)
 *
 * What the user reads names each location as given, never the temporary directory standing for it (`named`).
 */
import type * as BucketPackage from "@assoc-etl/bucket"
import type * as BucketError from "@assoc-etl/bucket/BucketError"
import * as BucketUrl from "@assoc-etl/bucket/BucketUrl"
import { Dataset } from "@assoc-etl/core"
import { type FileSystem, Path } from "@effect/platform"
import { type ConfigError, Context, Effect, Layer, Scope } from "effect"

/** Whether `location` is a bucket's (`s3://…`) rather than a local path. */
export const isBucket = (location: string): boolean => BucketUrl.isBucketUrl(location)

/** The options of a dataset sink, but where it is. */
export type SinkOptions<E, R> = Omit<Dataset.DatasetOptions<E, R>, "directory" | "partsElsewhere">

/** Where an export writes. */
export interface Output {
  /** `--out` as given: what summaries and messages name. */
  readonly location: string
  /** The local directory the run writes: `--out` itself, or the bucket's staging directory. */
  readonly directory: string
  /** The dataset at `relative` (`""`: `--out` itself; `contacts-companies`: a pair under a root) as a sink. */
  readonly sink: <E, R>(
    relative: string,
    options: SinkOptions<E, R>
  ) => Dataset.DatasetSink<E | BucketError.BucketError, R>
}

/** A bucket refused, or its settings (`AWS_ENDPOINT_URL_S3`) could not be read. */
export type Failure = BucketError.BucketError | ConfigError.ConfigError

export interface Storage {
  /**
   * `--out`: a local directory as it is, or a bucket's location staged (refused when its URL is bad, its bucket
   * missing or not ours to write, its lease another run's, or it holds something else than an export). With
   * `keepParts`, the staging keeps a local copy of every part (an export that diffs itself as it finishes).
   */
  readonly output: (
    location: string,
    options: { readonly keepParts: boolean }
  ) => Effect.Effect<Output, Failure, FileSystem.FileSystem | Path.Path>
  /**
   * A finished dataset, or a root of them, as a local directory: a local path as it is; a bucket's location
   * downloaded (without its parts unless `parts`; refused when it holds no finished export).
   */
  readonly input: (
    location: string,
    options: { readonly parts: boolean }
  ) => Effect.Effect<string, Failure, FileSystem.FileSystem | Path.Path>
  /** A bucket URL refused (`BadUrl`, exit 2) before anything is opened; a local path passes. */
  readonly check: (location: string) => Effect.Effect<void, BucketError.BucketError>
  /** `text` with each temporary directory replaced by the location it stands for. */
  readonly named: (text: string) => string
  /** `error` with its text fields `named`: the same class, the same reason, the user's locations in its message. */
  readonly namedError: <E>(error: E) => E
}

/** The storage of one run; its temporary directories, its client and its leases end with the scope. */
export const make: Effect.Effect<Storage, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  // The package and its client, at the first location in a bucket, once for the run.
  const client = yield* Effect.cached(Effect.gen(function*() {
    const bucket: typeof BucketPackage = yield* Effect.promise(() => import("@assoc-etl/bucket"))
    const context = yield* Layer.buildWithScope(bucket.Bucket.layer, scope)
    return { ...bucket, service: Context.get(context, bucket.Bucket.Bucket) }
  }))
  const locations = new Map<string, string>()

  const named = (text: string): string => {
    let out = text
    // The longest first: a staging directory's own files before the directory.
    for (const [local, location] of [...locations].sort((a, b) => b[0].length - a[0].length)) {
      out = out.replaceAll(local, location)
    }
    return out
  }

  const namedError = <E>(error: E): E => {
    if (typeof error !== "object" || error === null || locations.size === 0) return error
    const fields = Object.entries(error)
    if (!fields.some(([, v]) => typeof v === "string" && named(v) !== v)) return error
    // A copy of the same class (so that its exit status and its message are the same), its texts renamed.
    const copy = Object.create(Object.getPrototypeOf(error)) as Record<string, unknown>
    for (const [k, v] of fields) copy[k] = typeof v === "string" ? named(v) : v
    return copy as E
  }

  const check = (location: string) => isBucket(location) ? Effect.asVoid(BucketUrl.parse(location)) : Effect.void

  const output: Storage["output"] = (location, options) =>
    Effect.gen(function*() {
      const path = yield* Path.Path
      if (!isBucket(location)) {
        return {
          location,
          directory: location,
          sink: (relative, sinkOptions) =>
            Dataset.sink({ ...sinkOptions, directory: relative === "" ? location : path.join(location, relative) })
        } satisfies Output
      }
      const url = yield* BucketUrl.parse(location)
      const { Bucket, service, Staging } = yield* client
      const staged = yield* Staging.stage(url, { keepParts: options.keepParts }).pipe(
        Effect.provideService(Bucket.Bucket, service),
        Scope.extend(scope)
      )
      locations.set(staged.directory, location)
      return {
        location,
        directory: staged.directory,
        sink: (relative, sinkOptions) => {
          const sink = staged.sink(relative, sinkOptions)
          return { ...sink, open: (checkpoint) => Effect.provideService(sink.open(checkpoint), Bucket.Bucket, service) }
        }
      } satisfies Output
    })

  const input: Storage["input"] = (location, options) =>
    Effect.gen(function*() {
      if (!isBucket(location)) return location
      const url = yield* BucketUrl.parse(location)
      const { Bucket, service, Staging } = yield* client
      const directory = yield* Staging.download(url, { parts: options.parts }).pipe(
        Effect.provideService(Bucket.Bucket, service),
        Scope.extend(scope)
      )
      locations.set(directory, location)
      return directory
    })

  return { output, input, check, named, namedError } satisfies Storage
})
