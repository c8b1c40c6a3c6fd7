/**
 * The dataset directory as a `RowSink`: parts that are whole when they
 * exist, `_errors/errors.ndjson`, `manifest.json` and `_SUCCESS`, written so
 * that an export can stop at any moment and resume.
 *
 * The checkpoint (`.checkpoint.json`) is the commit record. `commit` syncs the
 * open part's journal and errors.ndjson, finishes and syncs the part if it is
 * due to roll over, then writes the checkpoint (temp, sync, rename, sync the
 * directory), and only then renames the finished part into place, syncs the
 * directory and deletes the part's journal. A part is committed once a
 * checkpoint lists it, even before its rename: reopening completes the rename
 * (roll forward), cuts the journal and errors.ndjson back to their committed
 * length, removes every part the checkpoint does not list, and rebuilds the
 * open part from its journal, in the background: `open` returns at once, and
 * only finishing that part waits for it. (Names: `internal/dataset/layout.ts`.)
 *
 * A directory without a checkpoint is taken only if it holds nothing but
 * what a run leaves before its first checkpoint; anything else is another's
 * (`NotEmpty`), and nothing is written to it. An export with no rows ends
 * with one empty part, so that every reader's glob finds a file.
 */
import { type FileSystem, Path } from "@effect/platform"
import { Effect, Option, Schema, type Scope } from "effect"
import { DatasetError } from "./DatasetError.js"
import * as Checkpoints from "./internal/dataset/checkpointFile.js"
import { makeDirectories, writeAtomically } from "./internal/dataset/durableFile.js"
import { tableDirectory, tableName } from "./internal/dataset/layout.js"
import * as ManifestFile from "./internal/dataset/manifestFile.js"
import * as Writer from "./internal/dataset/writer.js"
import type * as Manifest from "./Manifest.js"
import * as PartEncoder from "./PartEncoder.js"
import type * as RowSink from "./RowSink.js"

export { DatasetError } from "./DatasetError.js"
export { CheckpointFile, type DatasetState } from "./internal/dataset/checkpointFile.js"
export {
  checkpointName,
  errorsDirectory,
  errorsName,
  idJournalName,
  manifestName,
  openJournalName,
  partName,
  successName,
  tableDirectory,
  tableName
} from "./internal/dataset/layout.js"
export { toolVersion } from "./internal/dataset/writer.js"
/**
 * The file operations of a dataset, for other directories written with the same guarantees (the changes of a
 * diff): `makeDirectories` makes a directory and its parents a level at a time (a parent that refuses children
 * fails at once, naming it); `writeAtomically` writes a file that is either absent or whole (temp, sync, rename,
 * sync the directory); `syncDirectory` makes a rename in it survive a crash.
 */
export { makeDirectories, syncDirectory, writeAtomically } from "./internal/dataset/durableFile.js"
export { atomicTempName } from "./internal/dataset/layout.js"

/** Rows in a part before it rolls over (at the next commit). */
export const defaultPartMaxRows = 1_000_000
/** Bytes of journal (NDJSON) in a part before it rolls over. */
export const defaultPartMaxBytes = 256 * 1024 * 1024

export interface DatasetOptions<E = never, R = never> {
  readonly directory: string
  readonly encoder: PartEncoder.PartEncoder
  /**
   * Rows in a part before it rolls over (at the next commit; the open part of a resume, while it is still being
   * rebuilt from its journal, at a later one, before this many more rows came). Default `defaultPartMaxRows`.
   */
  readonly partMaxRows?: number
  /** Bytes of journal (NDJSON) in a part before it rolls over (as `partMaxRows`). Default `defaultPartMaxBytes`. */
  readonly partMaxBytes?: number
  /**
   * The directory is the staging of a dataset kept elsewhere (a bucket): its committed parts are taken away once a
   * commit has named them, so reopening does not look for them here. Default false.
   */
  readonly partsElsewhere?: boolean
  /**
   * Files of the caller's written into the directory when the export finishes, after manifest.json and before
   * `_SUCCESS`, so the same `_SUCCESS` covers them (a pair's labels catalogue, the changes since an earlier
   * snapshot: see `writeFile`). Given the directory and its manifest. A crash before `_SUCCESS` runs it again on
   * the next run's finish, so it must write whole files under their names (temp, rename) and may find its own
   * earlier files there.
   */
  readonly beforeSuccess?: (directory: string, manifest: Manifest.Manifest) => Effect.Effect<void, E, R>
}

