/**
 * `.checkpoint.json`: the commit record of a dataset directory. It lists the
 * committed parts, the length of the open part's journal and of
 * errors.ndjson at the commit, and the caller's payload, encoded.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { DatasetError } from "../../DatasetError.js"
import { PartInfo } from "../../Manifest.js"
import { fail } from "./durableFile.js"
import { checkpointName } from "./layout.js"

export const DatasetState = Schema.Struct({
  format: Schema.String,
  extension: Schema.String,
  parts: Schema.Array(PartInfo),
  open: Schema.Struct({ index: Schema.Int, rows: Schema.Int, journalBytes: Schema.Int }),
  errors: Schema.Struct({ rows: Schema.Int, bytes: Schema.Int })
})
export type DatasetState = typeof DatasetState.Type

export const CheckpointFile = Schema.Struct({
  version: Schema.Literal(1),
  dataset: DatasetState,
  payload: Schema.Unknown
})
export type CheckpointFile = typeof CheckpointFile.Type

const decodeCheckpoint = Schema.decodeUnknown(Schema.parseJson(CheckpointFile))

export const encode = (file: CheckpointFile): Uint8Array => new TextEncoder().encode(JSON.stringify(file))

/** The last checkpoint of a dataset directory, if it has one. */
export const read = (
  directory: string
): Effect.Effect<Option.Option<CheckpointFile>, DatasetError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(directory, checkpointName)
    if (!(yield* fs.exists(file).pipe(Effect.mapError(fail(file))))) return Option.none<CheckpointFile>()
    const text = yield* fs.readFileString(file).pipe(Effect.mapError(fail(file)))
    return Option.some(
      yield* decodeCheckpoint(text).pipe(
        Effect.mapError((e) =>
          new DatasetError({ reason: "Corrupt", path: file, detail: `the checkpoint cannot be read: ${e.message}` })
        )
      )
    )
  })
