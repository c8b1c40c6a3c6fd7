/**
 * Ids from HubSpot itself, as `IdSource`s: every object of a type (the list
 * API from the bottom of the id space and the search API from its top, until
 * they meet), or the objects modified in a window (the search API). Each page
 * is kept in a journal file before its ids go on (`IdSource.fromPages`), so a
 * resume numbers the ids exactly as the first run did.
 */
import { IdSource, type Manifest, ObjectId, type ObjectType } from "@assoc-etl/core"
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

export interface ListOptions extends JournalOptions {
  /**
   * Whether the search API walks the ids down from the top while the list API walks them up (default true).
   * `false`: the list API alone, a page after another (twice the round trips or more), and no total. A resume
   * goes on as the run it resumes began, whatever this says.
   */
  readonly search?: boolean
}

/** Compares two ids as the numbers they are (HubSpot's order of `hs_object_id`), leading zeros aside. */
const compareIds = (a: string, b: string): number => {
  const x = a.replace(/^0+(?=.)/, "")
  const y = b.replace(/^0+(?=.)/, "")
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0)
}

/**
 * Where a listing stands. `after` is the list walk's cursor (null: from the first object). While both walks go
 * on, `walks` says how far each got: the list walk gave every id up to `listed`, the search walk every id from
 * `searched` up (null: that walk gave none yet). Once the list walk goes on alone, `below` is where the ids a
 * search walk gave begin: it gives only those below, and stops there. A journal written before the search walk
 * existed holds `after` alone, and goes on as it began.
 */
const ListPosition = Schema.Struct({
  after: Schema.NullOr(Schema.String),
  walks: Schema.optionalWith(
    Schema.Struct({ listed: Schema.NullOr(ObjectId.ObjectId), searched: Schema.NullOr(ObjectId.ObjectId) }),
    { exact: true }
  ),
  below: Schema.optionalWith(ObjectId.ObjectId, { exact: true })
})
type ListPosition = typeof ListPosition.Type
type Walks = NonNullable<ListPosition["walks"]>

const idProperty = "hs_object_id"

/** One page of the list walk: its ids, and the cursor of the next (undefined after the last). */
interface ListedPart {
  readonly ids: ReadonlyArray<ObjectId.ObjectId>
  readonly after: string | undefined
}

const listPart = (type: ObjectType.ObjectType, after: string | null) =>
  Effect.flatMap(HubSpotClient, (client) =>
    client.listObjects(type, { limit: Api.maxListLimit, ...(after === null ? {} : { after }) })).pipe(
      Effect.map((answer): ListedPart => ({
        ids: answer.results.map((r) => r.id),
        after: answer.results.length === 0 ? undefined : answer.paging?.next?.after
      }))
    )

/** One page of the search walk: the highest ids between the walks, highest first. */
interface SearchedPart {
  readonly ids: ReadonlyArray<ObjectId.ObjectId>
  /** Whether more ids lie between the walks than these. */
  readonly more: boolean
  /** How many ids lie between the walks. */
  readonly total: number
}

/**
 * The search walk's next page: keyset paging on `hs_object_id`, the 200 highest ids between the walks, never an
 * offset, so never near the 10,000 results HubSpot pages through for one query. Undefined when HubSpot refuses to
 * search this type so (a 400): the list walk then goes on alone.
 */
const searchPart = (type: ObjectType.ObjectType, walks: Walks) => {
  const filters: Array<Api.SearchFilter> = [{ propertyName: idProperty, operator: "GT", value: walks.listed ?? "0" }]
  if (walks.searched !== null) filters.push({ propertyName: idProperty, operator: "LT", value: walks.searched })
  return Effect.flatMap(HubSpotClient, (client) =>
    client.search(type, {
      filterGroups: [{ filters }],
      sorts: [{ propertyName: idProperty, direction: "DESCENDING" }],
      properties: [idProperty],
      limit: Api.maxSearchLimit
    })).pipe(
      Effect.map((answer): SearchedPart | undefined => ({
        ids: answer.results.map((r) => r.id),
        // More unless every sign says none: a page too many costs a request, one too few loses ids.
        more: answer.results.length > 0 && (
          answer.paging?.next !== undefined || answer.total > answer.results.length
          || answer.results.length >= Api.maxSearchLimit
        ),
        total: answer.total
      })),
      Effect.catchIf(
        (e) => e.reason === "BadRequest",
        (e) =>
          Effect.as(
            Effect.logWarning(`HubSpot refused to search ${type} by id: listing them through the list API alone`).pipe(
              Effect.annotateLogs({ detail: e.message })
            ),
            undefined
          )
      )
    )
}

