/**
 * The writer of a dataset directory (see `Dataset.ts` for the commit order).
 *
 * A writer serves one caller at a time (its operations are serialized); the
 * rebuild of a resumed open part runs beside them (`part.ts`). After an
 * operation fails or is interrupted, or that rebuild fails, it refuses every
 * further one: its files may hold bytes past what it counted, and only
 * reopening (which cuts them back to the checkpoint) makes the directory
 * consistent again.
 */
import { FileSystem, Path } from "@effect/platform"
import { Clock, Effect, Exit, Option, Scope } from "effect"
import { columns } from "../../AssociationRow.js"
import { DatasetError } from "../../DatasetError.js"
import * as ErrorRow from "../../ErrorRow.js"
import type { Finished } from "../../RowSink.js"
import * as Manifest from "../../Manifest.js"
import * as NdjsonRows from "../../NdjsonRows.js"
import type { PartEncoder } from "../../PartEncoder.js"
import type { RowBatch } from "../../RowBatch.js"
import * as CheckpointFile from "./checkpointFile.js"
import { fail, makeDirectories, syncDirectory, writeAtomically } from "./durableFile.js"
import {
  checkpointName,
  errorsDirectory,
  errorsName,
  idJournalName,
  isWorkingFile,
  journalName,
  manifestName,
  partName,
  successName,
  tempName
} from "./layout.js"
import * as ManifestFile from "./manifestFile.js"
import * as Part from "./part.js"
import { recover } from "./recover.js"

export const toolVersion = "0.1.0"

export interface WriterOptions {
  readonly directory: string
  readonly encoder: PartEncoder
  readonly partMaxRows: number
  readonly partMaxBytes: number
  /**
   * The committed parts are kept by another, who takes each away once a commit has named it (a bucket the
   * directory is the staging of): reopening does not look for them here. Default false.
   */
  readonly partsElsewhere?: boolean
}

export interface Writer {
  readonly append: (rows: RowBatch, errors: ReadonlyArray<ErrorRow.ErrorRow>) => Effect.Effect<void, DatasetError>
  /** Makes what was appended durable, then records `payload` (encoded) in the checkpoint. */
  readonly commit: (payload: unknown) => Effect.Effect<void, DatasetError>
  /**
   * Commits the last part, then writes manifest.json, then runs `beforeSuccess` (files of the caller's, written
   * into the directory before it is sealed), then writes `_SUCCESS`.
   */
  readonly finish: <E = never>(
    payload: unknown,
    facts: Finished,
    beforeSuccess?: (manifest: Manifest.Manifest) => Effect.Effect<void, E>
  ) => Effect.Effect<Manifest.Manifest, DatasetError | E>
  readonly state: Effect.Effect<CheckpointFile.DatasetState>
}

export interface Opened {
  readonly writer: Writer
  /** The payload of the last checkpoint, encoded, when this open resumes an export. */
  readonly resumed: Option.Option<unknown>
  /** The manifest of a finished export (`_SUCCESS` beside a checkpoint): the writer must not be used. */
  readonly finished: Option.Option<Manifest.Manifest>
}

const encoder = new TextEncoder()

const emptyState = (enc: PartEncoder): CheckpointFile.DatasetState => ({
  format: enc.format,
  extension: enc.extension,
  parts: [],
  open: { index: 0, rows: 0, journalBytes: 0 },
  errors: { rows: 0, bytes: 0 }
})

const brokenDetail = "an earlier append or commit failed or was interrupted, so this writer takes no more rows. "
  + "What was committed is safe: open the directory again to resume from the last commit"

/**
 * Opens a dataset directory: a new export, or the resumption of the one its checkpoint describes. A finished
 * export is reported with its manifest and left as it is. The writer's files stay open until the scope closes;
 * closing it without `finish` is a crash the next `open` recovers from.
 */
