/**
 * File operations as a dataset needs them: errors classified (a full disk is
 * `NoSpace`), a file written so that it is either absent or whole, a
 * directory synced so that a rename survives a crash.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Option } from "effect"
import { DatasetError } from "../../DatasetError.js"
import { atomicTempName } from "./layout.js"

/** A full disk or an exhausted quota: the run stops, what was committed stays readable and resumable. */
const isNoSpace = (e: PlatformError): boolean => {
  const cause = "cause" in e ? (e.cause as { code?: unknown } | undefined) : undefined
  return cause?.code === "ENOSPC" || cause?.code === "EDQUOT" || /\b(ENOSPC|EDQUOT)\b/.test(e.message)
}

export const fail = (path: string) => (e: PlatformError) =>
  new DatasetError({ reason: isNoSpace(e) ? "NoSpace" : "Io", path, detail: e.message })

/**
 * `mkdir -p`, a level at a time: Node's recursive `mkdir` loops for ever where a parent exists but refuses
 * children with ENOENT (`/proc/x`), so that a bad `--out` would hang instead of failing.
 */
export const makeDirectories = (directory: string): Effect.Effect<void, DatasetError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const info = yield* Effect.option(fs.stat(directory))
    if (Option.isSome(info)) {
      if (info.value.type === "Directory") return
      return yield* new DatasetError({ reason: "Io", path: directory, detail: "it exists and is not a directory" })
    }
    const parent = path.dirname(directory)
    if (parent !== directory) yield* makeDirectories(parent)
    yield* fs.makeDirectory(directory).pipe(
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.void),
      Effect.mapError(fail(directory))
    )
  })

export const syncDirectory = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (d) => d.sync)).pipe(
      Effect.mapError(fail(directory))
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
    })).pipe(Effect.mapError(fail(temp)))
    yield* fs.rename(temp, target).pipe(Effect.mapError(fail(target)))
    yield* syncDirectory(directory)
  })

/** The size of a file, or none when it does not exist. */
export const sizeOf = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(file).pipe(Effect.mapError(fail(file))))) return Option.none<number>()
    const info = yield* fs.stat(file).pipe(Effect.mapError(fail(file)))
    return Option.some(Number(info.size))
  })
