/**
 * The changes directory, with an export's guarantees: each part is written under a temporary name and renamed
 * into place once whole and synced; there is at least one part, empty when nothing changed; `manifest.json` is
 * written atomically, then `_SUCCESS`. A crash leaves only files this module recognises (the marker first), which
 * the next run removes before it diffs again; a finished directory is reported and left as it is.
 */
import type { Manifest } from "@assoc-etl/core"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Exit, Scope } from "effect"
import * as ChangesManifest from "../ChangesManifest.js"
import { DiffError } from "../DiffError.js"
import { atomicTempName, fail, makeDirectories, syncDirectory, writeAtomically } from "./durableFile.js"
import { isOurs, manifestName, markerName, partName, spillName, successName, tempName } from "./layout.js"
import type { Columns, PartEncoding } from "./partEncoding.js"

export type Opened =
  | { readonly _tag: "Finished"; readonly manifest: ChangesManifest.ChangesManifest }
  | { readonly _tag: "Ready" }

const utf8 = new TextEncoder()

/** Whether a finished diff compared these exports: the same start and row count each, wherever they are now. */
const sameSides = (
  manifest: ChangesManifest.ChangesManifest,
  sides: { readonly old: ChangesManifest.Side; readonly new: ChangesManifest.Side }
) =>
  manifest.old.startedAt === sides.old.startedAt && manifest.old.rows === sides.old.rows
  && manifest.new.startedAt === sides.new.startedAt && manifest.new.rows === sides.new.rows

/**
 * Makes `directory` ready for a diff of `sides`: made if missing; reported as it is when it holds the finished
 * diff of these exports; cleaned of what a crashed diff left; refused, untouched, if it holds anything else.
 */
export const open = (
  directory: string,
  sides: { readonly old: ChangesManifest.Side; readonly new: ChangesManifest.Side }
): Effect.Effect<Opened, DiffError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const refuse = (detail: string) =>
      new DiffError({ reason: "OutNotUsable", argument: "--out", path: directory, detail })
    yield* makeDirectories(directory)
    const found = yield* fs.readDirectory(directory).pipe(Effect.mapError(fail("--out", directory)))
    // The marker's temp alone is what a run leaves that stopped while it wrote the marker: as good as empty (the
    // marker's write replaces it).
    const names = found.filter((n) => n !== atomicTempName(markerName))
    if (names.length === 0) {
      yield* writeAtomically(directory, markerName, utf8.encode("a diff of assoc-etl writes this directory\n"))
      return { _tag: "Ready" } as const
    }
    const foreign = names.filter((n) => !isOurs(n)).sort()
    if (!names.includes(markerName) || foreign.length > 0) {
      const shown = (foreign.length > 0 ? foreign : [...names].sort()).slice(0, 3).join(", ")
      const more = Math.max(foreign.length, names.length) > 3 ? ", ..." : ""
      return yield* refuse(`holds files that are not a diff's (${shown}${more}): choose an empty or new directory`)
    }
    if (names.includes(successName)) {
      const text = yield* fs.readFileString(path.join(directory, manifestName)).pipe(
        Effect.mapError(() => refuse(`has ${successName} but no readable ${manifestName}`))
      )
      const manifest = yield* ChangesManifest.decodeJson(text).pipe(
        Effect.mapError((e) => refuse(`has a ${manifestName} that is not a diff's (${e.message})`))
      )
      if (!sameSides(manifest, sides)) {
        return yield* refuse(
          `holds the finished diff of other exports (OLD ${manifest.old.path} started ${manifest.old.startedAt}, NEW `
            + `${manifest.new.path} started ${manifest.new.startedAt}): remove it or choose another --out`
        )
      }
      return { _tag: "Finished", manifest } as const
    }
    // A diff that stopped before `_SUCCESS`: its files hold nothing finished, and it runs again from the start.
    for (const name of found) {
      if (name !== markerName) {
        yield* fs.remove(path.join(directory, name), { recursive: true }).pipe(
          Effect.mapError(fail("--out", path.join(directory, name)))
        )
      }
    }
    yield* syncDirectory(directory)
    return { _tag: "Ready" } as const
  })

