/**
 * Brings a dataset directory back to the state of its checkpoint: a part
 * committed but not yet renamed is renamed (roll forward), parts the
 * checkpoint does not list and stale working files are removed, and
 * errors.ndjson is cut back to its committed length. The open part's journal
 * is cut when the part is opened.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Option } from "effect"
import { DatasetError } from "../../DatasetError.js"
import type { PartEncoder } from "../../PartEncoder.js"
import type { DatasetState } from "./checkpointFile.js"
import { fail, makeDirectories, sizeOf, syncDirectory } from "./durableFile.js"
import { checkpointName, errorsDirectory, errorsName, isWorkingFile, openJournalName, tempName } from "./layout.js"

/** `partsElsewhere`: the committed parts are kept by another (see `WriterOptions`): they are not looked for. */
export const recover = (
  dir: string,
  state: DatasetState,
  enc: PartEncoder,
  names: ReadonlyArray<string>,
  partsElsewhere: boolean
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const at = (name: string) => path.join(dir, name)
    const remove = (name: string) => fs.remove(at(name), { force: true }).pipe(Effect.mapError(fail(at(name))))
    const committed = new Set(state.parts.map((p) => p.name))
    let renamed = false
    for (const [index, p] of state.parts.entries()) {
      if (partsElsewhere) break
      const final = yield* sizeOf(at(p.name))
      if (Option.isSome(final) && final.value === p.bytes) continue
      const temp = at(tempName(index, enc.extension))
      const tempSize = yield* sizeOf(temp)
      if (Option.isSome(tempSize) && tempSize.value === p.bytes) {
        // Finished and committed, not yet renamed: roll forward.
        yield* fs.rename(temp, at(p.name)).pipe(Effect.mapError(fail(at(p.name))))
        renamed = true
        continue
      }
      const found = [
        Option.match(final, { onNone: () => "no such file", onSome: (n) => `${n} bytes` }),
        Option.match(tempSize, { onNone: () => "no temporary file", onSome: (n) => `a temporary file of ${n} bytes` })
      ]
      return yield* new DatasetError({
        reason: "Corrupt",
        path: at(p.name),
        detail: `the committed part ${p.name} (${p.rows} rows, ${p.bytes} bytes) is lost: found ${found.join(" and ")}; `
          + "remove the directory to export again"
      })
    }
    if (renamed) yield* syncDirectory(dir)
    const openJournal = openJournalName(enc, state.open.index)
    for (const n of names) {
      // A part renamed but never committed; temp parts and journals of other parts; torn or uncommitted temps.
      const stale = n.startsWith("part-") ? !committed.has(n) : isWorkingFile(n)
      if (stale && n !== openJournal && n !== checkpointName) yield* remove(n)
    }
    yield* makeDirectories(at(errorsDirectory))
    const errorsPath = at(errorsName)
    const errorsSize = yield* sizeOf(errorsPath)
    if (Option.isNone(errorsSize) && state.errors.bytes === 0) return yield* syncDirectory(dir)
    if (Option.isNone(errorsSize) || errorsSize.value < state.errors.bytes) {
      return yield* new DatasetError({
        reason: "Corrupt",
        path: errorsPath,
        detail: `errors.ndjson holds ${Option.getOrElse(errorsSize, () => 0)} bytes, fewer than the `
          + `${state.errors.bytes} the checkpoint committed: synced data was lost`
      })
    }
    if (errorsSize.value > state.errors.bytes) {
      yield* fs.truncate(errorsPath, state.errors.bytes).pipe(Effect.mapError(fail(errorsPath)))
    }
    yield* syncDirectory(dir)
  })
