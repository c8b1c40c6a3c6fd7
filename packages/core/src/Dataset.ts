/**
 * The dataset directory: parts that are whole when they exist, errors.ndjson,
 * manifest.json and `_SUCCESS`, written so that an export can stop at any
 * moment and resume.
 *
 * Readers see `part-NNNNN<ext>`, `_errors/errors.ndjson`, `manifest.json`, `_SUCCESS`.
 * Working files start with a dot, so Spark, Hadoop and DuckDB globs skip them:
 * `.part-NNNNN.journal` (the rows of the open part as NDJSON: a write-ahead
 * log that makes frequent commits cheap whatever the part format),
 * `.part-NNNNN<ext>.tmp` (the part being built; for plain NDJSON the journal
 * is the part, written once), `.checkpoint.json`.
 *
 * The checkpoint is the commit record. `commit` syncs the journal and
 * errors.ndjson, finishes and syncs the part if it is due to roll over, then
 * writes the checkpoint (temp, sync, rename, sync the directory), and only
 * then renames the finished part into place, syncs the directory and deletes
 * the part's journal. A part is committed once a checkpoint lists it, even
 * before its rename: reopening completes the rename (roll forward), cuts the
 * journal and errors.ndjson back to their committed length, removes every part
 * the checkpoint does not list, and rebuilds the open part from its journal.
 *
 * A writer serves one caller at a time (its operations are serialized). After
 * an operation fails or is interrupted it refuses every further one: its files
 * may hold bytes past what it counted, and only reopening (which cuts them
 * back to the checkpoint) makes the directory consistent again.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Effect, ExecutionStrategy, Exit, Option, Schema, Scope, Stream } from "effect"
import * as AssociationRow from "./AssociationRow.js"
import type { ErrorRow } from "./ErrorRow.js"
import type { PartEncoder, PartWriter } from "./PartEncoder.js"

export const toolVersion = "0.1.0"

export class DatasetError extends Schema.TaggedError<DatasetError>()("DatasetError", {
  reason: Schema.Literal("Io", "NoSpace", "Corrupt", "NotEmpty"),
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "NoSpace":
        return `no space left on the device while writing ${this.path}. What was committed is safe: free some space `
          + "and run the same command again to resume."
      case "NotEmpty":
        return `${this.path} holds files of another export (${this.detail}) and no checkpoint of one: `
          + "choose an empty --out."
      case "Corrupt":
        return `${this.path}: ${this.detail}`
      case "Io":
        return `cannot write ${this.path}: ${this.detail}`
    }
  }
}

export const PartInfo = Schema.Struct({ name: Schema.String, rows: Schema.Int, bytes: Schema.Int })
export type PartInfo = typeof PartInfo.Type

export const DatasetState = Schema.Struct({
  format: Schema.String,
  extension: Schema.String,
  parts: Schema.Array(PartInfo),
  open: Schema.Struct({ index: Schema.Int, rows: Schema.Int, journalBytes: Schema.Int }),
  errors: Schema.Struct({ rows: Schema.Int, bytes: Schema.Int })
})
export type DatasetState = typeof DatasetState.Type

export const CheckpointFile = Schema.Struct({
  version: Schema.Literal(1),
  dataset: DatasetState,
  payload: Schema.Unknown
})
export type CheckpointFile = typeof CheckpointFile.Type

export interface Manifest {
  readonly version: 1
  readonly tool: { readonly name: "assoc-etl"; readonly version: string }
  readonly format: string
  readonly schema: ReadonlyArray<{ readonly name: string; readonly type: string; readonly nullable: boolean }>
  readonly parts: ReadonlyArray<PartInfo>
  readonly totals: { readonly rows: number; readonly bytes: number; readonly parts: number }
  readonly errors: { readonly file: typeof errorsName; readonly rows: number }
  readonly startedAt: string
  readonly finishedAt: string
  readonly [extra: string]: unknown
}

export interface DatasetOptions {
  readonly directory: string
  readonly encoder: PartEncoder
  /** Rows in a part before it rolls over (at the next commit). Default 1,000,000. */
  readonly partMaxRows?: number
  /** Bytes of journal (NDJSON) in a part before it rolls over. Default 256 MiB. */
  readonly partMaxBytes?: number
}

export interface DatasetWriter {
  /** Appends one unit of work (one answer's rows and refused inputs); never split across parts. */
  readonly append: (
    rows: AssociationRow.Rows | ReadonlyArray<AssociationRow.AssociationRow>,
    errors: ReadonlyArray<ErrorRow>
  ) => Effect.Effect<void, DatasetError>
  /** Makes what was appended durable, then records `payload` (the caller's progress) in the checkpoint. */
  readonly commit: (payload: unknown) => Effect.Effect<void, DatasetError>
  /** Commits the last part, then writes manifest.json and `_SUCCESS`. */
  readonly finish: (payload: unknown, manifestExtra: Record<string, unknown>) => Effect.Effect<Manifest, DatasetError>
  readonly state: Effect.Effect<DatasetState>
}