export const open = (
  options: WriterOptions
): Effect.Effect<Opened, DatasetError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const outer = yield* Effect.scope
    const dir = options.directory
    const enc = options.encoder
    const at = (name: string) => path.join(dir, name)
    const exists = (name: string) => fs.exists(at(name)).pipe(Effect.mapError(fail(at(name))))

    // Finished: report it without touching anything. `_SUCCESS` alone (Spark's, say) is another tool's output.
    if ((yield* exists(successName)) && (yield* exists(checkpointName))) {
      const last = yield* CheckpointFile.read(dir)
      const manifest = yield* ManifestFile.read(dir)
      const state = Option.match(last, { onNone: () => emptyState(enc), onSome: (c) => c.dataset })
      if (state.format !== enc.format || state.extension !== enc.extension) return yield* mismatch(dir, state, enc)
      return {
        writer: completed(dir, state),
        resumed: Option.map(last, (c) => c.payload),
        finished: Option.some(manifest)
      }
    }

    yield* makeDirectories(dir)
    const checkpoint = yield* CheckpointFile.read(dir)
    const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(fail(dir)))
    const remove = (name: string) => fs.remove(at(name), { force: true }).pipe(Effect.mapError(fail(at(name))))
    /** A file an export's run leaves in its directory before its first checkpoint. */
    const isLeftover = (name: string) =>
      Effect.gen(function*() {
        if (isWorkingFile(name) || name === idJournalName) return true
        if (name !== errorsDirectory) return false
        const info = yield* fs.stat(at(name)).pipe(Effect.mapError(fail(at(name))))
        if (info.type !== "Directory") return false
        const inside = yield* fs.readDirectory(at(name)).pipe(Effect.mapError(fail(at(name))))
        return inside.every((n) => `${errorsDirectory}/${n}` === errorsName)
      })

    let state: CheckpointFile.DatasetState
    if (Option.isNone(checkpoint)) {
      // Without a checkpoint the directory holds no export: it may hold only what a run of one leaves before its
      // first checkpoint, none of which a reader sees. Anything else is another's, and a reader's glob would read it.
      const foreign: Array<string> = []
      for (const n of [...names].sort()) {
        if (!(yield* isLeftover(n))) foreign.push(n)
      }
      if (foreign.length > 0) {
        const more = foreign.length > 3 ? ` and ${foreign.length - 3} more` : ""
        return yield* new DatasetError({ reason: "NotEmpty", path: dir, detail: foreign.slice(0, 3).join(", ") + more })
      }
      // Leftovers of a run that stopped before its first checkpoint hold nothing committed.
      for (const n of names) if (isWorkingFile(n)) yield* remove(n)
      state = emptyState(enc)
      yield* makeDirectories(at(errorsDirectory))
      yield* fs.writeFile(at(errorsName), new Uint8Array()).pipe(Effect.mapError(fail(at(errorsName))))
    } else {
      state = checkpoint.value.dataset
      if (state.format !== enc.format || state.extension !== enc.extension) return yield* mismatch(dir, state, enc)
      yield* recover(dir, state, enc, names, options.partsElsewhere === true)
    }

    // The open part: its journal, appended to; its temp file, rebuilt from the journal unless it is the journal.
    const errorsFile = yield* fs.open(at(errorsName), { flag: "a" }).pipe(Effect.mapError(fail(at(errorsName))))
    /** The open part as the open found it: a resumed one is rebuilt from its journal in the background. */
    const resumedPart = state.open
    let part = yield* Part.open(outer, dir, enc, resumedPart.index, resumedPart.journalBytes)
    let parts = [...state.parts]
    let rows = state.open.rows
    let journalBytes = state.open.journalBytes
    let errorRows = state.errors.rows
    let errorBytes = state.errors.bytes
    /** Set once the writer takes no more operations: after a failure or an interruption, or after `finish`. */
    let closed: DatasetError | undefined
    const lock = yield* Effect.makeSemaphore(1)
    // One buffer for every append's journal bytes: appends run one at a time, under `lock`, and write their
    // bytes before they return. An interrupted append may leave its write running in the background, still
    // reading the buffer; that is safe only because `guarded` closes the writer after any failure or
    // interruption, so no later append encodes into the buffer. Keep that if you change `guarded`.
    const encodeJournal = NdjsonRows.encoder()

    const current = (): CheckpointFile.DatasetState => ({
      format: enc.format,
      extension: enc.extension,
      parts,
      open: { index: part.index, rows, journalBytes },
      errors: { rows: errorRows, bytes: errorBytes }
    })

    const append = (batch: RowBatch, errors: ReadonlyArray<ErrorRow.ErrorRow>) =>
      Effect.gen(function*() {
        if (batch.length > 0) {
          const bytes = encodeJournal(batch)
          yield* part.journal.writeAll(bytes).pipe(Effect.mapError(fail(part.journalPath)))
          if (part.built !== undefined) yield* part.built.append(batch, bytes.length)
          journalBytes += bytes.length
          rows += batch.length
        }
        if (errors.length > 0) {
          const bytes = encoder.encode(ErrorRow.encodeNdjson(errors))
          yield* errorsFile.writeAll(bytes).pipe(Effect.mapError(fail(at(errorsName))))
          errorBytes += bytes.length
          errorRows += errors.length
        }
      })

    const commitWith = (payload: unknown, final: boolean) =>
      Effect.gen(function*() {
        // 1. What was appended is durable.
        yield* part.journal.sync.pipe(Effect.mapError(fail(part.journalPath)))
        yield* errorsFile.sync.pipe(Effect.mapError(fail(at(errorsName))))
        // 2. A part due to roll over is finished and durable under its temp name. While the resumed part is still
        // being rebuilt from its journal, only the last commit waits for that, or one that finds a part's worth of
        // rows appended since the open: the others leave the roll to a later commit, so no commit after an open
        // waits for the rebuild of what the open found. An export with no rows ends with one part, empty.
        const due = rows > 0 && (rows >= options.partMaxRows || journalBytes >= options.partMaxBytes)
        const overdue = rows - resumedPart.rows >= options.partMaxRows
          || journalBytes - resumedPart.journalBytes >= options.partMaxBytes
        const roll = final
          ? rows > 0 || parts.length === 0
          : due && (part.built === undefined || part.built.caughtUp() || overdue)
        let finished: Manifest.PartInfo | undefined
        if (roll) {
          const bytes = part.built === undefined ? journalBytes : yield* part.built.finish
          finished = { name: partName(part.index, enc.extension), rows, bytes }
        }
        // 3. The checkpoint, atomically: from here on the finished part is committed.
        const next: CheckpointFile.DatasetState = finished === undefined ? current() : {
          ...current(),
          parts: [...parts, finished],
          open: { index: part.index + 1, rows: 0, journalBytes: 0 }
        }
        yield* writeAtomically(dir, checkpointName, CheckpointFile.encode({ version: 1, dataset: next, payload }))
        // 4. Roll forward: the part into place, then its journal away, then the next part.
        if (finished !== undefined) {
          const done = part
          yield* Scope.close(done.scope, Exit.void)
          yield* fs.rename(done.tempPath, at(finished.name)).pipe(Effect.mapError(fail(at(finished.name))))
          yield* syncDirectory(dir)
          if (done.journalPath !== done.tempPath) yield* remove(journalName(done.index))
          parts = [...parts, finished]
          rows = 0
          journalBytes = 0
          part = yield* Part.open(outer, dir, enc, done.index + 1, 0)
        }
      }).pipe(Effect.withSpan("Dataset.commit", { attributes: { directory: dir, final } }))

    const finish = <E>(
      payload: unknown,
      facts: Finished,
      beforeSuccess?: (manifest: Manifest.Manifest) => Effect.Effect<void, E>
    ) =>
      Effect.gen(function*() {
        yield* commitWith(payload, true)
        const now = yield* Clock.currentTimeMillis
        const manifest: Manifest.Manifest = {
          version: 2,
          tool: { name: "assoc-etl", version: toolVersion },
          format: enc.format,
          schema: columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
          parts,
          totals: {
            rows: parts.reduce((n, p) => n + p.rows, 0),
            bytes: parts.reduce((n, p) => n + p.bytes, 0),
            parts: parts.length
          },
          errors: { file: errorsName, rows: errorRows },
          startedAt: new Date(facts.startedAt).toISOString(),
          finishedAt: new Date(now).toISOString(),
          ...(facts.ids === undefined ? {} : { ids: facts.ids }),
          export: {
            from: facts.pair.fromType,
            to: facts.pair.toType,
            source: facts.source,
            ...(facts.origin === undefined ? {} : { origin: facts.origin })
          }
        }
        // The part opened after the last roll is empty: its files go.
        yield* Scope.close(part.scope, Exit.void)
        yield* remove(journalName(part.index))
        yield* remove(tempName(part.index, enc.extension))
        yield* writeAtomically(dir, manifestName, encoder.encode(Manifest.encodeJson(manifest)))
        if (beforeSuccess !== undefined) yield* beforeSuccess(manifest)
        yield* writeAtomically(dir, successName, new Uint8Array())
        closed = new DatasetError({ reason: "Finished", path: dir, detail: "" })
        return manifest
      })

    // One operation at a time; the first that fails or is interrupted closes the writer (see the module's comment).
    const guarded = <A, E = never>(effect: Effect.Effect<A, DatasetError | E, FileSystem.FileSystem | Path.Path>) =>
      Effect.suspend(() => {
        const refused = closed ?? part.built?.failure()
        return refused === undefined ? effect : Effect.fail(refused)
      }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit) && closed === undefined) {
              closed = new DatasetError({ reason: "Io", path: dir, detail: brokenDetail })
            }
          })
        ),
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.provideService(Path.Path, path),
        lock.withPermits(1)
      )
    const writer: Writer = {
      append: (batch, errors) => guarded(append(batch, errors)),
      commit: (payload) => guarded(commitWith(payload, false)),
      finish: (payload, facts, beforeSuccess) => guarded(finish(payload, facts, beforeSuccess)),
      state: Effect.sync(current)
    }
    return { writer, resumed: Option.map(checkpoint, (c) => c.payload), finished: Option.none() }
  })

/** The directory holds an export in another format than `enc`'s. */
const mismatch = (dir: string, state: CheckpointFile.DatasetState, enc: PartEncoder) =>
  new DatasetError({ reason: "Mismatch", path: dir, detail: `it holds ${state.extension} parts, this run asks for ${enc.extension}` })

/** The writer of a finished export: it reports the last state and refuses to add anything. */
const completed = (dir: string, state: CheckpointFile.DatasetState): Writer => {
  const refuse = Effect.fail(new DatasetError({ reason: "Finished", path: dir, detail: "" }))
  return { append: () => refuse, commit: () => refuse, finish: () => refuse, state: Effect.succeed(state) }
}
