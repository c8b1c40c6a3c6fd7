/**
 * The open part of a dataset: its journal (the rows as NDJSON, a write-ahead
 * log that makes frequent commits cheap whatever the part format) and, for a
 * format whose part is not its journal, the part being built beside it.
 */
import { FileSystem, Path } from "@effect/platform"
import { Chunk, Effect, ExecutionStrategy, Exit, Option, Scope, Stream } from "effect"
import { DatasetError } from "../../DatasetError.js"
import * as NdjsonRows from "../../NdjsonRows.js"
import type { PartEncoder, PartWriter } from "../../PartEncoder.js"
import * as RowBatch from "../../RowBatch.js"
import { fail, sizeOf } from "./durableFile.js"
import { journalIsPart, openJournalName, tempName } from "./layout.js"

export interface OpenPart {
  readonly index: number
  readonly scope: Scope.CloseableScope
  readonly journal: FileSystem.File
  readonly journalPath: string
  readonly temp: FileSystem.File | undefined
  readonly tempPath: string
  readonly writer: PartWriter | undefined
}

/**
 * Opens part `index` for appending, its journal cut to `journalBytes`, and rebuilds its temp file from the journal.
 * Its files live in a scope of their own, closed when the part rolls over or, at the latest, with `outer`.
 */
export const open = (outer: Scope.Scope, dir: string, enc: PartEncoder, index: number, journalBytes: number) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
    const sameFile = journalIsPart(enc)
    const journalPath = path.join(dir, openJournalName(enc, index))
    const tempPath = path.join(dir, tempName(index, enc.extension))
    const opened = yield* Effect.gen(function*() {
      const existing = yield* sizeOf(journalPath)
      if (Option.isNone(existing)) {
        if (journalBytes > 0) {
          return yield* new DatasetError({
            reason: "Corrupt",
            path: journalPath,
            detail: `the journal of the open part is missing but the checkpoint says it held ${journalBytes} bytes`
          })
        }
      } else if (existing.value < journalBytes) {
        return yield* new DatasetError({
          reason: "Corrupt",
          path: journalPath,
          detail: `the journal holds ${existing.value} bytes, fewer than the ${journalBytes} the checkpoint committed: `
            + "synced data was lost"
        })
      } else if (existing.value > journalBytes) {
        // Rows appended after the last commit: not committed, so never written to a part.
        yield* fs.truncate(journalPath, journalBytes).pipe(Effect.mapError(fail(journalPath)))
      }
      const journal = yield* fs.open(journalPath, { flag: "a" }).pipe(Effect.mapError(fail(journalPath)))
      if (sameFile) return { journal, temp: undefined, writer: undefined }
      const temp = yield* fs.open(tempPath, { flag: "w" }).pipe(Effect.mapError(fail(tempPath)))
      const writer = yield* enc.open
      if (journalBytes > 0) {
        yield* fs.stream(journalPath).pipe(
          Stream.mapError(fail(journalPath)),
          Stream.decodeText(),
          Stream.splitLines,
          Stream.grouped(4096),
          Stream.runForEach((lines) =>
            Effect.gen(function*() {
              const decoded = yield* Effect.try({
                try: () => NdjsonRows.decode(Chunk.join(lines, "\n")),
                catch: (e) =>
                  new DatasetError({ reason: "Corrupt", path: journalPath, detail: `a committed row is unreadable: ${e}` })
              })
              for (const chunk of yield* writer.write(RowBatch.fromRows(decoded))) {
                yield* temp.writeAll(chunk).pipe(Effect.mapError(fail(tempPath)))
              }
            })
          )
        )
      }
      return { journal, temp, writer }
    }).pipe(Scope.extend(scope), Effect.onError(() => Scope.close(scope, Exit.void)))
    return { index, scope, journalPath, tempPath, ...opened } satisfies OpenPart
  })
