/**
 * Where an export's rows go, as a value: the dataset directory is one, a
 * table or a file of a program's own is another. `Export.run` drives it.
 *
 * The law a sink keeps, on which exactly-once resume rests: `commit(payload)`
 * makes the rows and refused inputs appended since the last commit durable
 * together with `payload`, or neither; the next `open` gives back the payload
 * of the last commit that happened and holds exactly the rows appended before
 * it (what came after is dropped). The payload is the caller's, typed by the
 * schema `open` is given: the sink stores its encoded form and decodes it.
 */
import { type Chunk, Effect, Option, Schema, type Scope, Sink } from "effect"
import type { Pair } from "./AssociationRow.js"
import type { AssociationRow } from "./AssociationRow.js"
import type { ErrorRow } from "./ErrorRow.js"
import type { Identity } from "./IdSource.js"
import type { RowBatch } from "./RowBatch.js"
import type { Page } from "./Stage.js"

/** What the run tells a sink when it finishes: for a manifest, say. */
export interface Finished {
  readonly pair: Pair
  readonly source: Identity
  /** The system the rows were read from, when the run named one (`ExportOptions.origin`). */
  readonly origin?: Identity
  /** When the export first started, in epoch millis. */
  readonly startedAt: number
  /** Ids done, and those of them whose answers held no row and no refusal. */
  readonly ids?: { readonly done: number; readonly withoutRows: number }
}

export interface Opened<A, P, E> {
  /** The payload of the last commit, when the sink holds an export's committed work. */
  readonly resumed: Option.Option<P>
  /** The outcome of an earlier `finish`: the sink holds a finished export and takes nothing more. */
  readonly finished: Option.Option<A>
  readonly append: (rows: RowBatch, refused: ReadonlyArray<ErrorRow>) => Effect.Effect<void, E>
  readonly commit: (payload: P) => Effect.Effect<void, E>
  /** Commits `payload` and everything appended, and marks the sink finished. */
  readonly finish: (payload: P, finished: Finished) => Effect.Effect<A, E>
}

export interface RowSink<A = void, E = never, R = never> {
  readonly open: <P, I>(checkpoint: Schema.Schema<P, I>) => Effect.Effect<Opened<A, P, E>, E, R | Scope.Scope>
}

/** The rows and payload a memory sink has committed. */
export interface MemoryState {
  readonly rows: ReadonlyArray<AssociationRow>
  readonly refused: ReadonlyArray<ErrorRow>
  /** The last committed payload, encoded. */
  readonly payload: Option.Option<unknown>
  readonly finished: boolean
  readonly commits: number
}

export interface MemorySink extends RowSink<MemoryState> {
  /** What is committed now. */
  readonly committed: Effect.Effect<MemoryState>
}

/**
 * A sink in memory, for tests and for programs that want rows as values: appended rows wait in a buffer that
 * a commit moves to the committed state with the payload, at once. It outlives its opens, as a table would: open
 * it again to resume.
 */
export const memory = (): MemorySink => {
  let state: MemoryState = { rows: [], refused: [], payload: Option.none(), finished: false, commits: 0 }
  return {
    committed: Effect.sync(() => state),
    open: <P, I>(checkpoint: Schema.Schema<P, I>) =>
      Effect.gen(function*() {
        const decode = Schema.decodeUnknown(checkpoint)
        const encode = Schema.encode(checkpoint)
        const resumed = Option.isSome(state.payload)
          ? Option.some(yield* Effect.orDie(decode(state.payload.value)))
          : Option.none<P>()
        let rows: Array<AssociationRow> = []
        let refused: Array<ErrorRow> = []
        const commit = (payload: P) =>
          Effect.map(Effect.orDie(encode(payload)), (encoded) => {
            state = {
              rows: [...state.rows, ...rows],
              refused: [...state.refused, ...refused],
              payload: Option.some(encoded),
              finished: state.finished,
              commits: state.commits + 1
            }
            rows = []
            refused = []
          })
        return {
          resumed,
          finished: state.finished ? Option.some(state) : Option.none(),
          append: (batch, errors) =>
            Effect.sync(() => {
              for (const row of batch) rows.push(row)
              refused.push(...errors)
            }),
          commit,
          finish: (payload) =>
            Effect.map(commit(payload), () => {
              state = { ...state, finished: true }
              return state
            })
        } satisfies Opened<MemoryState, P, never>
      })
  }
}

/** The payload of a sink used without a checkpoint. */
const NoCheckpoint = Schema.Struct({})

/** A sink that cannot be written as asked. */
export class RowSinkError extends Schema.TaggedError<RowSinkError>()("RowSinkError", {
  reason: Schema.Literal("NotEmpty"),
  detail: Schema.String
}) {
  override get message(): string {
    return `the sink holds ${this.detail}: a write without resume needs an empty one (Export.run resumes)`
  }
}

/**
 * A sink used once, without resume, as an Effect `Sink` of pages: each chunk of pages is appended and committed
 * (so a dataset rolls its parts as it goes), and at the end the sink is finished. A sink that holds committed work
 * (of an export, or of an earlier write that stopped) is refused. A program that does not need to survive a crash
 * writes `BatchRead.fromIds(...)(ids).pipe(Stream.run(RowSink.toSink(sink, finished)))`.
 */
export const toSink = <A, E, R>(
  rowSink: RowSink<A, E, R>,
  finished: Finished
): Sink.Sink<A, Page, never, E | RowSinkError, Exclude<R, Scope.Scope>> =>
  Sink.unwrapScoped(Effect.flatMap(rowSink.open(NoCheckpoint), (opened) =>
    Option.isSome(opened.finished) || Option.isSome(opened.resumed)
      ? new RowSinkError({
        reason: "NotEmpty",
        detail: Option.isSome(opened.finished) ? "a finished export" : "committed rows"
      })
      : Effect.succeed(
        Sink.forEachChunk((pages: Chunk.Chunk<Page>) =>
          Effect.forEach(pages, (page) => opened.append(page.rows, page.errors), { discard: true }).pipe(
            Effect.zipRight(opened.commit({}))
          )
        ).pipe(Sink.mapEffect(() => opened.finish({}, finished)))
      )))