export interface Parts {
  /** Appends rows `[0, rows)` of `columns`, rolling to a new part at `partMaxRows`. */
  readonly write: (columns: Columns, rows: number) => Effect.Effect<void, DiffError>
  /** Finishes the last part (or writes the one empty part) and returns them all. */
  readonly finish: Effect.Effect<ReadonlyArray<Manifest.PartInfo>, DiffError>
}

interface OpenPart {
  readonly index: number
  readonly scope: Scope.CloseableScope
  readonly file: FileSystem.File
  readonly temp: string
  rows: number
  bytes: number
  readonly encoder: ReturnType<PartEncoding["open"]>
}

/** The parts of `directory`, written one after the other. */
export const parts = (
  directory: string,
  encoding: PartEncoding,
  partMaxRows: number
): Effect.Effect<Parts, never, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const done: Array<Manifest.PartInfo> = []
    let current: OpenPart | undefined

    const openPart = Effect.gen(function*() {
      const index = done.length
      const temp = path.join(directory, tempName(index, encoding.extension))
      const scope = yield* Scope.make()
      const file = yield* Scope.extend(fs.open(temp, { flag: "w" }), scope).pipe(
        Effect.tapError(() => Scope.close(scope, Exit.void)),
        Effect.mapError(fail("--out", temp))
      )
      return { index, scope, file, temp, rows: 0, bytes: 0, encoder: encoding.open() } satisfies OpenPart
    })

    const append = (part: OpenPart, chunks: ReadonlyArray<Uint8Array>) =>
      Effect.forEach(chunks, (bytes) => {
        part.bytes += bytes.length
        return part.file.writeAll(bytes)
      }, { discard: true }).pipe(Effect.mapError(fail("--out", part.temp)))

    /** The part whole and synced under its temp name, then renamed into place. */
    const close = (part: OpenPart) =>
      Effect.gen(function*() {
        yield* append(part, part.encoder.finish())
        yield* part.file.sync.pipe(Effect.mapError(fail("--out", part.temp)))
        yield* Scope.close(part.scope, Exit.void)
        const name = partName(part.index, encoding.extension)
        yield* fs.rename(part.temp, path.join(directory, name)).pipe(Effect.mapError(fail("--out", part.temp)))
        yield* syncDirectory(directory)
        done.push({ name, rows: part.rows, bytes: part.bytes })
      })

    const provide = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
      effect.pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.provideService(Path.Path, path))

    const write = (columns: Columns, rows: number) =>
      Effect.gen(function*() {
        let start = 0
        while (start < rows) {
          const part = current ?? (current = yield* openPart)
          const end = Math.min(rows, start + partMaxRows - part.rows)
          yield* append(part, part.encoder.write(columns, start, end))
          part.rows += end - start
          start = end
          if (part.rows >= partMaxRows) {
            current = undefined
            yield* close(part)
          }
        }
      })

    const finish = Effect.gen(function*() {
      if (current !== undefined) {
        const part = current
        current = undefined
        yield* close(part)
      } else if (done.length === 0) {
        // Nothing changed: one empty part all the same, so that every reader's glob finds a file with the schema.
        yield* close(yield* openPart)
      }
      return [...done]
    })

    // A part left open when the run fails or is interrupted: its file is closed; the temp file stays, a leftover
    // the next run removes.
    yield* Effect.addFinalizer(() => current === undefined ? Effect.void : Scope.close(current.scope, Exit.void))
    return { write: (columns, rows) => provide(write(columns, rows)), finish: provide(finish) }
  })

/** Writes the manifest, then `_SUCCESS`: the diff is finished. DuckDB's spill directory goes first. */
export const finish = (directory: string, manifest: ChangesManifest.ChangesManifest) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const spill = path.join(directory, spillName)
    yield* fs.remove(spill, { recursive: true, force: true }).pipe(Effect.mapError(fail("--out", spill)))
    yield* writeAtomically(directory, manifestName, utf8.encode(ChangesManifest.encodeJson(manifest)))
    yield* writeAtomically(directory, successName, new Uint8Array())
  })