export interface Opened<P, E = never> extends RowSink.Opened<Manifest.Manifest, P, DatasetError | E> {
  /** What the directory holds now, as its next checkpoint would say. */
  readonly state: Effect.Effect<Checkpoints.DatasetState>
}

export interface DatasetSink<E = never, R = never>
  extends RowSink.RowSink<Manifest.Manifest, DatasetError | E, FileSystem.FileSystem | Path.Path | R>
{
  readonly open: <P, I>(
    checkpoint: Schema.Schema<P, I>
  ) => Effect.Effect<Opened<P, E>, DatasetError, FileSystem.FileSystem | Path.Path | Scope.Scope | R>
}

/** A dataset directory as a sink; `finish` writes the manifest and `_SUCCESS`, and returns the manifest. */
export const sink = <E = never, R = never>(options: DatasetOptions<E, R>): DatasetSink<E, R> => ({
  open: <P, I>(checkpoint: Schema.Schema<P, I>) =>
    Effect.gen(function*() {
      // The files written before `_SUCCESS` are written with what this open was given.
      const context = yield* Effect.context<R>()
      const hook = options.beforeSuccess
      const beforeSuccess = hook === undefined
        ? undefined
        : (manifest: Manifest.Manifest) => Effect.provide(hook(options.directory, manifest), context)
      const opened = yield* Writer.open({
        directory: options.directory,
        encoder: options.encoder,
        partMaxRows: options.partMaxRows ?? defaultPartMaxRows,
        partMaxBytes: options.partMaxBytes ?? defaultPartMaxBytes,
        partsElsewhere: options.partsElsewhere ?? false
      })
      const corrupt = (e: { readonly message: string }) =>
        new DatasetError({
          reason: "Corrupt",
          path: options.directory,
          detail: `the checkpoint's payload cannot be read (${e.message}); remove the directory to start over`
        })
      const decode = Schema.decodeUnknown(checkpoint)
      const encode = Schema.encode(checkpoint)
      const resumed = Option.isSome(opened.resumed)
        ? Option.some(yield* Effect.mapError(decode(opened.resumed.value), corrupt))
        : Option.none<P>()
      const encoded = (payload: P) => Effect.orDie(encode(payload))
      const writer = opened.writer
      return {
        resumed,
        finished: opened.finished,
        state: writer.state,
        append: writer.append,
        commit: (payload) => Effect.flatMap(encoded(payload), writer.commit),
        finish: (payload, finished) =>
          Effect.flatMap(encoded(payload), (p) => writer.finish(p, finished, beforeSuccess))
      } satisfies Opened<P, E>
    })
})

/** The last checkpoint of a dataset directory, if it has one. */
export const readCheckpoint = Checkpoints.read

/** The manifest of a finished dataset directory (either version, read as the current one). */
export const readManifest = ManifestFile.read

/**
 * Writes a table of the export's own into the dataset directory, whole or not at all, as
 * `_<name>/<name><extension>` in the encoder's format (NDJSON when the encoder cannot encode tables): the labels
 * catalogue, from a `beforeSuccess`. Gives the file's path relative to the directory.
 */
export const writeTable = (
  directory: string,
  name: string,
  table: PartEncoder.Table,
  encoder: PartEncoder.PartEncoder
): Effect.Effect<string, DatasetError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const folder = path.join(directory, tableDirectory(name))
    yield* makeDirectories(folder)
    const [bytes, extension] = encoder.encodeTable === undefined
      ? [PartEncoder.tableToNdjson(table), ".ndjson"]
      : [yield* encoder.encodeTable(table), encoder.extension]
    const file = tableName(name, extension)
    yield* writeAtomically(folder, file, bytes)
    return `${tableDirectory(name)}/${file}`
  })