/** A journal line of the listing: the ids one step gave, where it goes on (null once done), the total if known. */
interface ListPage {
  readonly ids: ReadonlyArray<ObjectId.ObjectId>
  readonly next: ListPosition | null
  readonly total?: number
}

/** Each id greater than the one before it, the first greater than `from` (when there is one). */
const ascendingFrom = (ids: ReadonlyArray<string>, from: string | null): boolean =>
  ids.every((id, i) => {
    const before = i === 0 ? from : ids[i - 1]!
    return before === null || compareIds(id, before) > 0
  })

/** Where the list walk goes on alone after `page`: up to `below` if given; null after its last page. */
const aloneAfter = (page: ListedPart, below: ObjectId.ObjectId | null): ListPosition | null =>
  page.after === undefined ? null : { after: page.after, ...(below === null ? {} : { below }) }

/**
 * The list walk alone: every page, or, `below` the ids a search walk gave, the pages up to them. It trusts the
 * list API to answer in id order, as it does: a page out of order drops the bound, and the walk lists on to the
 * end, giving some ids twice (an export asks each id once) and losing none.
 */
const listAlone = (type: ObjectType.ObjectType, after: string | null, below: ObjectId.ObjectId | undefined) =>
  Effect.flatMap(listPart(type, after), (page): Effect.Effect<ListPage> => {
    if (below === undefined) return Effect.succeed({ ids: page.ids, next: aloneAfter(page, null) })
    if (!ascendingFrom(page.ids, null)) {
      return Effect.as(
        Effect.logWarning(`the list API answered ${type} out of id order: listing on to the end`),
        { ids: page.ids, next: aloneAfter(page, null) }
      )
    }
    const last = page.ids.at(-1)
    return Effect.succeed({
      ids: page.ids.filter((id) => compareIds(id, below) < 0),
      next: last !== undefined && compareIds(last, below) >= 0 ? null : aloneAfter(page, below)
    })
  })

/**
 * One step of both walks: a page of each, taken at once, from `walks`. The search page's ids are all given
 * (they lie between the walks); the list page's unless the search walk gave them (in this page, by id, or
 * before: from `walks.searched` up), so an id is given once where the walks overlap. The walks met (null next)
 * when the list page reaches the lowest id searched, when the search has no more between the walks, or when the
 * list API has no more. If the list page holds ids between the walks that a search with no more lacks, HubSpot's
 * search index lacks objects its list API has: they are given, and the list walk goes on alone up to the
 * searched ids. The list walk also goes on alone when the search is refused (400) or answers out of order
 * between the walks (that page unused), and to the end when the list API answers out of order.
 */
