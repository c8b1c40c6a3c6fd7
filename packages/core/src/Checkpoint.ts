/**
 * What an export has committed, as the payload of the dataset's checkpoint:
 * the arguments that define the export, the ordinals of the input ids whose
 * every association is in a committed part, the per-id `after` cursors of ids
 * half done, and counters. (A listing source keeps the ids it listed beside it,
 * in `.listed-ids`, so ordinals mean the same ids on a resume.)
 *
 * It is written only by the dataset writer's commit, after the rows it covers
 * are durable, so a resumed export skips exactly what is committed.
 */
import { Schema } from "effect"
import { IntervalSet } from "./IntervalSet.js"
import { ObjectId } from "./ObjectId.js"

export const version = 1

/** Where the ids come from, and what identifies that input. */
export const Input = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("file"), path: Schema.String, digest: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("stdin"), digest: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("list") }),
  Schema.Struct({ kind: Schema.Literal("search"), since: Schema.String, until: Schema.String })
)
export type Input = typeof Input.Type

/** The arguments that define an export: a resume with other values would mix two exports. */
export const Args = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  format: Schema.String,
  input: Input
})
export type Args = typeof Args.Type

export const Pending = Schema.Struct({ key: Schema.Int, id: ObjectId, after: Schema.String })
export type Pending = typeof Pending.Type

export const Counters = Schema.Struct({
  rows: Schema.Number,
  refused: Schema.Number,
  requests: Schema.Number,
  retries: Schema.Number
})
export type Counters = typeof Counters.Type

export const Checkpoint = Schema.Struct({
  version: Schema.Literal(version),
  args: Args,
  startedAt: Schema.String,
  /** Ordinals of input ids fully exported, as half-open ranges. */
  done: Schema.Array(Schema.Tuple(Schema.Int, Schema.Int)),
  pending: Schema.Array(Pending),
  /** Bad input lines already written to errors.ndjson. */
  badLinesRecorded: Schema.Boolean,
  counters: Counters
})
export type Checkpoint = typeof Checkpoint.Type

export const decode = Schema.decodeUnknown(Checkpoint)

const describeInput = (input: Input): string => {
  switch (input.kind) {
    case "file":
      return `the id file ${input.path} (sha256 ${input.digest.slice(0, 12)})`
    case "stdin":
      return `ids from stdin (sha256 ${input.digest.slice(0, 12)})`
    case "list":
      return "every object listed through the API"
    case "search":
      return `objects modified from ${input.since} to ${input.until}`
  }
}

/**
 * What differs between the arguments of a checkpoint and those of this run,
 * one sentence a difference; empty when the run may resume.
 */
export const differences = (committed: Args, requested: Args): ReadonlyArray<string> => {
  const out: Array<string> = []
  if (committed.from !== requested.from || committed.to !== requested.to) {
    out.push(`it exports ${committed.from} → ${committed.to}, this run asks for ${requested.from} → ${requested.to}`)
  }
  if (committed.format !== requested.format) {
    out.push(`it writes ${committed.format}, this run asks for ${requested.format}`)
  }
  const a = committed.input
  const b = requested.input
  const sameInput = a.kind === b.kind &&
    (a.kind === "file" && b.kind === "file"
      ? a.digest === b.digest
      : a.kind === "stdin" && b.kind === "stdin"
      ? a.digest === b.digest
      : a.kind === "search" && b.kind === "search"
      ? a.since === b.since
      : true)
  if (!sameInput) out.push(`it read ${describeInput(a)}, this run reads ${describeInput(b)}`)
  return out
}

/**
 * The live state of an export, updated per answer and snapshotted into a
 * `Checkpoint` at each commit.
 */
export class Ledger {
  readonly done: IntervalSet
  readonly pending: Map<number, { readonly id: ObjectId; readonly after: string }>

  private constructor(done: IntervalSet, pending: Map<number, { readonly id: ObjectId; readonly after: string }>) {
    this.done = done
    this.pending = pending
  }

  static empty(): Ledger {
    return new Ledger(IntervalSet.empty(), new Map())
  }

  static fromCheckpoint(checkpoint: Pick<Checkpoint, "done" | "pending">): Ledger {
    return new Ledger(
      IntervalSet.fromRanges(checkpoint.done),
      new Map(checkpoint.pending.map((p) => [p.key, { id: p.id, after: p.after }]))
    )
  }

  /** True when the ordinal needs no fresh request: fully done, or to be continued from its cursor. */
  isStarted(key: number): boolean {
    return this.done.has(key) || this.pending.has(key)
  }

  finish(key: number): void {
    this.pending.delete(key)
    this.done.add(key)
  }

  continueAt(key: number, id: ObjectId, after: string): void {
    this.pending.set(key, { id, after })
  }

  /** The lowest ordinal that is neither done nor pending. */
  lowestOpen(): number {
    let k = this.done.firstMissing
    while (this.pending.has(k) || this.done.has(k)) k++
    return k
  }

  snapshot(): Pick<Checkpoint, "done" | "pending"> {
    return {
      done: this.done.ranges.map(([s, e]) => [s, e] as const),
      pending: [...this.pending].map(([key, p]) => ({ key, id: p.id, after: p.after }))
    }
  }
}
