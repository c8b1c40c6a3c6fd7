/**
 * A local, read-only copy of a finished dataset (or root of datasets) in a
 * bucket, for the commands that read an earlier export as files: `--since`
 * (its manifest), `--ids-from` (its id journals and errors), `--diff-against`
 * and `diff` (its parts too).
 */
import { ScratchDirectory } from "@assoc-etl/core"
import { FileSystem, Path } from "@effect/platform"
import { Effect, type Scope } from "effect"
import { Bucket } from "../Bucket.js"
import { BucketError } from "../BucketError.js"
import { type BucketUrl, format, formatKey } from "../BucketUrl.js"
import * as Inventory from "./inventory.js"
import { datasetPrefix, isPartName, leaseName, logsDirectory, stagedName } from "./layout.js"
import { localFailure } from "./restore.js"

/** Downloads at once. */
const concurrency = 4

export const download = (
  url: BucketUrl,
  options: { readonly parts: boolean }
): Effect.Effect<string, BucketError, Bucket | FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const bucket = yield* Bucket
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const endpoint = bucket.endpoint === undefined ? {} : { endpoint: bucket.endpoint }
    const inventory = Inventory.make(url.prefix, yield* bucket.list(url.bucket, url.prefix))
    if (inventory.datasets.size === 0) {
      return yield* new BucketError({
        reason: "NotFinished",
        url: format(url),
        detail: "it holds no export (no .checkpoint.json under it)",
        ...endpoint
      })
    }
    const unfinished = [...inventory.datasets].filter((rel) => !inventory.finished.has(rel)).sort()
    if (unfinished.length > 0) {
      return yield* new BucketError({
        reason: "NotFinished",
        url: formatKey(url.bucket, datasetPrefix(url.prefix, unfinished[0]!)),
        detail: "it has no _SUCCESS: its export has not finished (or is running now)",
        ...endpoint
      })
    }
    const directory = yield* ScratchDirectory.make("replica").pipe(
      Effect.mapError(localFailure(format(url), "a temporary directory"))
    )
    const wanted = [...inventory.objects.keys()].filter((k) => {
      if (k === leaseName || k.startsWith(logsDirectory)) return false
      const owner = Inventory.ownerOf(inventory.datasets, k)
      const name = owner === undefined ? k : Inventory.nameIn(owner, k)
      if (name === stagedName) return false
      return options.parts || owner === undefined || !isPartName(name)
    })
    yield* Effect.forEach(wanted, (k) =>
      Effect.gen(function*() {
        const file = path.join(directory, ...k.split("/"))
        yield* fs.makeDirectory(path.dirname(file), { recursive: true }).pipe(
          Effect.mapError(localFailure(formatKey(url.bucket, `${url.prefix}${k}`), file))
        )
        yield* bucket.download(url.bucket, `${url.prefix}${k}`, file)
      }), { concurrency, discard: true })
    return directory
  }).pipe(Effect.withSpan("Staging.download", { attributes: { url: format(url) } }))
