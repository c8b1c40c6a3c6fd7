/**
 * A dataset on a bucket as a `Dataset.DatasetSink`: the core sink writes the
 * staging directory, and each of its commits is followed by a remote one.
 *
 * `commit(payload)`: (1) the local commit (journal synced, a part maybe rolled
 * into `part-k`, the local checkpoint written); then, from the checkpoint file
 * just written: (2) each part it lists that is not in the bucket yet is
 * uploaded whole to its final key (a multipart upload completed at once; the
 * local file then goes, unless `keepParts`); (3) the logs are extended: the
 * open part's journal to its committed length, errors.ndjson to its committed
 * length, the id journals to their size (an id journal's lines are synced
 * before its ids go on, so it holds every id the checkpoint counts); (4) the
 * lease is checked and the checkpoint file is written, byte for byte, as
 * `.checkpoint.json`; (5) the logs of parts that rolled are deleted. A part
 * with no checkpoint yet beside it is announced by a `.staged` marker first
 * (`layout.ts`), deleted once the checkpoint is in. A part is in the bucket
 * before the checkpoint that names it; a part uploaded whose checkpoint never
 * came is deleted by the next restore, and a reader trusts only `_SUCCESS`.
 *
 * `finish`: the local finish (manifest.json, `beforeSuccess`'s files,
 * `_SUCCESS`), steps 2 to 4, then errors.ndjson, manifest.json and every
 * other file of the dataset that readers see (`_labels/`, `_changes/`) whole,
 * the id journals whole (dotted, for a later run that chains to this one),
 * `_SUCCESS` last, and the dataset's logs deleted. A crash before `_SUCCESS`
 * is restored from the last checkpoint and finished again by the next run.
 *
 * Operations run one at a time. After one fails or is interrupted the sink
 * takes no more (as the core writer): what the bucket holds is safe, and the
 * next run restores it.
 */
import { Dataset, type Manifest } from "@assoc-etl/core"
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Exit, Schema } from "effect"
import type { Bucket, Service } from "../Bucket.js"
import { BucketError } from "../BucketError.js"
import { formatKey } from "../BucketUrl.js"
import type { BucketUrl } from "../BucketUrl.js"
import { datasetPrefix, inDataset, isPartName, logKind, stagedName } from "./layout.js"
import type { Lease } from "./lease.js"
import type { Mirror } from "./mirror.js"
import { localFailure, type RestoredDataset } from "./restore.js"

export interface StagedContext {
  readonly bucket: Service
  readonly url: BucketUrl
  /** The staging root. */
  readonly root: string
  readonly lease: Lease
  readonly mirror: Mirror
  readonly keepParts: boolean
  /** What the restore found of dataset `rel`. */
  readonly restored: (rel: string) => RestoredDataset | undefined
}

const decodeCheckpoint = Schema.decodeUnknown(Schema.parseJson(Dataset.CheckpointFile))

const brokenDetail = "an earlier commit of this run failed or was interrupted, so it takes no more rows. What the "
  + "bucket holds is safe: run again to resume from its last checkpoint"

