/**
 * The open part of a dataset: its journal (the rows as NDJSON, a write-ahead
 * log that makes frequent commits cheap whatever the part format) and, for a
 * format whose part is not its journal, the part being built beside it.
 *
 * The part being built is only ever derived from the journal: it is rebuilt
 * from scratch on every open and named in no checkpoint until it is finished
 * and synced. So a resumed part is rebuilt in the background (the replay),
 * after `open` has returned: the replay reads the journal from its start, a
 * chunk at a time, and gives the rows to a new encoder; rows appended
 * meanwhile go to the journal only, and the replay reads them back from it
 * too. Once it has caught up with the journal, appends encode their rows
 * themselves. Only finishing the part waits for the replay. A kill during the
 * replay leaves the journal as committed, and the next open replays it again.
 */
import { FileSystem, Path } from "@effect/platform"
import { Cause, Deferred, Effect, ExecutionStrategy, Exit, Option, Scope } from "effect"
import { DatasetError } from "../../DatasetError.js"
import type { PartEncoder, PartWriter } from "../../PartEncoder.js"
import type { RowBatch } from "../../RowBatch.js"
import { fail, sizeOf } from "./durableFile.js"
import * as Journal from "./journal.js"
import { journalIsPart, openJournalName, tempName } from "./layout.js"

/** The journal bytes the replay reads at a time (about 5,000 rows): what it encodes before it yields. */
export const replayChunkBytes = 1 << 20

export interface OpenPart {
  readonly index: number
  readonly scope: Scope.CloseableScope
  readonly journal: FileSystem.File
  readonly journalPath: string
  readonly tempPath: string
  /** The part built beside the journal; none when the journal is the part. */
  readonly built: BuiltPart | undefined
}

export interface BuiltPart {
  /**
   * Takes `batch`, whose `bytes` of journal were just written: encoded now once the replay has caught up,
   * else left to the replay, which reads them back from the journal.
   */
  readonly append: (batch: RowBatch, bytes: number) => Effect.Effect<void, DatasetError>
  /** Whether the encoder has had every row of the journal: finishing the part would not wait. */
  readonly caughtUp: () => boolean
  /** The replay's failure, once it has failed: the part cannot be finished. */
  readonly failure: () => DatasetError | undefined
  /** Waits for the replay, then writes the trailer and syncs the file; returns its size. */
  readonly finish: Effect.Effect<number, DatasetError>
}

/**
 * Opens part `index` for appending, its journal cut to `journalBytes`; the part beside it is rebuilt from the
 * journal in the background. Its files live in a scope of their own, closed when the part rolls over or, at the
 * latest, with `outer`.
 */
export const open = (outer: Scope.Scope, dir: string, enc: PartEncoder, index: number, journalBytes: number) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
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
      if (journalIsPart(enc)) return { journal, built: undefined }
      const temp = yield* fs.open(tempPath, { flag: "w" }).pipe(Effect.mapError(fail(tempPath)))
      const writer = yield* enc.open
      // With the part's scope: a part closed unfinished (a failure, an interruption) releases its encoder too.
      if (writer.close !== undefined) yield* Effect.addFinalizer(() => writer.close!)
      const reader = journalBytes > 0
        ? yield* fs.open(journalPath, { flag: "r" }).pipe(Effect.mapError(fail(journalPath)))
        : undefined
      return { journal, built: yield* build(writer, temp, tempPath, reader, journalPath, journalBytes) }
    }).pipe(Scope.extend(scope), Effect.onError(() => Scope.close(scope, Exit.void)))
    const part: OpenPart = { index, scope, journalPath, tempPath, ...opened }
    return part
  })

/**
 * The part built by `writer` into `temp`: at once from appends when the journal is empty (no `reader`), else
 * from the replay of the journal's first `journalBytes` bytes and of whatever is appended before it catches up.
 * Forked into the current scope, so closing it stops the replay.
 */
const build = (
  writer: PartWriter,
  temp: FileSystem.File,
  tempPath: string,
  reader: FileSystem.File | undefined,
  journalPath: string,
  journalBytes: number
) =>
  Effect.gen(function*() {
    const writeTemp = (chunks: ReadonlyArray<Uint8Array>) =>
      Effect.forEach(chunks, (chunk) => temp.writeAll(chunk).pipe(Effect.mapError(fail(tempPath))), { discard: true })
    const encode = (batch: RowBatch) => Effect.flatMap(writer.write(batch), writeTemp)
    const caughtUp = yield* Deferred.make<void, DatasetError>()
    /** Journal bytes appended so far (the replay reads up to here); the encoder takes appends once it is live. */
    let known = journalBytes
    let live = reader === undefined
    let failure: DatasetError | undefined

    if (reader === undefined) {
      yield* Deferred.succeed(caughtUp, undefined)
    } else {
      let position = 0
      let size = replayChunkBytes
      // The decision to go live is taken in one synchronous step with the test that nothing is left to read, as
      // `append` takes its own with the count of what it appended: no batch is encoded twice or never.
      const goLive = Effect.sync(() => position === known ? (live = true) : false)
      const step = Effect.gen(function*() {
        const length = Math.min(size, known - position)
        const bytes = new Uint8Array(length)
        let filled = 0
        while (filled < length) {
          const n = Number(yield* reader.read(bytes.subarray(filled)).pipe(Effect.mapError(fail(journalPath))))
          if (n === 0) {
            return yield* new DatasetError({
              reason: "Corrupt",
              path: journalPath,
              detail: `the journal ended at ${position + filled} bytes, before the ${known} it was counted to hold`
            })
          }
          filled += n
        }
        // Whole lines only: the rest of a line cut by the chunk is read again with the next one.
        const end = position + length === known ? length : bytes.lastIndexOf(0x0a) + 1
        if (end < length) yield* reader.seek(position + end, "start")
        if (end === 0) {
          size *= 2 // a line longer than a chunk
          return
        }
        const batch = yield* Effect.try({
          try: () => Journal.decode(bytes, 0, end),
          catch: (e) =>
            new DatasetError({ reason: "Corrupt", path: journalPath, detail: `a committed row is unreadable: ${e}` })
        })
        position += end
        yield* encode(batch)
        yield* Effect.yieldNow()
      })
      const replay = Effect.gen(function*() {
        while (!(yield* goLive)) yield* step
      }).pipe(Effect.withSpan("Dataset.replay", { attributes: { journal: journalPath, bytes: journalBytes } }))
      yield* replay.pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) ? Deferred.succeed(caughtUp, undefined) : Effect.suspend(() => {
            failure = Option.getOrElse(
              Cause.failureOption(exit.cause),
              () => new DatasetError({ reason: "Io", path: journalPath, detail: "the replay of the journal stopped" })
            )
            return Deferred.failCause(caughtUp, exit.cause)
          })
        ),
        Effect.forkScoped
      )
    }

    return {
      append: (batch, bytes) =>
        Effect.suspend(() => {
          if (live) return encode(batch)
          known += bytes
          return Effect.void
        }),
      caughtUp: () => live,
      failure: () => failure,
      finish: Effect.gen(function*() {
        yield* Deferred.await(caughtUp)
        yield* Effect.flatMap(writer.finish, writeTemp)
        yield* temp.sync.pipe(Effect.mapError(fail(tempPath)))
        return Number((yield* temp.stat.pipe(Effect.mapError(fail(tempPath)))).size)
      })
    } satisfies BuiltPart
  })
