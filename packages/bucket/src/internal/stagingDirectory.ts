/**
 * The staging directory a caller names (instead of a fresh temporary one):
 * scratch, rebuilt from the bucket on every run, so whatever an earlier run
 * left in it is removed, but only if it is nothing but what a staging holds
 * (a dataset's files, or a root of datasets' pair directories holding them).
 * Anything else is refused and left as it is: a mistyped directory is not
 * emptied.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { BucketError } from "../BucketError.js"
import { isPartName } from "./layout.js"

/** A path inside a dataset directory (as segments) that a dataset holds. */
const inDataset = (segments: ReadonlyArray<string>): boolean => {
  const [first, ...rest] = segments
  if (first === undefined) return false
  // `_errors/`, `_labels/`, `_changes/`, `_SUCCESS`.
  if (first.startsWith("_")) return true
  if (rest.length > 0) return false
  return /^\.(part-|checkpoint\.json|listed-|manifest\.json\.tmp)/.test(first) || first === "manifest.json"
    || isPartName(first)
}

/** Makes `directory` an empty staging directory: created, or emptied when it holds only an earlier staging. */
export const prepare = (
  directory: string,
  url: string
): Effect.Effect<string, BucketError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const failed = (detail: string) => new BucketError({ reason: "Io", url, detail })
    const io = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) =>
      Effect.mapError(effect, (e) => failed(`the staging directory ${directory} failed: ${e.message}`))
    if (!(yield* io(fs.exists(directory)))) {
      yield* io(fs.makeDirectory(directory, { recursive: true }))
      return directory
    }
    const info = yield* io(fs.stat(directory))
    if (info.type !== "Directory") return yield* failed(`the staging directory ${directory} is not a directory`)
    const top = yield* io(fs.readDirectory(directory))
    const foreign: Array<string> = []
    for (const name of top.sort()) {
      if (inDataset([name])) continue
      const entry = path.join(directory, name)
      const stat = yield* io(fs.stat(entry))
      if (stat.type === "Directory" && !name.startsWith(".")) {
        const inside = yield* io(fs.readDirectory(entry, { recursive: true }))
        const odd = inside.find((p) => !inDataset(p.split(path.sep)))
        if (odd === undefined) continue
        foreign.push(path.join(name, odd))
      } else {
        foreign.push(name)
      }
    }
    if (foreign.length > 0) {
      const more = foreign.length > 3 ? ` and ${foreign.length - 3} more` : ""
      return yield* failed(
        `the staging directory ${directory} holds files no staging leaves (${foreign.slice(0, 3).join(", ")}${more}): `
          + "give an empty or new directory"
      )
    }
    for (const name of top) yield* io(fs.remove(path.join(directory, name), { recursive: true }))
    return directory
  })
