/**
 * `export --diff-against OLD`: each dataset's changes since an earlier snapshot of it, written beside its parts as
 * `_changes/` before `_SUCCESS` (`assoc-etl diff`'s output, by `Diff.run`), and said in the run's summary.
 */
import { Dataset } from "@assoc-etl/core"
import { ChangesManifest, Diff, DiffError } from "@assoc-etl/diff"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Option } from "effect"
import { InvalidArgument } from "./CliError.js"
import type { Settings, Target } from "./ExportSources.js"

/**
 * `--diff-against OLD`: the earlier snapshot of each target (OLD itself for one pair; OLD/<from>-<to> under a
 * job's root), each a finished export of the same pair: refused before anything is sent otherwise (exit 2).
 */
export const bases = (settings: Settings, targets: ReadonlyArray<Target>) =>
  Effect.gen(function*() {
    if (Option.isNone(settings.diffAgainst)) return targets.map(() => undefined)
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const value = settings.diffAgainst.value
    const bad = (detail: string) => new InvalidArgument({ flag: "--diff-against", detail })
    return yield* Effect.forEach(targets, (target) =>
      Effect.gen(function*() {
        const old = settings.layout === "single" ? value : path.join(value, target.name)
        const manifest = yield* Dataset.readManifest(old).pipe(Effect.mapError((e) => bad(e.message)))
        const sealed = yield* fs.exists(path.join(old, Dataset.successName)).pipe(Effect.orElseSucceed(() => false))
        if (!sealed) return yield* bad(`${old} is not a finished export (no ${Dataset.successName})`)
        const pair = `${manifest.export.from} → ${manifest.export.to}`
        if (manifest.export.from !== target.pair.fromType || manifest.export.to !== target.pair.toType) {
          return yield* bad(`${old} is an export of ${pair}, not of ${target.pair.fromType} → ${target.pair.toType}`)
        }
        return old
      }))
  })

/** The directory of an export's changes since `--diff-against`. */
const changesName = "_changes"

/**
 * Writes `directory/_changes/`: the rows of `directory` not in `old` (insert) and of `old` not in it (delete). The
 * changes' manifest names each side by its location (`named`: an s3:// URL for a bucket's staging or download).
 */
export const write = (old: string, directory: string, named: (local: string) => string) =>
  Effect.flatMap(Path.Path, (path) =>
    Diff.run({
      old,
      new: directory,
      out: path.join(directory, changesName),
      acceptUnsealedNew: true,
      locations: {
        ...(named(old) === old ? {} : { old: named(old) }),
        ...(named(directory) === directory ? {} : { new: named(directory) })
      }
    }).pipe(
      Effect.mapError((e) =>
        DiffError.isBadInput(e) ? new InvalidArgument({ flag: "--diff-against", detail: e.message }) : e
      ),
      Effect.asVoid
    ))

/** Says what `_changes/` holds, from its manifest, naming OLD and the changes by their locations. */
export const report = (old: string, directory: string, named: (local: string) => string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = path.join(directory, changesName)
    const text = yield* fs.readFileString(path.join(dir, "manifest.json"))
    const manifest = yield* ChangesManifest.decodeJson(text)
    yield* Console.error(
      `changes since ${named(old)}: ${manifest.inserts} inserted, ${manifest.deletes} deleted rows in ${named(dir)}`
    )
  }).pipe(Effect.orElse(() => Effect.void))