const step = (
  type: ObjectType.ObjectType,
  walks: Walks,
  listed: ListedPart,
  searched: SearchedPart | undefined,
  firstKey: number
): Effect.Effect<ListPage> => {
  const between = (id: string) =>
    (walks.listed === null || compareIds(id, walks.listed) > 0)
    && (walks.searched === null || compareIds(id, walks.searched) < 0)
  const usable = searched !== undefined && searched.ids.every(between)
    && searched.ids.every((id, i) => i === 0 || compareIds(searched.ids[i - 1]!, id) > 0)
  const taken = usable ? searched.ids : []
  const given = new Set<string>(taken)
  const lowest = taken.at(-1) ?? walks.searched
  const fromList = listed.ids.filter((id) =>
    !given.has(id) && (walks.searched === null || compareIds(id, walks.searched) < 0)
  )
  const ids = [...fromList, ...taken]
  const total = usable ? { total: firstKey + searched.total } : {}
  const alone = (below: ObjectId.ObjectId | null, why: string, counted = total): Effect.Effect<ListPage> =>
    Effect.as(Effect.logWarning(why), { ids, next: aloneAfter(listed, below), ...counted })
  if (searched === undefined) return Effect.succeed({ ids, next: aloneAfter(listed, lowest) })
  if (!usable) {
    return alone(lowest, `HubSpot's search answered ${type} out of order: listing the rest through the list API alone`)
  }
  if (!ascendingFrom(listed.ids, walks.listed)) {
    return alone(null, `the list API answered ${type} out of id order: listing on to the end`)
  }
  const last = listed.ids.at(-1)
  const met = listed.after === undefined || (last !== undefined && lowest !== null && compareIds(last, lowest) >= 0)
  if (met) return Effect.succeed({ ids, next: null, ...total })
  if (!searched.more) {
    const lacking = fromList.some((id) => lowest === null || compareIds(id, lowest) < 0)
    return lacking
      ? alone(lowest, `HubSpot's search lacks ${type} its list API has: listing the rest through the list API alone`, {})
      : Effect.succeed({ ids, next: null, ...total })
  }
  return Effect.succeed({
    ids,
    next: { after: listed.after, walks: { listed: last ?? walks.listed, searched: lowest } },
    ...total
  })
}

/**
 * Every object of a type, walked from both ends of the id space at once: the list API from the lowest id up (100
 * a page) and the search API from the highest down (200 a page, sorted by `hs_object_id`, keyset paged), a page of
 * each at a time, until they meet (`step`); each id is given once, the overlap where they meet dropped. The first
 * search answer's `total` is the source's total. A journal line is one page of each: a resume gives every id the
 * ordinal it had and walks on from both positions.
 *
 * What this sees of a portal that changes while it is walked, as a listing by the list API alone: an object that
 * exists throughout is given once; one created after a walk passed its place (new objects get the highest ids,
 * above where the search walk began) or archived before a walk reached it is not in this snapshot, and one
 * archived after it was given is refused by the batch read (OBJECT_NOT_FOUND). The search index lags writes: an
 * object created just before the run may not be found by the search walk yet, so the identity records that lag
 * (`searchIndexLagMillis` in its details), a run chained to this one starts that much before this one started
 * (`chainedSince`), and such an object is taken by the next night's search by modification date (`--ids-from`),
 * not lost.
 */
export const list = (
  type: ObjectType.ObjectType,
  options: ListOptions
): IdSource.IdSource<HubSpotError | IdSource.IdSourceError, HubSpotClient | FileSystem.FileSystem> =>
  IdSource.fromPages<ListPosition, typeof ListPosition.Encoded, HubSpotError, HubSpotClient>(() => {
    const searched = options.search !== false
    return {
      identity: {
        kind: "list",
        key: type,
        description: `every ${type} listed through the API`,
        // What a run chained to this one sets its start back by (`chainedSince`).
        ...(searched ? { details: { searchIndexLagMillis: String(searchIndexLagMillis) } } : {})
      },
      journal: options.journal,
      position: ListPosition,
      first: searched ? { after: null, walks: { listed: null, searched: null } } : { after: null },
      list: (position, firstKey) => {
        const walks = position.walks
        if (walks === undefined) return listAlone(type, position.after, position.below)
        return Effect.all([listPart(type, position.after), searchPart(type, walks)], { concurrency: 2 }).pipe(
          Effect.flatMap(([listed, searched]) => step(type, walks, listed, searched, firstKey))
        )
      }
    }
  })

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
 * window ended (a search run), or when it started (any other run, which took every object as it was then), set
 * back by the search index's lag when its listing searched (`list`: the index may have lacked the newest objects).
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
  // A listing that searched may lack the objects created within the index's lag before it started.
  const recorded = windowed ? "0" : earlier.source.details?.["searchIndexLagMillis"] ?? "0"
  const lag = /^[0-9]{1,9}$/.test(recorded) ? Number(recorded) : searchIndexLagMillis
  const start = text === undefined ? undefined : parseMoment(text)
  const moment = start === undefined ? undefined : start - lag
  return moment === undefined
    ? Effect.fail(
      new HubSpotIdSourceError({ reason: "Since", detail: "its manifest says neither where its window ended nor when it started" })
    )
    : Effect.succeed(moment)
}
