/**
 * The stage between ids and rows: a function from a `Stream` of items (ids
 * with their ordinal, and the cursor of a half-read id) to a `Stream` of
 * pages (rows, refused inputs, and which items each page finished or left
 * to continue). A stage of one source system is one value of this type:
 * `Export.run` drives it, and knows nothing of how it asks.
 *
 * The law a stage keeps, on which exactly-once resume rests: every item it
 * takes comes out once in a page's `done` or `next`, in a page that also
 * holds every row read for it by that answer; an item in `next` comes back
 * into the stage by itself (the stage feeds its continuations back), so the
 * caller only records where it stands. Items arrive with distinct ids.
 */
import type { Stream } from "effect"
import type { Pair } from "./AssociationRow.js"
import type { ErrorRow } from "./ErrorRow.js"
import type { ObjectId } from "./ObjectId.js"
import type { RowBatch } from "./RowBatch.js"

export interface Item {
  /** The caller's ordinal of the id (its position in the input), carried through to `done`/`next`. */
  readonly key: number
  readonly id: ObjectId
  /** A cursor from an earlier answer: ask for the page after it. */
  readonly after?: string
}

/** One answer: one unit for the sink. */
export interface Page {
  /** In canonical order: the order of the request's inputs, then page order. */
  readonly rows: RowBatch
  /** Inputs the source system refused, one per id. */
  readonly errors: ReadonlyArray<ErrorRow>
  /** Items finished by this answer: no more pages, or refused. */
  readonly done: ReadonlyArray<Item>
  /** Items with more pages: the same key and id, `after` the new cursor. They come back in later pages. */
  readonly next: ReadonlyArray<Item>
}

/** Reads the associations of `pair` for a stream of items. */
export type Stage<E = never, R = never> = <E2, R2>(
  pair: Pair,
  items: Stream.Stream<Item, E2, R2>
) => Stream.Stream<Page, E | E2, R | R2>
