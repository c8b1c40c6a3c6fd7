/** `manifest.json` of a finished dataset directory, read back and decoded (either version, as the current one). */
import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { DatasetError } from "../../DatasetError.js"
import * as Manifest from "../../Manifest.js"
import { manifestName } from "./layout.js"

export const read = (
  directory: string
): Effect.Effect<Manifest.Manifest, DatasetError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(directory, manifestName)
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) =>
        new DatasetError({ reason: "NotFinished", path: directory, detail: `no readable ${manifestName} (${e.message})` })
      )
    )
    return yield* Manifest.decodeJson(text).pipe(
      Effect.mapError((e) => new DatasetError({ reason: "Corrupt", path: file, detail: `the manifest cannot be read: ${e.message}` }))
    )
  })