export interface Opened {
  readonly writer: DatasetWriter
  /** The payload of the last checkpoint, when this open resumes an export. */
  readonly resumed: Option.Option<unknown>
  /** `_SUCCESS` is present: the export is finished and the writer must not be used. */
  readonly complete: boolean
}

export const checkpointName = ".checkpoint.json"
export const successName = "_SUCCESS"
export const manifestName = "manifest.json"
/**
 * In a folder of its own: at the top it would match `DIR/*.ndjson`, the glob
 * that reads the parts, and Spark reads every file of DIR not starting with
 * `_` or `.`.
 */
export const errorsDirectory = "_errors"
export const errorsName = "_errors/errors.ndjson"

export const partName = (index: number, extension: string) => `part-${String(index).padStart(5, "0")}${extension}`
const journalName = (index: number) => `.part-${String(index).padStart(5, "0")}.journal`
const tempName = (index: number, extension: string) => `.${partName(index, extension)}.tmp`

/** The files this module works with under a dotted name: temp parts, journals, the checkpoint and atomic temps. */
const isWorkingFile = (name: string) =>
  name.startsWith(".part-") || name.startsWith(".checkpoint.json")
  || name === atomicTempName(manifestName) || name === atomicTempName(successName)

/** For plain NDJSON the journal's bytes are the part's: the journal is the part's temp file. */
const journalIsPart = (encoder: PartEncoder) => encoder.partIsJournal === true

/** A full disk or an exhausted quota: the run stops, what was committed stays readable and resumable. */
const isNoSpace = (e: PlatformError): boolean => {
  const cause = "cause" in e ? (e.cause as { code?: unknown } | undefined) : undefined
  return cause?.code === "ENOSPC" || cause?.code === "EDQUOT" || /\b(ENOSPC|EDQUOT)\b/.test(e.message)
}

const fail = (path: string) => (e: PlatformError) =>
  new DatasetError({ reason: isNoSpace(e) ? "NoSpace" : "Io", path, detail: e.message })

const encoder = new TextEncoder()

const errorsText = (errors: ReadonlyArray<ErrorRow>): string => {
  let out = ""
  for (const e of errors) {
    out += `${
      JSON.stringify({
        from_object_type: e.from_object_type,
        to_object_type: e.to_object_type,
        object_id: e.object_id,
        category: e.category,
        sub_category: e.sub_category,
        message: e.message
      })
    }\n`
  }
  return out
}

const decodeCheckpoint = Schema.decodeUnknown(Schema.parseJson(CheckpointFile))

/** The last checkpoint of a dataset directory, if it has one. */
export const readCheckpoint = (
  directory: string
): Effect.Effect<Option.Option<CheckpointFile>, DatasetError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(directory, checkpointName)
    if (!(yield* fs.exists(file).pipe(Effect.mapError(fail(file))))) return Option.none<CheckpointFile>()
    const text = yield* fs.readFileString(file).pipe(Effect.mapError(fail(file)))
    return Option.some(
      yield* decodeCheckpoint(text).pipe(
        Effect.mapError((e) =>
          new DatasetError({ reason: "Corrupt", path: file, detail: `the checkpoint cannot be read: ${e.message}` })
        )
      )
    )
  })

/** The temporary name of a file written atomically: dotted, so no reader of DIR meets it. */
const atomicTempName = (name: string) => `${name.startsWith(".") ? "" : "."}${name}.tmp`

/** Writes a file so that it is either absent or whole: temp, sync, rename, sync the directory. */
const writeAtomically = (directory: string, name: string, data: Uint8Array) =>
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

const syncDirectory = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (d) => d.sync)).pipe(
      Effect.mapError(fail(directory))
    )
  })

const sizeOf = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(file).pipe(Effect.mapError(fail(file))))) return Option.none<number>()
    const info = yield* fs.stat(file).pipe(Effect.mapError(fail(file)))
    return Option.some(Number(info.size))
  })

const emptyState = (enc: PartEncoder): DatasetState => ({
  format: enc.format,
  extension: enc.extension,
  parts: [],
  open: { index: 0, rows: 0, journalBytes: 0 },
  errors: { rows: 0, bytes: 0 }
})

/**
 * Opens a dataset directory: a new export, or the resumption of the one its
 * checkpoint describes (see the module's comment). A finished export
 * (`_SUCCESS` beside a checkpoint) is reported as `complete` and left as it is.
 * The writer's files stay open until the scope closes; closing it without
 * `finish` is a crash the next `open` recovers from.
 */
