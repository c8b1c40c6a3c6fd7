/**
 * Ids from HubSpot itself, as `IdSource`s: every object of a type (the list
 * API), or the objects modified in a window (the search API). Each page is
 * kept in a journal file before its ids go on (`IdSource.fromPages`), so a
 * resume numbers the ids exactly as the first run did.
 */
import { IdSource, type Manifest, type ObjectId, type ObjectType } from "@assoc-etl/core"
import type { FileSystem } from "@effect/platform"
import { Effect, Schema } from "effect"
import * as Api from "./AssociationsApi.js"
import { HubSpotClient } from "./HubSpotClient.js"
import type { HubSpotError } from "./HubSpotError.js"

export class HubSpotIdSourceError extends Schema.TaggedError<HubSpotIdSourceError>()("HubSpotIdSourceError", {
  /**
   * - `SearchTooDense`: more objects share one modification time than the search API pages through.
   * - `Since`: the start of an incremental window cannot be taken from what was given.
   */
  reason: Schema.Literal("SearchTooDense", "Since"),
  detail: Schema.String
}) {
  override get message(): string {
    return this.reason === "SearchTooDense"
      ? `${this.detail}. These objects cannot be told apart by modification time: export them without a `
        + "modified-since window (every object listed) instead."
      : this.detail
  }
}

export interface JournalOptions {
  /** The file that keeps the ids listed so far; beside the export's output, say (`Dataset.idJournalName` in its directory). */
  readonly journal: string
}

/** Every object of a type, listed a page (100) at a time. */
export const list = (
  type: ObjectType.ObjectType,
  options: JournalOptions
): IdSource.IdSource<HubSpotError | IdSource.IdSourceError, HubSpotClient | FileSystem.FileSystem> =>
  IdSource.fromPages(() => ({
    identity: { kind: "list", key: type, description: `every ${type} listed through the API` },
    journal: options.journal,
    position: Schema.Struct({ after: Schema.NullOr(Schema.String) }),
    first: { after: null },
    list: (position) =>
      Effect.flatMap(HubSpotClient, (client) =>
        client.listObjects(type, { limit: Api.maxListLimit, ...(position.after === null ? {} : { after: position.after }) })
      ).pipe(Effect.map((answer) => {
        const after = answer.paging?.next?.after
        return {
          ids: answer.results.map((r) => r.id),
          next: after === undefined || answer.results.length === 0 ? null : { after }
        }
      }))
  }))

/**
 * How far a search window's end is set back from the export's start. HubSpot's search index lags writes
 * (seconds, more under load): an object modified just before the run may not be found by it yet. Its
 * modification time is after the window's end, so the next run, whose window starts there, takes it once
 * indexed. Setting the end back costs nothing (the next run takes those minutes) and, unlike starting each run
 * earlier, gives no row twice across chained runs.
 */
export const searchIndexLagMillis = 5 * 60_000

/**
 * The end of a window that starts at `since` (epoch millis) for an export that first started at `startedAt`:
 * the index lag before the start, but never before `since` (a run chained less than the lag after the one
 * before has an empty window, and the next run must start where this one did, not earlier).
 */
export const searchUntil = (since: number, startedAt: number): number => Math.max(since, startedAt - searchIndexLagMillis)

/** The property holding an object's modification time: contacts have their own name for it. */
export const modifiedProperty = (type: string): string =>
  type === "contacts" || type === "0-1" ? "lastmodifieddate" : "hs_lastmodifieddate"

/**
 * A search query's place: objects modified in [lo, hi) (epoch millis), oldest first, from the `offset`-th on.
 * `hi` is always the window's end; `lo` moves forward as pages are taken, so this is all a resume needs.
 */
const SearchPage = Schema.Struct({
  lo: Schema.Int,
  hi: Schema.Int,
  offset: Schema.Int,
  /** Ids modified at `lo` that were already taken: the query's first results, skipped. */
  skip: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
})
type SearchPage = typeof SearchPage.Type

const searchQuery = (property: string, page: SearchPage, limit: number): Api.SearchRequest => ({
  filterGroups: [{
    filters: [
      { propertyName: property, operator: "GTE", value: String(page.lo) },
      { propertyName: property, operator: "LT", value: String(page.hi) }
    ]
  }],
  sorts: [{ propertyName: property, direction: "ASCENDING" }],
  properties: [property],
  limit,
  ...(page.offset === 0 ? {} : { after: String(page.offset) })
})