export const make = <E, R>(
  context: StagedContext,
  rel: string,
  options: Omit<Dataset.DatasetOptions<E, R>, "directory" | "partsElsewhere">
): Dataset.DatasetSink<E | BucketError, R | Bucket> => ({
  open: <P, I>(checkpoint: Schema.Schema<P, I>) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const { bucket, lease, mirror, keepParts } = context
      const bucketName = context.url.bucket
      const root = context.root
      const directory = rel === "" ? root : path.join(root, ...rel.split("/"))
      const prefix = datasetPrefix(context.url.prefix, rel)
      const datasetUrl = formatKey(bucketName, prefix)
      const local = yield* Dataset.sink<E, R>({ ...options, directory, partsElsewhere: !keepParts }).open(checkpoint)

      const restored = context.restored(rel)
      /** Parts the bucket holds, by name. */
      const uploaded = new Set((restored?.checkpoint.dataset.parts ?? []).map((p) => p.name))
      let remoteCheckpoint = restored !== undefined
      let marked = false
      let broken: BucketError | undefined
      const lock = yield* Effect.makeSemaphore(1)

      const at = (name: string) => path.join(directory, ...name.split("/"))
      const io = <A>(name: string, effect: Effect.Effect<A, PlatformError>) =>
        Effect.mapError(effect, localFailure(formatKey(bucketName, `${prefix}${name}`), at(name)))
      const upload = (name: string) => bucket.upload(bucketName, `${prefix}${name}`, at(name))

      /** The id journals of the staging: the root's `.listed-*`, and the dataset's own when it is not the root. */
      const idJournals = Effect.gen(function*() {
        const names: Array<{ readonly name: string; readonly key: string }> = []
        const scan = (dir: string, within: string) =>
          Effect.map(io(within, fs.readDirectory(dir)), (entries) => {
            for (const entry of entries.sort()) {
              if (entry.startsWith(".listed-") && !entry.endsWith(".tmp")) {
                const name = inDataset(within, entry)
                names.push({ name, key: `${context.url.prefix}${name}` })
              }
            }
          })
        yield* scan(root, "")
        if (rel !== "") yield* scan(directory, rel)
        return names
      })

      // Steps 2 to 5 of a commit (see the module comment), from the checkpoint the local commit just wrote.
      const publish = Effect.gen(function*() {
        const bytes = yield* io(Dataset.checkpointName, fs.readFile(at(Dataset.checkpointName)))
        const state = (yield* decodeCheckpoint(new TextDecoder().decode(bytes)).pipe(
          Effect.mapError((e) =>
            new BucketError({
              reason: "Corrupt",
              url: formatKey(bucketName, `${prefix}${Dataset.checkpointName}`),
              detail: `the staging's checkpoint cannot be read: ${e.message}`
            })
          )
        )).dataset
        const fresh = state.parts.filter((p) => !uploaded.has(p.name))
        if (fresh.length > 0 && !remoteCheckpoint && !marked) {
          yield* lease.check
          yield* bucket.put(bucketName, `${prefix}${stagedName}`, new Uint8Array())
          marked = true
        }
        for (const part of fresh) {
          yield* lease.check
          yield* upload(part.name)
          uploaded.add(part.name)
          if (!keepParts) yield* io(part.name, fs.remove(at(part.name)))
        }
        const journal = inDataset(rel, Dataset.openJournalName(options.encoder, state.open.index))
        yield* mirror.extend(journal, state.open.journalBytes)
        yield* mirror.extend(inDataset(rel, Dataset.errorsName), state.errors.bytes)
        for (const { name } of yield* idJournals) yield* mirror.follow(name)
        yield* lease.check
        yield* bucket.put(bucketName, `${prefix}${Dataset.checkpointName}`, bytes)
        remoteCheckpoint = true
        if (marked) {
          yield* bucket.remove(bucketName, [`${prefix}${stagedName}`])
          marked = false
        }
        yield* mirror.drop((name) => {
          const kind = logKind(name)
          return kind.kind === "journal" && kind.rel === rel && kind.index < state.open.index
        })
      }).pipe(Effect.withSpan("Staging.commit", { attributes: { url: datasetUrl } }))

      /** The files of the dataset readers see, other than parts, manifest.json and `_SUCCESS`: relative paths. */
      const visibleFiles = Effect.gen(function*() {
        const entries = yield* io("", fs.readDirectory(directory, { recursive: true }))
        const files: Array<string> = []
        for (const entry of entries.map((e) => e.split(path.sep).join("/")).sort()) {
          if (entry.split("/").some((segment) => segment.startsWith("."))) continue
          if (isPartName(entry) || entry === Dataset.manifestName || entry === Dataset.successName) continue
          const info = yield* io(entry, fs.stat(at(entry)))
          if (info.type === "File") files.push(entry)
        }
        return files
      })

      const finishRemote = Effect.gen(function*() {
        yield* publish
        const files = yield* visibleFiles
        const errorsFirst = [
          ...files.filter((f) => f === Dataset.errorsName),
          Dataset.manifestName,
          ...files.filter((f) => f !== Dataset.errorsName)
        ]
        for (const name of errorsFirst) yield* upload(name)
        for (const { key, name } of yield* idJournals) {
          yield* bucket.upload(bucketName, key, path.join(root, ...name.split("/")))
        }
        yield* lease.check
        yield* bucket.put(bucketName, `${prefix}${Dataset.successName}`, new Uint8Array())
        yield* mirror.drop((name) => rel === "" || name.startsWith(`${rel}/`))
      }).pipe(Effect.withSpan("Staging.finish", { attributes: { url: datasetUrl } }))

      // One operation at a time; the first that fails or is interrupted closes the sink.
      const guarded = <A, X>(effect: Effect.Effect<A, X, FileSystem.FileSystem | Path.Path>) =>
        Effect.suspend((): Effect.Effect<A, X | BucketError, FileSystem.FileSystem | Path.Path> =>
          broken === undefined ? effect : Effect.fail(broken)
        ).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              if (Exit.isFailure(exit) && broken === undefined) {
                broken = new BucketError({ reason: "Io", url: datasetUrl, detail: brokenDetail })
              }
            })
          ),
          Effect.provideService(FileSystem.FileSystem, fs),
          Effect.provideService(Path.Path, path),
          lock.withPermits(1)
        )

      return {
        resumed: local.resumed,
        finished: local.finished,
        state: local.state,
        append: (rows, refused) => guarded(local.append(rows, refused)),
        commit: (payload) => guarded(Effect.zipRight(local.commit(payload), publish)),
        finish: (payload, facts) =>
          guarded(Effect.flatMap(local.finish(payload, facts), (manifest: Manifest.Manifest) =>
            Effect.as(finishRemote, manifest)))
      } satisfies Dataset.Opened<P, E | BucketError>
    })
})