export const open = (
  options: DatasetOptions
): Effect.Effect<Opened, DatasetError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const outer = yield* Effect.scope
    const dir = options.directory
    const enc = options.encoder
    const partMaxRows = options.partMaxRows ?? 1_000_000
    const partMaxBytes = options.partMaxBytes ?? 256 * 1024 * 1024
    const at = (name: string) => path.join(dir, name)
    const exists = (name: string) => fs.exists(at(name)).pipe(Effect.mapError(fail(at(name))))

    // Finished: report it without touching anything. `_SUCCESS` alone (Spark's, say) is another tool's output.
    if ((yield* exists(successName)) && (yield* exists(checkpointName))) {
      const last = Option.flatten(yield* Effect.option(readCheckpoint(dir)))
      const state = Option.match(last, { onNone: () => emptyState(enc), onSome: (c) => c.dataset })
      return { writer: completed(dir, state), resumed: Option.map(last, (c) => c.payload), complete: true }
    }

    yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(fail(dir)))
    const checkpoint = yield* readCheckpoint(dir)
    const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(fail(dir)))
    const remove = (name: string) => fs.remove(at(name), { force: true }).pipe(Effect.mapError(fail(at(name))))

    let state: DatasetState
    if (Option.isNone(checkpoint)) {
      const foreign = names.filter((n) => n.startsWith("part-") || n === manifestName || n === successName)
      if (foreign.length > 0) {
        return yield* new DatasetError({ reason: "NotEmpty", path: dir, detail: foreign.slice(0, 3).join(", ") })
      }
      // Leftovers of a run that stopped before its first checkpoint hold nothing committed.
      for (const n of names) if (isWorkingFile(n)) yield* remove(n)
      state = emptyState(enc)
      yield* fs.makeDirectory(at(errorsDirectory), { recursive: true }).pipe(Effect.mapError(fail(at(errorsDirectory))))
      yield* fs.writeFile(at(errorsName), new Uint8Array()).pipe(Effect.mapError(fail(at(errorsName))))
    } else {
      state = checkpoint.value.dataset
      if (state.format !== enc.format || state.extension !== enc.extension) {
        return yield* new DatasetError({
          reason: "Corrupt",
          path: dir,
          detail: `this export writes ${state.extension} parts, not ${enc.extension}; choose another --out to change format`
        })
      }
      yield* recover(dir, state, enc, names)
    }

    // The open part: its journal, appended to; its temp file, rebuilt from the journal unless it is the journal.
    const errorsFile = yield* fs.open(at(errorsName), { flag: "a" }).pipe(Effect.mapError(fail(at(errorsName))))
    let part = yield* openPart(outer, dir, enc, state.open.index, state.open.journalBytes)
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
    const encodeJournal = AssociationRow.ndjsonEncoder()

    const current = (): DatasetState => ({
      format: enc.format,
      extension: enc.extension,
      parts,
      open: { index: part.index, rows, journalBytes },
      errors: { rows: errorRows, bytes: errorBytes }
    })

    const append = (
      newRows: AssociationRow.Rows | ReadonlyArray<AssociationRow.AssociationRow>,
      errors: ReadonlyArray<ErrorRow>
    ) =>
      Effect.gen(function*() {
        if (newRows.length > 0) {
          const bytes = encodeJournal(newRows)
          yield* part.journal.writeAll(bytes).pipe(Effect.mapError(fail(part.journalPath)))
          if (part.writer !== undefined && part.temp !== undefined) {
            for (const chunk of yield* part.writer.write(AssociationRow.toArray(newRows))) {
              yield* part.temp.writeAll(chunk).pipe(Effect.mapError(fail(part.tempPath)))
            }
          }
          journalBytes += bytes.length
          rows += newRows.length
        }
        if (errors.length > 0) {
          const bytes = encoder.encode(errorsText(errors))
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
        // 2. A part due to roll over is finished and durable under its temp name.
        const roll = rows > 0 && (final || rows >= partMaxRows || journalBytes >= partMaxBytes)
        let finished: PartInfo | undefined
        if (roll) {
          let bytes = journalBytes
          if (part.writer !== undefined && part.temp !== undefined) {
            for (const chunk of yield* part.writer.finish) {
              yield* part.temp.writeAll(chunk).pipe(Effect.mapError(fail(part.tempPath)))
            }
            yield* part.temp.sync.pipe(Effect.mapError(fail(part.tempPath)))
            bytes = Number((yield* part.temp.stat.pipe(Effect.mapError(fail(part.tempPath)))).size)
          }
          finished = { name: partName(part.index, enc.extension), rows, bytes }
        }
        // 3. The checkpoint, atomically: from here on the finished part is committed.
        const next: DatasetState = finished === undefined ? current() : {
          ...current(),
          parts: [...parts, finished],
          open: { index: part.index + 1, rows: 0, journalBytes: 0 }
        }
        yield* writeAtomically(
          dir,
          checkpointName,
          encoder.encode(JSON.stringify({ version: 1, dataset: next, payload } satisfies CheckpointFile))
        )
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
          part = yield* openPart(outer, dir, enc, done.index + 1, 0)
        }
      })

    const finish = (payload: unknown, manifestExtra: Record<string, unknown>) =>
      Effect.gen(function*() {
        yield* commitWith(payload, true)
        const manifest: Manifest = {
          version: 1,
          tool: { name: "assoc-etl", version: toolVersion },
          format: enc.format,
          schema: AssociationRow.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
          parts,
          totals: {
            rows: parts.reduce((n, p) => n + p.rows, 0),
            bytes: parts.reduce((n, p) => n + p.bytes, 0),
            parts: parts.length
          },
          errors: { file: errorsName, rows: errorRows },
          startedAt: typeof manifestExtra["startedAt"] === "string" ? manifestExtra["startedAt"] : new Date().toISOString(),
          finishedAt: new Date().toISOString(),
          ...manifestExtra
        }
        // The part opened after the last roll is empty: its files go.
        yield* Scope.close(part.scope, Exit.void)
        yield* remove(journalName(part.index))
        yield* remove(tempName(part.index, enc.extension))
        yield* writeAtomically(dir, manifestName, encoder.encode(`${JSON.stringify(manifest, null, 2)}\n`))
        yield* writeAtomically(dir, successName, new Uint8Array())
        closed = new DatasetError({ reason: "Corrupt", path: dir, detail: finishedDetail })
        return manifest
      })

    // One operation at a time; the first that fails or is interrupted closes the writer (see the module's comment).
    const guarded = <A>(effect: Effect.Effect<A, DatasetError, FileSystem.FileSystem | Path.Path>) =>
      Effect.suspend(() => closed === undefined ? effect : Effect.fail(closed)).pipe(
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
    const writer: DatasetWriter = {
      append: (newRows, errors) => guarded(append(newRows, errors)),
      commit: (payload) => guarded(commitWith(payload, false)),
      finish: (payload, extra) => guarded(finish(payload, extra)),
      state: Effect.sync(current)
    }
    return { writer, resumed: Option.map(checkpoint, (c) => c.payload), complete: false }
  })

