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
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Option, Schema, type Scope } from "effect"
import { DatasetError } from "./DatasetError.js"
import * as Checkpoints from "./internal/dataset/checkpointFile.js"
import * as ManifestFile from "./internal/dataset/manifestFile.js"
import * as Writer from "./internal/dataset/writer.js"
import type * as Manifest from "./Manifest.js"
import type { PartEncoder } from "./PartEncoder.js"
import type * as RowSink from "./RowSink.js"

export { DatasetError } from "./DatasetError.js"
export { CheckpointFile, type DatasetState } from "./internal/dataset/checkpointFile.js"
export {
  checkpointName,
  errorsDirectory,
  errorsName,
  idJournalName,
  manifestName,
  partName,
  successName
} from "./internal/dataset/layout.js"
export { toolVersion } from "./internal/dataset/writer.js"

/** Rows in a part before it rolls over (at the next commit). */
export const defaultPartMaxRows = 1_000_000
/** Bytes of journal (NDJSON) in a part before it rolls over. */
export const defaultPartMaxBytes = 256 * 1024 * 1024

export interface DatasetOptions {
  readonly directory: string
  readonly encoder: PartEncoder
  /**
   * Rows in a part before it rolls over (at the next commit; the open part of a resume, while it is still being
   * rebuilt from its journal, at a later one, before this many more rows came). Default `defaultPartMaxRows`.
   */
  readonly partMaxRows?: number
  /** Bytes of journal (NDJSON) in a part before it rolls over (as `partMaxRows`). Default `defaultPartMaxBytes`. */
  readonly partMaxBytes?: number
}

export interface Opened<P> extends RowSink.Opened<Manifest.Manifest, P, DatasetError> {
  /** What the directory holds now, as its next checkpoint would say. */
  readonly state: Effect.Effect<Checkpoints.DatasetState>
}

export interface DatasetSink extends RowSink.RowSink<Manifest.Manifest, DatasetError, FileSystem.FileSystem | Path.Path> {
  readonly open: <P, I>(
    checkpoint: Schema.Schema<P, I>
  ) => Effect.Effect<Opened<P>, DatasetError, FileSystem.FileSystem | Path.Path | Scope.Scope>
}

/** A dataset directory as a sink; `finish` writes the manifest and `_SUCCESS`, and returns the manifest. */
export const sink = (options: DatasetOptions): DatasetSink => ({
  open: <P, I>(checkpoint: Schema.Schema<P, I>) =>
    Effect.gen(function*() {
      const opened = yield* Writer.open({
        directory: options.directory,
        encoder: options.encoder,
        partMaxRows: options.partMaxRows ?? defaultPartMaxRows,
        partMaxBytes: options.partMaxBytes ?? defaultPartMaxBytes
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
          Effect.flatMap(encoded(payload), (p) => writer.finish(p, finished))
      } satisfies Opened<P>
    })
})

/** The last checkpoint of a dataset directory, if it has one. */
export const readCheckpoint = Checkpoints.read

/** The manifest of a finished dataset directory (either version, read as the current one). */
export const readManifest = ManifestFile.read
