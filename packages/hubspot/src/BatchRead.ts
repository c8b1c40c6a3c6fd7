/**
 * The batch-read stage: object ids in, pages of association rows out.
 *
 * - Ids are packed into requests of up to `batchSize` inputs. A batch is formed
 *   at the moment a request may start (a concurrency slot is free and the
 *   request budget admits it), so everything that arrived while it waited goes
 *   into it. A partial batch goes out only when nothing more can come from the
 *   source (it has ended): when the rate limit binds, a request spent on a
 *   partial batch is a request lost, and a slow source (a listing, a page of
 *   100 ids a request through the same budget) would otherwise send many.
 *   `maxWait` flushes partial batches after a time instead, for a source that
 *   may stall without ending (a pipe kept open).
 * - An input whose answer has `paging.next.after` comes back as a continuation
 *   and is packed into a later request beside fresh ids (continuations first).
 *   The stage ends when the source is exhausted and no item is outstanding.
 * - A batch of several inputs refused with a 400 `VALIDATION_ERROR` (a server
 *   that takes fewer inputs a request than asked) is put back, whole, ahead of
 *   every other item, and the batch size is halved for the rest of the run
 *   (never grown back): `metrics.batchSize`, `metrics.batchSizeLowered`. The
 *   refusal is no retry of the client's. One input refused so fails the stream.
 * - An id met earlier in the stream is asked once: the repeat is reported in a
 *   page's `done` with no rows (unless `dedupe: false`, for a caller that
 *   passes each id once).
 * - Up to `concurrency` requests are in flight, each retried by the client's
 *   schedule; any failure that survives the retries (401, 403, the daily
 *   limit, retries exhausted) fails the stream. An answer that is not
 *   `COMPLETE`, or names ids not asked, never reaches the stage: the client
 *   retries it (`Incomplete`), so no id is done on a partial answer.
 *
 * The dispatcher's state (the FIFOs and counts) is plain mutable fields, and
 * fibers wait on it with `waitUntil`, an STM retry on a version number: the
 * rule that makes this work is that every change of the state is followed by
 * `changed` in the same fiber step, so no waiter misses it.
 */
import { type AssociationRow, IdSet, type ObjectId, type ObjectType, RowBatch, type Stage } from "@assoc-etl/core"
import { Cause, Chunk, Duration, Effect, Mailbox, Metric, STM, Stream, TRef } from "effect"
import * as Api from "./AssociationsApi.js"
import type * as BatchReadAnswer from "./BatchReadAnswer.js"
import * as Flatten from "./Flatten.js"
import { HubSpotClient } from "./HubSpotClient.js"
import { HubSpotError, isValidationError } from "./HubSpotError.js"

export type Item = Stage.Item
export type Page = Stage.Page

/**
 * What the stage counts. Read them where they were counted (`Metric.value` under the same
 * `Effect.tagMetrics`) to tell one export's figures from another's; requests and retries are the client's.
 */
export const metrics = {
  /** Batch-read calls made (retries are the client's `requests`). */
  batches: Metric.counter("assoc_etl_batch_read_batches", { incremental: true }),
  /** Inputs sent, continuations included. */
  inputs: Metric.counter("assoc_etl_batch_read_inputs", { incremental: true }),
  /** Inputs sent with a cursor. */
  continuations: Metric.counter("assoc_etl_batch_read_continuations", { incremental: true }),
  /** Ids met again in the stream, done with no request (`make` with `dedupe`). */
  duplicates: Metric.counter("assoc_etl_batch_read_duplicates", { incremental: true }),
  /** The longest chain of pages of one id seen so far. */
  longestChain: Metric.gauge("assoc_etl_batch_read_longest_chain"),
  /** The batch size in use: the one asked for, or what it was lowered to after HubSpot refused larger batches. */
  batchSize: Metric.gauge("assoc_etl_batch_read_batch_size"),
  /** Times the batch size was lowered (halved) after HubSpot refused a batch as too large. */
  batchSizeLowered: Metric.counter("assoc_etl_batch_read_batch_size_lowered", { incremental: true })
} as const

export interface BatchReadOptions {
  readonly from: ObjectType.ObjectType
  readonly to: ObjectType.ObjectType
  /** Inputs a request; default and most 1000. */
  readonly batchSize?: number
  /** Requests in flight; default 6. */
  readonly concurrency?: number
  /**
   * How long a partial batch waits for more ids before it goes out while the source has not ended; default
   * none (it waits for a full batch or the source's end, which spends the fewest requests). For a source that
   * may stall for long without ending.
   */
  readonly maxWait?: Duration.DurationInput
  /**
   * Ask a duplicate id once (default `true`), remembering every id met (about 10 bytes an id). `false` when
   * the caller already passes each id once (`Export.run` does, across resumes too).
   */
  readonly dedupe?: boolean
}

export const defaultBatchSize = Api.maxBatchInputs
export const defaultConcurrency = 6

