/**
 * File operations as a changes directory needs them: core's dataset ones (`Dataset.makeDirectories`,
 * `writeAtomically`, `syncDirectory`), their failures told as the diff's, naming `--out`.
 */
import { Dataset } from "@assoc-etl/core"
import type { PlatformError } from "@effect/platform/Error"
import { Effect } from "effect"
import { type Argument, DiffError } from "../DiffError.js"

export const fail = (argument: Argument, path: string) => (e: PlatformError) =>
  new DiffError({ reason: "Io", argument, path, detail: e.message })

const io = (e: Dataset.DatasetError) => new DiffError({ reason: "Io", argument: "--out", path: e.path, detail: e.detail })

export const atomicTempName = Dataset.atomicTempName

/** `mkdir -p`, a level at a time (see `Dataset.makeDirectories`); what cannot be made is an unusable `--out`. */
export const makeDirectories = (directory: string) =>
  Dataset.makeDirectories(directory).pipe(
    Effect.mapError((e) =>
      new DiffError({ reason: "OutNotUsable", argument: "--out", path: e.path, detail: e.detail.replace(/^it /, "") })
    )
  )

export const syncDirectory = (directory: string) => Effect.mapError(Dataset.syncDirectory(directory), io)

/** Writes a file so that it is either absent or whole: temp, sync, rename, sync the directory. */
export const writeAtomically = (directory: string, name: string, data: Uint8Array) =>
  Effect.mapError(Dataset.writeAtomically(directory, name, data), io)