/** An object's modification time in epoch millis, as the search answer gives it (ISO or millis). */
const modifiedOf = (property: string, record: Api.ObjectRecord): number | undefined => {
  const value = record.properties?.[property]
  if (value === undefined || value === null) return undefined
  const millis = /^[0-9]+$/.test(value) ? Number(value) : Date.parse(value)
  return Number.isNaN(millis) ? undefined : millis
}

/**
 * The query after `page`, from its answer. Keyset paging: the next query starts at L, the latest modification
 * time in the window among the results, and skips, by id, the results at L already taken (any result after
 * them comes back again and is deduped by id downstream). Paging by offset would lose objects: a run takes
 * minutes to hours, every object modified meanwhile leaves the window (its time is now after `until`), and each
 * one that leaves moves the later results a place back, under an offset already passed. Only a page that does
 * not get past its own start (more than 200 objects modified in one millisecond, or times missing) goes on by
 * offset; the offset stays below 10,000 (the search API's limit for one query) unless that many share it.
 */
const nextSearchPage = (property: string, page: SearchPage, answer: Api.SearchResponse): SearchPage | null => {
  const n = answer.results.length
  if (answer.paging?.next?.after === undefined || n === 0) return null
  const times = answer.results.map((r) => modifiedOf(property, r))
  let last: number | undefined
  for (const t of times) if (t !== undefined && t >= page.lo && t < page.hi && (last === undefined || t > last)) last = t
  if (last === undefined || last === page.lo) return { ...page, offset: page.offset + n }
  const atLast = answer.results.filter((_, i) => times[i] === last).map((r) => r.id)
  return { lo: last, hi: page.hi, offset: 0, skip: atLast }
}

const iso = (millis: number) => new Date(millis).toISOString()

/**
 * The objects of a type modified from `since` (epoch millis) to `searchUntil(since, export start)`, through the
 * search API, 200 a page, oldest first, with keyset paging (`nextSearchPage`). The identity's `details` hold
 * the window (`since`, `until`, ISO), which a dataset's manifest keeps for the next run (`chainedSince`). The
 * first answer's `total` gives the number of ids (at most: objects modified during the run leave the window).
 */
export const modifiedSince = (
  type: ObjectType.ObjectType,
  since: number,
  options: JournalOptions
): IdSource.IdSource<HubSpotError | HubSpotIdSourceError | IdSource.IdSourceError, HubSpotClient | FileSystem.FileSystem> =>
  IdSource.fromPages<SearchPage, typeof SearchPage.Encoded, HubSpotError | HubSpotIdSourceError, HubSpotClient>((run) => {
    const end = searchUntil(since, run.startedAt)
    return {
      identity: {
        kind: "search",
        key: iso(since),
        description: `the ${type} modified from ${iso(since)} to ${iso(end)}`,
        details: { since: iso(since), until: iso(end) }
      },
      journal: options.journal,
      position: SearchPage,
      first: { lo: since, hi: end, offset: 0 },
      list: (page, firstKey) => searchPage(type, page, firstKey)
    }
  })

/** Lists one page of a search window (see `nextSearchPage`), the first id of which gets ordinal `firstKey`. */
const searchPage = (type: ObjectType.ObjectType, page: SearchPage, firstKey: number) => {
  const property = modifiedProperty(type)
  if (page.lo >= page.hi) return Effect.succeed({ ids: [], next: null })
  const limit = Math.min(Api.maxSearchLimit, Api.maxSearchResults - page.offset)
  if (limit <= 0) {
    return Effect.fail(
      new HubSpotIdSourceError({
        reason: "SearchTooDense",
        detail: `more than ${Api.maxSearchResults} ${type} were modified in the same millisecond (${
          iso(page.lo)
        }), more than HubSpot's search API pages through for one query`
      })
    )
  }
  return Effect.flatMap(HubSpotClient, (client) => client.search(type, searchQuery(property, page, limit))).pipe(
    Effect.map((answer) => {
      const skip = new Set(page.skip ?? [])
      return {
        ids: answer.results.filter((r) => !skip.has(r.id)).map((r): ObjectId.ObjectId => r.id),
        next: nextSearchPage(property, page, answer),
        // Ids before this query, plus what it matches from its start (less those at its start already taken).
        total: firstKey - page.offset - (page.skip?.length ?? 0) + answer.total
      }
    })
  )
}

