/**
 * What an export has committed, as the payload of its sink's checkpoint: the
 * pair and the source it reads (compared on a resume), when it first started,
 * the ordinals of the input ids whose every association is committed, the
 * per-id cursors of ids half done, and counters.
 *
 * A sink stores it only with the rows it covers (`RowSink`'s law), so a
 * resumed export skips exactly what is committed.
 */
import { Schema } from "effect"
import type { Pair } from "./AssociationRow.js"
import { Identity } from "./IdSource.js"
import { IntervalSet } from "./IntervalSet.js"
import { ObjectId } from "./ObjectId.js"

export const version = 2

export const Pending = Schema.Struct({ key: Schema.Int, id: ObjectId, after: Schema.String })
export type Pending = typeof Pending.Type

export const Counters = Schema.Struct({
  rows: Schema.Number,
  refused: Schema.Number,
  /** Ids done whose answers held no row and no refusal (HubSpot: NO_ASSOCIATIONS_FOUND). */
  withoutRows: Schema.optionalWith(Schema.Number, { default: () => 0 })
})
export type Counters = typeof Counters.Type

export const Checkpoint = Schema.Struct({
  version: Schema.Literal(version),
  from: Schema.String,
  to: Schema.String,
  source: Identity,
  /** The system the rows are read from (a HubSpot portal), when the run named one: a resume must read the same. */
  origin: Schema.optionalWith(Identity, { exact: true }),
  /** When the export first started, in epoch millis. */
  startedAt: Schema.Number,
  /** Ordinals of input ids fully exported, as half-open ranges. */
  done: Schema.Array(Schema.Tuple(Schema.Int, Schema.Int)),
  pending: Schema.Array(Pending),
  /** Bad input lines already recorded as refused inputs. */
  badLinesRecorded: Schema.Boolean,
  counters: Counters
})
export type Checkpoint = typeof Checkpoint.Type

const shorten = (key: string) => JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key)

/**
 * What differs between the export a checkpoint records and the one this run asks for, one sentence a
 * difference; empty when the run may resume.
 */
export const differences = (
  committed: Pick<Checkpoint, "from" | "to" | "source" | "origin">,
  requested: { readonly pair: Pair; readonly source: Identity; readonly origin?: Identity | undefined }
): ReadonlyArray<string> => {
  const out: Array<string> = []
  if (committed.from !== requested.pair.fromType || committed.to !== requested.pair.toType) {
    out.push(
      `it exports ${committed.from} → ${committed.to}, this run asks for ${requested.pair.fromType} → ${requested.pair.toType}`
    )
  }
  const a = committed.source
  const b = requested.source
  if (a.kind !== b.kind || a.key !== b.key) {
    const keys = a.description === b.description ? ` (key ${shorten(a.key)}, this run's ${shorten(b.key)})` : ""
    out.push(`it read ${a.description}, this run reads ${b.description}${keys}`)
  }
  // A checkpoint without an origin (written before origins were recorded, or by a run that named none) binds
  // nothing; a run that names none claims nothing.
  const was = committed.origin
  const is = requested.origin
  if (was !== undefined && is !== undefined && (was.kind !== is.kind || was.key !== is.key)) {
    out.push(`it was read from ${was.description}, this run reads ${is.description}`)
  }
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
