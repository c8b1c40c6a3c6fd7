/**
 * A dataset (or a root of datasets) on a bucket, written through a local
 * staging directory: the core `Dataset.sink` writes the staging as it writes
 * any directory, and each of its commits is followed by a remote one (parts
 * uploaded whole to their final keys, the append-only files mirrored as
 * segments, the checkpoint written last). The bucket is the truth; the
 * staging is scratch, rebuilt from the bucket on every run, so a run resumes
 * from any machine.
 *
 * `stage` refuses a prefix holding another's objects, takes the prefix's
 * lease (one writer: see `internal/lease.ts` for what it guarantees), and
 * restores every dataset under it (`internal/restore.ts`); `Staged.sink`
 * gives each its sink (`internal/stagedSink.ts` has the commit order).
 *
 * What readers see: `part-NNNNN.ext` (whole, each in the bucket before the
 * checkpoint naming it), `_errors/errors.ndjson`, `manifest.json`,
 * `_labels/`, `_changes/`, and `_SUCCESS` last. Everything else is dotted
 * (`.checkpoint.json`, `.lease`, `.logs/`, `.listed-*`, `.staged`), so a
 * `s3://bucket/prefix/*.parquet` glob never meets it. A part whose checkpoint
 * never came (a crash between the two) is whole and deleted by the next run;
 * readers trust only `_SUCCESS`.
 */
import { type Dataset, ScratchDirectory } from "@assoc-etl/core"
import type { FileSystem, Path } from "@effect/platform"
import { Effect, type Scope } from "effect"
import { Bucket } from "./Bucket.js"
import type { BucketError } from "./BucketError.js"
import { type BucketUrl, format } from "./BucketUrl.js"
import * as Inventory from "./internal/inventory.js"
import * as Lease from "./internal/lease.js"
import * as Mirror from "./internal/mirror.js"
import * as Replica from "./internal/replica.js"
import * as Restore from "./internal/restore.js"
import * as StagedSink from "./internal/stagedSink.js"
import * as StagingDirectory from "./internal/stagingDirectory.js"

export interface StageOptions {
  /**
   * Keep the committed parts in the staging as well: they are downloaded by the restore and not deleted once
   * uploaded (for a run that reads its own parts after finishing). Default false: a part leaves the disk once it is
   * in the bucket.
   */
  readonly keepParts?: boolean
  /**
   * The staging directory. Default a fresh temporary directory, removed with the scope. A directory given is
   * created, or emptied if it holds only an earlier staging (anything else is refused), and kept.
   */
  readonly directory?: string
}

export interface Staged {
  readonly url: BucketUrl
  /** The staging root: the dataset itself (`relative` ""), or the root of pair directories. */
  readonly directory: string
  /**
   * The sink of the dataset at `relative` under the root: "" for the root itself (a single pair),
   * `contacts-companies` for a pair directory of a root of several. Its files are written under
   * `directory/relative`, and committed to `url`'s prefix (`prefix/relative/`).
   */
  readonly sink: <E = never, R = never>(
    relative: string,
    options: Omit<Dataset.DatasetOptions<E, R>, "directory" | "partsElsewhere">
  ) => Dataset.DatasetSink<E | BucketError, R | Bucket>
}

/** A relative path of plain segments ("" for the root). */
const isRelative = (relative: string) =>
  relative === "" || relative.split("/").every((s) => s.length > 0 && s !== "." && s !== "..")

/**
 * Takes the lease of `url`'s prefix and restores the staging from it; the lease is renewed until the scope
 * closes, then released. Refused: a prefix holding another's objects (`NotEmpty`, before anything is written), one
 * another run holds (`Locked`).
 */
export const stage = (
  url: BucketUrl,
  options: StageOptions = {}
): Effect.Effect<Staged, BucketError, Bucket | FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const bucket = yield* Bucket
    const keepParts = options.keepParts === true
    const where = format(url)
    // Refused before anything, the lease included, is written to another's prefix.
    yield* Restore.refuseForeign(Inventory.make(url.prefix, yield* bucket.list(url.bucket, url.prefix)), where)
    const directory = options.directory === undefined
      ? yield* ScratchDirectory.make("staging").pipe(
        Effect.mapError(Restore.localFailure(where, "a temporary directory"))
      )
      : yield* StagingDirectory.prepare(options.directory, where)
    const lease = yield* Lease.acquire({ bucket, bucketName: url.bucket, prefix: url.prefix })
    const restored = yield* Restore.restore({ bucket, url, root: directory, keepParts })
    const mirror = yield* Mirror.make({
      bucket,
      bucketName: url.bucket,
      prefix: url.prefix,
      root: directory,
      initial: restored.logs
    })
    const context: StagedSink.StagedContext = {
      bucket,
      url,
      root: directory,
      lease,
      mirror,
      keepParts,
      restored: (rel) => restored.datasets.get(rel)
    }
    return {
      url,
      directory,
      sink: (relative, sinkOptions) => {
        if (!isRelative(relative)) {
          throw new Error(`Staged.sink: "${relative}" is not a relative path of plain segments`)
        }
        return StagedSink.make(context, relative, sinkOptions)
      }
    } satisfies Staged
  }).pipe(Effect.withSpan("Staging.stage", { attributes: { url: format(url) } }))

/**
 * A local, read-only replica of the finished dataset (or root of finished datasets) at `url`, in a temporary
 * directory removed with the scope: manifest.json, `_SUCCESS`, `.checkpoint.json`, `_errors/`, `_labels/`,
 * `_changes/`, the id journals (`.listed-*`), and the parts when `parts`. A prefix with no export, or with one
 * not finished, is refused (`NotFinished`).
 */
export const download: (
  url: BucketUrl,
  options: { readonly parts: boolean }
) => Effect.Effect<string, BucketError, Bucket | FileSystem.FileSystem | Path.Path | Scope.Scope> = Replica.download