const brokenDetail = "an earlier append or commit failed or was interrupted, so this writer takes no more rows. "
  + "What was committed is safe: open the directory again to resume from the last commit"
const finishedDetail = "the export is complete (_SUCCESS); nothing may be added"

interface OpenPart {
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
const openPart = (outer: Scope.Scope, dir: string, enc: PartEncoder, index: number, journalBytes: number) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
    const sameFile = journalIsPart(enc)
    const journalPath = path.join(dir, sameFile ? tempName(index, enc.extension) : journalName(index))
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
                try: () => AssociationRow.decodeNdjson(Chunk.join(lines, "\n")),
                catch: (e) =>
                  new DatasetError({ reason: "Corrupt", path: journalPath, detail: `a committed row is unreadable: ${e}` })
              })
              for (const chunk of yield* writer.write(decoded)) {
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

/** Brings the directory back to the state of its checkpoint (see the module's comment). */
const recover = (dir: string, state: DatasetState, enc: PartEncoder, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const at = (name: string) => path.join(dir, name)
    const remove = (name: string) => fs.remove(at(name), { force: true }).pipe(Effect.mapError(fail(at(name))))
    const committed = new Set(state.parts.map((p) => p.name))
    let renamed = false
    for (const [index, p] of state.parts.entries()) {
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
    const openJournal = journalIsPart(enc) ? tempName(state.open.index, enc.extension) : journalName(state.open.index)
    for (const n of names) {
      // A part renamed but never committed; temp parts and journals of other parts; torn or uncommitted temps.
      const stale = n.startsWith("part-") ? !committed.has(n) : isWorkingFile(n)
      if (stale && n !== openJournal && n !== checkpointName) yield* remove(n)
    }
    yield* fs.makeDirectory(at(errorsDirectory), { recursive: true }).pipe(Effect.mapError(fail(at(errorsDirectory))))
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

/** The writer of a finished export: it reports the last state and refuses to add anything. */
const completed = (dir: string, state: DatasetState): DatasetWriter => {
  const refuse = Effect.fail(new DatasetError({ reason: "Corrupt", path: dir, detail: finishedDetail }))
  return { append: () => refuse, commit: () => refuse, finish: () => refuse, state: Effect.succeed(state) }
}