/** Ids of an earlier snapshot a chained source starts from (`chained`). */
export interface Previous {
  /** Its ids, in its order, less those it found gone; read when the listing reaches them (once a run). */
  readonly ids: Effect.Effect<ReadonlyArray<ObjectId.ObjectId>, IdSource.IdSourceError, FileSystem.FileSystem>
  /** What identifies that snapshot (its directory and when it started, say): compared on a resume. */
  readonly key: string
  /** For people: "the snapshot in /data/2026-12-02". */
  readonly description: string
}

/** Ids of the earlier snapshot given a page. */
const previousPageSize = 10_000

/** Where a chained listing stands: in the earlier snapshot's ids, then in the search window. */
const ChainedPage = Schema.Union(Schema.Struct({ previous: Schema.Int }), SearchPage)
type ChainedPage = typeof ChainedPage.Type

/**
 * A snapshot's ids without listing every object: the ids of an earlier snapshot, then the objects of `type`
 * modified (or created) from `since` (where that snapshot's window ended) to `searchUntil(since, start)`, found
 * through the search API, as `modifiedSince` does. Listing a million contacts costs 10,000 requests; this costs
 * one search request per 200 objects changed. An id of both (an object modified since) is asked once (an
 * export does each id once); an id of the earlier snapshot that no longer exists is refused by HubSpot
 * (`OBJECT_NOT_FOUND`) and so drops out. The journal keeps every id, so the next night can chain from this one.
 */
export const chained = (
  type: ObjectType.ObjectType,
  since: number,
  previous: Previous,
  options: JournalOptions
): IdSource.IdSource<HubSpotError | HubSpotIdSourceError | IdSource.IdSourceError, HubSpotClient | FileSystem.FileSystem> =>
  IdSource.fromPages<ChainedPage, typeof ChainedPage.Encoded, HubSpotError | HubSpotIdSourceError | IdSource.IdSourceError, HubSpotClient | FileSystem.FileSystem>(
    (run) => {
      const end = searchUntil(since, run.startedAt)
      return {
        identity: {
          kind: "chained",
          key: `${previous.key} ${iso(since)}`,
          description: `the ${type} of ${previous.description}, and those modified from ${iso(since)} to ${iso(end)}`,
          details: { since: iso(since), until: iso(end), previous: previous.description }
        },
        journal: options.journal,
        position: ChainedPage,
        first: { previous: 0 },
        list: (page, firstKey) => {
          if (!("previous" in page)) return searchPage(type, page, firstKey)
          return Effect.map(previous.ids, (ids) => {
            const at = page.previous + previousPageSize
            const window: SearchPage = { lo: since, hi: end, offset: 0 }
            return {
              ids: ids.slice(page.previous, at),
              next: at < ids.length ? { previous: at } : window.lo < window.hi ? window : null
            }
          })
        }
      }
    }
  )

const isoPattern = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/**
 * The moment `text` names as an ISO date or date-time, in epoch millis. One without a zone is UTC, as a date
 * alone is: `Date.parse` would read a date-time without a zone in the machine's zone, so the same cron line
 * would take other objects on another server.
 */
export const parseMoment = (text: string): number | undefined => {
  const trimmed = text.trim()
  const match = isoPattern.exec(trimmed)
  if (match === null) return undefined
  const utc = match[1] !== undefined && match[4] === undefined ? `${trimmed.replace(" ", "T")}Z` : trimmed.replace(" ", "T")
  const millis = Date.parse(utc)
  return Number.isNaN(millis) ? undefined : millis
}

/**
 * Where the next incremental run of `type` starts, after the finished export `manifest` describes: where its
 * window ended (a search run), or when it started (any other run, which took every object as it was then).
 * Refused for an export of other objects: its window says nothing of these.
 */
export const chainedSince = (
  manifest: Manifest.Manifest,
  type: ObjectType.ObjectType
): Effect.Effect<number, HubSpotIdSourceError> => {
  const earlier = manifest.export
  if (earlier.from !== type) {
    return Effect.fail(
      new HubSpotIdSourceError({
        reason: "Since",
        detail: `that export is of ${earlier.from}, not ${type}: chain to an earlier run of ${type}`
      })
    )
  }
  // A window's end (a search or a chained run: it must say it); else the start, when every object was taken.
  const windowed = earlier.source.kind === "search" || earlier.source.kind === "chained"
  const text = windowed ? earlier.source.details?.["until"] : manifest.startedAt
  const moment = text === undefined ? undefined : parseMoment(text)
  return moment === undefined
    ? Effect.fail(
      new HubSpotIdSourceError({ reason: "Since", detail: "its manifest says neither where its window ended nor when it started" })
    )
    : Effect.succeed(moment)
}