/** A FIFO of items: an array with a moving head. */
class Fifo {
  private items: Array<Item> = []
  private head = 0
  get size(): number {
    return this.items.length - this.head
  }
  push(item: Item): void {
    this.items.push(item)
  }
  pushAll(items: ReadonlyArray<Item>): void {
    for (const item of items) this.items.push(item)
  }
  take(n: number, into: Array<Item>): void {
    const end = Math.min(this.items.length, this.head + n)
    for (let i = this.head; i < end; i++) into.push(this.items[i]!)
    this.head = end
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

/** The limit a refusal's message names ("at most 100 inputs", "maximum of 100", "limit is 100"), if any. */
export const statedLimit = (message: string): number | undefined => {
  const m = /\b(?:at most|up to|max(?:imum)?|limit)\b(?:\s+(?:is|of|=))?[\s:]*(\d{1,4})\b/i.exec(message)
  const n = m === null ? NaN : Number(m[1])
  return n >= 1 ? n : undefined
}

/** The page of one answer to the inputs `batch`. */
export const toPage = (
  pair: AssociationRow.Pair,
  batch: ReadonlyArray<Item>,
  answer: BatchReadAnswer.BatchReadAnswer
): Page => {
  const rows = answer.rows(pair, batch.map((i) => i.id))
  const errors = answer.errors.flatMap((e) => Flatten.errorRows(pair, e))
  const cursors = new Map<string, string>()
  for (const r of answer.results) {
    if (r.after !== undefined && !cursors.has(r.fromId)) cursors.set(r.fromId, r.after)
  }
  const done: Array<Item> = []
  const next: Array<Item> = []
  for (const item of batch) {
    const after = cursors.get(item.id)
    if (after === undefined) done.push(item)
    else next.push({ key: item.key, id: item.id, after })
  }
  return { rows, errors, done, next }
}

/** An input whose answer points at the very page it asked for (a server bug that would loop), if any. */
const repeatedCursor = (batch: ReadonlyArray<Item>, page: Page): Item | undefined => {
  if (page.next.length === 0) return undefined
  const sent = new Map<number, string>()
  for (const item of batch) if (item.after !== undefined) sent.set(item.key, item.after)
  return page.next.find((item) => item.after !== undefined && sent.get(item.key) === item.after)
}

export const make = (options: BatchReadOptions) =>
<E, R>(items: Stream.Stream<Item, E, R>): Stream.Stream<Page, E | HubSpotError, R | HubSpotClient> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const client = yield* HubSpotClient
    const pair: AssociationRow.Pair = { fromType: options.from, toType: options.to }
    const asked = Math.max(1, Math.min(Api.maxBatchInputs, Math.floor(options.batchSize ?? defaultBatchSize)))
    // The size in use: `asked`, or less once HubSpot refused a batch as too large.
    let batchSize = asked
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? defaultConcurrency))
    const maxWait = options.maxWait === undefined ? undefined : Duration.decode(options.maxWait)
    let longestChain = 0
    const highWater = asked * (concurrency + 2)
    yield* Metric.set(metrics.batchSize, batchSize)

    // Two pages wait here at most: a slow consumer holds answers back in the requests in flight, instead of
    // pages piling up (a page of 1000 ids can hold tens of thousands of rows).
    const mailbox = yield* Mailbox.make<Page, E | HubSpotError>(2)
    const version = yield* TRef.make(0)
    const changed = STM.commit(TRef.update(version, (n) => n + 1))
    /** Waits until `cond` holds; it is checked again whenever the state changes. */
    const waitUntil = (cond: () => boolean) => STM.commit(STM.zipRight(TRef.get(version), STM.check(cond)))

    // Items of a batch HubSpot refused as too large, sent again first; then continuations, then fresh ids.
    const refused = new Fifo()
    const continuations = new Fifo()
    const fresh = new Fifo()
    const dedupe = options.dedupe ?? true
    const seen = IdSet.IdSet.empty()
    const pending = () => refused.size + continuations.size + fresh.size
    const chain = new Map<number, number>()
    let sourceDone = false
    let outstanding = 0
    let inFlight = 0

    const failWith = (cause: Cause.Cause<E | HubSpotError>) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : mailbox.failCause(cause)

    // The source: ids into the pending FIFOs, duplicates straight out.
    yield* items.pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.gen(function*() {
          yield* waitUntil(() => pending() < highWater)
          const duplicates: Array<Item> = []
          for (const item of chunk) {
            if (dedupe) {
              if (seen.has(item.id)) {
                duplicates.push(item)
                continue
              }
              seen.add(item.id)
            }
            outstanding++
            if (item.after === undefined) fresh.push(item)
            else continuations.push(item)
          }
          yield* changed
          if (duplicates.length > 0) {
            yield* Metric.incrementBy(metrics.duplicates, duplicates.length)
            yield* mailbox.offer({ rows: RowBatch.empty, errors: [], done: duplicates, next: [] })
          }
        })
      ),
      Effect.zipRight(Effect.suspend(() => {
        sourceDone = true
        return changed
      })),
      Effect.catchAllCause(failWith),
      Effect.forkScoped
    )

    const permits = yield* Effect.makeSemaphore(concurrency)

    const send = (batch: ReadonlyArray<Item>) =>
      client.batchRead(
        options.from,
        options.to,
        batch.map((i) => (i.after === undefined ? { id: i.id } : { id: i.id, after: i.after })),
        { admitted: true }
      ).pipe(
        Effect.flatMap((response) => {
          const page = toPage(pair, batch, response)
          const looping = repeatedCursor(batch, page)
          if (looping !== undefined) {
            return new HubSpotError({
              reason: "Decode",
              method: "POST",
              path: `batch read ${options.from} -> ${options.to}`,
              detail: `HubSpot answered id ${looping.id} with the cursor it was sent (${looping.after}); `
                + "stopping rather than asking for the same page forever"
            })
          }
          // The page (with its cursors) goes out before any page of its continuations.
          return Effect.zipRight(
            mailbox.offer(page),
            Effect.suspend(() => {
              const longest = longestChain
              for (const item of page.done) chain.delete(item.key)
              for (const item of page.next) {
                const length = (chain.get(item.key) ?? 1) + 1
                chain.set(item.key, length)
                if (length > longestChain) longestChain = length
                continuations.push(item)
              }
              outstanding -= page.done.length
              inFlight--
              return longestChain > longest ? Effect.zipRight(Metric.set(metrics.longestChain, longestChain), changed) : changed
            })
          )
        }),
        Effect.catchIf(
          (e): e is HubSpotError => e instanceof HubSpotError && isValidationError(e) && batch.length > 1,
          (e) => tooLarge(batch, e)
        ),
        Effect.ensuring(permits.release(1)),
        Effect.catchAllCause(failWith)
      )

    /**
     * HubSpot refused `batch` as sent: its items go back, ahead of all others, and batches are at most the limit
     * its message names ("at most 100 inputs"), or half its size, from now on. Nothing of the refused answer is
     * kept (it has no rows).
     */
    const tooLarge = (batch: ReadonlyArray<Item>, e: HubSpotError) =>
      Effect.suspend(() => {
        refused.pushAll(batch)
        inFlight--
        const named = statedLimit(e.detail ?? "")
        const size = named !== undefined && named < batch.length ? named : Math.max(1, Math.floor(batch.length / 2))
        if (size >= batchSize) return changed
        batchSize = size
        return Effect.all([
          changed,
          Metric.set(metrics.batchSize, size),
          Metric.increment(metrics.batchSizeLowered),
          Effect.logWarning(`batch size lowered to ${size}: HubSpot refused a batch of ${batch.length} inputs`).pipe(
            Effect.annotateLogs({ detail: e.detail ?? "" })
          )
        ], { discard: true })
      })

    // The dispatcher: one batch at a time, formed when a request may start.
    const dispatch = Effect.gen(function*() {
      for (;;) {
        yield* waitUntil(() => pending() > 0 || (sourceDone && outstanding === 0))
        if (pending() === 0) break
        yield* permits.take(1)
        if (sourceDone) {
          // The tail: only continuations can come, from requests in flight; wait for them all
          // (bounded by their latency) so each round of pages goes out in as few requests as possible.
          yield* waitUntil(() => pending() >= batchSize || inFlight === 0)
        } else {
          // The source still produces: wait for a full batch (or, with `maxWait`, at most that long).
          const full = waitUntil(() => pending() >= batchSize || sourceDone)
          yield* maxWait === undefined ? full : Effect.timeoutOption(full, maxWait)
          // Its end may have come while a round of continuations was in flight: that is the tail's wait.
          if (sourceDone) yield* waitUntil(() => pending() >= batchSize || inFlight === 0)
        }
        yield* client.budget.requests.acquire
        const batch: Array<Item> = []
        refused.take(batchSize, batch)
        continuations.take(batchSize - batch.length, batch)
        fresh.take(batchSize - batch.length, batch)
        let withCursor = 0
        for (const item of batch) if (item.after !== undefined) withCursor++
        inFlight++
        yield* Metric.increment(metrics.batches)
        yield* Metric.incrementBy(metrics.inputs, batch.length)
        yield* Metric.incrementBy(metrics.continuations, withCursor)
        yield* changed
        yield* Effect.forkScoped(send(batch))
      }
      yield* mailbox.end
    })
    yield* dispatch.pipe(Effect.catchAllCause(failWith), Effect.forkScoped)

    return Mailbox.toStream(mailbox)
  }))

/** The stage for `Export.run`: `make` for the pair it is given, ids not deduped (the run passes each once). */
export const stage = (options: Omit<BatchReadOptions, "from" | "to" | "dedupe"> = {}): Stage.Stage<HubSpotError, HubSpotClient> =>
(pair, items) => make({ ...options, from: pair.fromType, to: pair.toType, dedupe: false })(items)

/** `make` for plain ids: keys are the ids' positions in the stream, 0, 1, 2, ... */
export const fromIds = (options: BatchReadOptions) =>
<E, R>(ids: Stream.Stream<ObjectId.ObjectId, E, R>): Stream.Stream<Page, E | HubSpotError, R | HubSpotClient> =>
  Stream.suspend(() => {
    let key = 0
    return ids.pipe(Stream.mapChunks((chunk) => Chunk.map(chunk, (id): Item => ({ key: key++, id }))))
  }).pipe(make(options))
