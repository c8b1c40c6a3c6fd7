/**
 * File operations as a changes directory needs them (as core's dataset does, whose helpers are internal to it):
 * a directory made a level at a time, a directory synced so that a rename survives a crash, a file written so
 * that it is either absent or whole.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Option } from "effect"
import { type Argument, DiffError } from "../DiffError.js"

export const fail = (argument: Argument, path: string) => (e: PlatformError) =>
  new DiffError({ reason: "Io", argument, path, detail: e.message })

/** The temporary name of a file written atomically: dotted, so no reader's glob meets it. */
export const atomicTempName = (name: string) => `${name.startsWith(".") ? "" : "."}${name}.tmp`

/**
 * `mkdir -p`, a level at a time: Node's recursive `mkdir` loops for ever where a parent exists but refuses
 * children with ENOENT (`/proc/x`), so that a bad `--out` would hang instead of failing.
 */
export const makeDirectories = (directory: string): Effect.Effect<void, DiffError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const info = yield* Effect.option(fs.stat(directory))
    if (Option.isSome(info)) {
      if (info.value.type === "Directory") return
      return yield* new DiffError({
        reason: "OutNotUsable",
        argument: "--out",
        path: directory,
        detail: "exists and is not a directory"
      })
    }
    const parent = path.dirname(directory)
    if (parent !== directory) yield* makeDirectories(parent)
    yield* fs.makeDirectory(directory).pipe(
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.void),
      Effect.mapError((e) =>
        new DiffError({
          reason: "OutNotUsable",
          argument: "--out",
          path: directory,
          detail: `cannot be made (${e.message})`
        })
      )
    )
  })

export const syncDirectory = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (d) => d.sync)).pipe(
      Effect.mapError(fail("--out", directory))
    )
  })

/** Writes a file so that it is either absent or whole: temp, sync, rename, sync the directory. */
export const writeAtomically = (directory: string, name: string, data: Uint8Array) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const target = path.join(directory, name)
    const temp = path.join(directory, atomicTempName(name))
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temp, { flag: "w" })
      if (data.length > 0) yield* file.writeAll(data)
      yield* file.sync
    })).pipe(Effect.mapError(fail("--out", temp)))
    yield* fs.rename(temp, target).pipe(Effect.mapError(fail("--out", target)))
    yield* syncDirectory(directory)
  })
