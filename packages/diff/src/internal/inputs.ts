/**
 * OLD and NEW: dataset directories of finished exports, read through their manifests (which list the parts and
 * their format). Every refusal names its argument and says what was found.
 */
import { Dataset, type Manifest } from "@assoc-etl/core"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Option } from "effect"
import type * as ChangesManifest from "../ChangesManifest.js"
import { DiffError } from "../DiffError.js"
import { markerName } from "./layout.js"

export type Format = "ndjson" | "parquet"

export interface Input {
  readonly argument: "OLD" | "NEW"
  /** Absolute. */
  readonly directory: string
  readonly manifest: Manifest.Manifest
  readonly format: Format
  /** The parts' suffix: `.ndjson`, `.ndjson.gz` or `.parquet`. */
  readonly extension: string
  /** The parts' absolute paths, in the manifest's order. */
  readonly files: ReadonlyArray<string>
}

/** The suffix of the parts of a dataset in `format`, from the names its manifest lists. */
const extensionOf = (format: Format, parts: ReadonlyArray<Manifest.PartInfo>): string => {
  if (format === "parquet") return ".parquet"
  return parts.length > 0 && parts.every((p) => p.name.endsWith(".ndjson.gz")) ? ".ndjson.gz" : ".ndjson"
}

/** DuckDB takes `*`, `?`, `[` and `{` in a path for a glob, with no way to quote them. */
const globCharacters = /[*?[\]{}]/

/**
 * The export in `directory`: a directory with a readable manifest and `_SUCCESS` (or without it when
 * `acceptUnsealed`, for an export that diffs itself before it seals), whose listed parts are all there.
 */
export const read = (
  directory: string,
  argument: "OLD" | "NEW",
  acceptUnsealed: boolean
): Effect.Effect<Input, DiffError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const refuse = (reason: DiffError["reason"], detail: string) =>
      new DiffError({ reason, argument, path: directory, detail })
    const exists = (name: string) => fs.exists(path.join(directory, name)).pipe(Effect.orElseSucceed(() => false))

    const info = yield* Effect.option(fs.stat(directory))
    if (Option.isNone(info)) return yield* refuse("Missing", "no such directory")
    if (info.value.type !== "Directory") return yield* refuse("Missing", "not a directory")

    if (!(yield* exists(Dataset.manifestName))) {
      if (yield* exists(Dataset.checkpointName)) {
        return yield* refuse("NotFinished", "an export is in progress there (no manifest.json yet): run it to its end")
      }
      if (yield* exists(markerName)) return yield* refuse("NotAnExport", "it holds the changes of a diff")
      return yield* refuse("NotAnExport", `no ${Dataset.manifestName}`)
    }
    const manifest = yield* Dataset.readManifest(directory).pipe(
      Effect.catchTag("DatasetError", (e) =>
        exists(markerName).pipe(
          Effect.flatMap((isChanges) =>
            isChanges
              ? refuse("NotAnExport", "it holds the changes of a diff")
              : refuse("Corrupt", `its ${Dataset.manifestName} cannot be read (${e.detail})`)
          )
        ))
    )
    if (!acceptUnsealed && !(yield* exists(Dataset.successName))) {
      return yield* refuse(
        "NotFinished",
        `no ${Dataset.successName}: its export stopped before the end; run it again to finish it`
      )
    }
    if (manifest.format !== "ndjson" && manifest.format !== "parquet") {
      return yield* refuse("Corrupt", `its parts are ${JSON.stringify(manifest.format)}, not ndjson or parquet`)
    }
    const files: Array<string> = []
    for (const part of manifest.parts) {
      const file = path.join(directory, part.name)
      if (!(yield* exists(part.name))) {
        return yield* refuse("Corrupt", `${part.name}, listed in its manifest, is missing`)
      }
      if (globCharacters.test(file)) {
        return yield* refuse(
          "Corrupt",
          `${file} holds one of * ? [ ] { }, which DuckDB reads as a glob: move the export to a path without them`
        )
      }
      files.push(file)
    }
    return {
      argument,
      directory,
      manifest,
      format: manifest.format,
      extension: extensionOf(manifest.format, manifest.parts),
      files
    }
  })

/** What a changes manifest records of a side. */
export const side = (input: Input): ChangesManifest.Side => ({
  path: input.directory,
  format: input.format,
  rows: input.manifest.totals.rows,
  startedAt: input.manifest.startedAt,
  finishedAt: input.manifest.finishedAt
})
