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
 * - Memory: the answers in flight and the pages not yet taken from the stage
 *   hold at most `memory` bytes (`internal/memoryBudget.ts`). A request is
 *   charged the answer it is likely to bring (its inputs times the weight an
 *   input's answer had lately, fresh ids and continuations apart; a guess
 *   before any answer), then the answer's size once its headers say it, then
 *   its page's. A batch holds as many inputs as make a third of the budget
 *   (all of `batchSize` when answers are light), and goes out only when its
 *   charge fits in what is left (fewer in flight when answers are fat); with
 *   nothing of its own held, one input always goes, so a budget smaller than
 *   one answer still finishes, one id a request (`metrics.memoryOverBudget`,
 *   and a warning). An answer's page is handed on in pages of at most
 *   `maxPageRows` rows (an id's rows stay together), since a writer encodes a
 *   page in one buffer: an answer of 1000 ids of 500 associations would be
 *   ~150 MB of NDJSON at once. Stages made by one `stage(...)` value share
 *   one budget: the exports of a job run side by side.
 *
 * The dispatcher's state (the FIFOs and counts) is plain mutable fields, and
 * fibers wait on it with `waitUntil`, an STM retry on a version number: the
 * rule that makes this work is that every change of the state is followed by
 * `changed` in the same fiber step, so no waiter misses it.
 */
import { type AssociationRow, IdSet, type ObjectId, type ObjectType, RowBatch, type Stage } from "@assoc-etl/core"
import { Cause, Chunk, Clock, Duration, Effect, Mailbox, Metric, STM, Stream, TRef } from "effect"
import * as Api from "./AssociationsApi.js"
import type * as BatchReadAnswer from "./BatchReadAnswer.js"
import * as Flatten from "./Flatten.js"
import { HubSpotClient } from "./HubSpotClient.js"
import { HubSpotError, isValidationError } from "./HubSpotError.js"
import * as AnswerBody from "./internal/answerBody.js"
import * as Memory from "./internal/memoryBudget.js"

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
  batchSizeLowered: Metric.counter("assoc_etl_batch_read_batch_size_lowered", { incremental: true }),
  /** The memory budget in bytes (`BatchReadOptions.memory`); `Infinity` for none. */
  memoryBudget: Metric.gauge("assoc_etl_batch_read_memory_budget"),
  /** The most bytes of answers and pages held at once, as the budget counts them. */
  memoryPeak: Metric.gauge("assoc_etl_batch_read_memory_peak"),
  /** Batches sent with fewer inputs than the batch size and the ids waiting allowed, so that answers fit. */
  memoryBoundBatches: Metric.counter("assoc_etl_batch_read_memory_bound_batches", { incremental: true }),
  /** Milliseconds requests waited for earlier answers to be written, their likely answers not fitting. */
  memoryWaitMillis: Metric.counter("assoc_etl_batch_read_memory_wait_millis", { incremental: true }),
  /**
   * Requests of one input sent alone because one answer outweighs the whole budget (the budget cannot hold one
   * answer: it is read all the same).
   */
  memoryOverBudget: Metric.counter("assoc_etl_batch_read_memory_over_budget", { incremental: true })
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
  /**
   * Bytes the answers in flight and the pages not yet taken may hold at once; default `defaultMemory`.
   * `Infinity` for no bound. A budget smaller than one answer still finishes, one id a request.
   */
  readonly memory?: number
}

export const defaultBatchSize = Api.maxBatchInputs
export const defaultConcurrency = 6
/**
 * The default memory budget, 80 MiB: with it an export's peak RSS stays under 400 MB however heavy the answers
 * (the process, the writer, and answers read but not yet collected take the rest: bench `memory`), and light
 * answers never meet it.
 */
export const defaultMemory = 80 * 1024 * 1024
/** The most rows of one page handed on (an id's rows are never split): a writer encodes a page at once. */
export const maxPageRows = 50_000
/**
 * A request's likely answer is at most a third of the budget: when answers are fat, three are in flight or
 * waiting, enough to keep the server and the writer busy.
 */
const requestShare = 3

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
  /** The item `i` places from the head (`i < size`). */
  at(i: number): Item {
    return this.items[this.head + i]!
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

/**
 * `page` as pages of at most `maxRows` rows, in order, each with the items whose rows it holds (an id's rows are
 * never split, so a page may hold more when one id does); refused inputs and items without rows go with the
 * first. One page when it is small enough.
 */
export const splitPage = (page: Page, maxRows: number = maxPageRows): ReadonlyArray<Page> => {
  const { rows } = page
  if (rows.length <= maxRows) return [page]
  const parts: Array<Array<RowBatch.Group>> = [[]]
  const partOf = new Map<string, number>()
  let inPart = 0
  for (const group of rows.groups) {
    const n = group.end - group.start
    if (inPart > 0 && inPart + n > maxRows) {
      parts.push([])
      inPart = 0
    }
    parts[parts.length - 1]!.push(group)
    partOf.set(group.fromId, parts.length - 1)
    inPart += n
  }
  const done = parts.map((): Array<Item> => [])
  const next = parts.map((): Array<Item> => [])
  for (const item of page.done) done[partOf.get(item.id) ?? 0]!.push(item)
  for (const item of page.next) next[partOf.get(item.id) ?? 0]!.push(item)
  return parts.map((groups, i): Page => ({
    rows: new RowBatch.RowBatch(rows.bytes, groups, rows.rows, rows.types, rows.digitIds),
    errors: i === 0 ? page.errors : [],
    done: done[i]!,
    next: next[i]!
  }))
}

/** The bytes a page holds: its rows' columns, and a little for each group and refusal. */
const pageBytes = (page: Page): number =>
  page.rows.bytes.byteLength + page.rows.rows.byteLength + 64 * page.rows.groups.length + 512 * page.errors.length

/** An input whose answer points at the very page it asked for (a server bug that would loop), if any. */
const repeatedCursor = (batch: ReadonlyArray<Item>, page: Page): Item | undefined => {
  if (page.next.length === 0) return undefined
  const sent = new Map<number, string>()
  for (const item of batch) if (item.after !== undefined) sent.set(item.key, item.after)
  return page.next.find((item) => item.after !== undefined && sent.get(item.key) === item.after)
}

/** The budget `memory` asks for: `defaultMemory` unless given; 0 or less holds one answer at a time. */
const budgetOf = (memory: number | undefined): Memory.Budget =>
  new Memory.Budget(memory === undefined || Number.isNaN(memory) ? defaultMemory : Math.max(0, memory))

/** A size for people, as the stage's warnings and the CLI's summary spell it: `512 B`, `32 KiB`, `68.4 MiB`. */
export const sizeText = (bytes: number): string => {
  const [unit, scale] = bytes < 2 ** 10 ? ["B", 1] : bytes < 2 ** 20 ? ["KiB", 2 ** 10] : bytes < 2 ** 30
    ? ["MiB", 2 ** 20]
    : ["GiB", 2 ** 30]
  return `${Math.round((bytes / scale) * 10) / 10} ${unit}`
}

export const make = (options: BatchReadOptions) => makeWith(options, undefined)

/** `make`, its answers counted against `shared` when given (a budget of several stages), else its own. */
const makeWith = (options: BatchReadOptions, shared: Memory.Budget | undefined) =>
<E, R>(items: Stream.Stream<Item, E, R>): Stream.Stream<Page, E | HubSpotError, R | HubSpotClient> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const client = yield* HubSpotClient
    // Large answers' buffers serve later answers while the stage runs (`internal/answerBody.ts`).
    yield* AnswerBody.keepFreeBuffers
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

    // The memory budget: what this run holds of it is released when the run ends, however it ends (a shared
    // budget outlives the run). A change of what it holds is followed by `memoryChanged`, which runs `changed`
    // of every stage on the budget.
    const memory = shared ?? budgetOf(options.memory)
    const own = memory.holder()
    const weights = new Memory.Weights()
    const charges = new Set<Memory.Charge>()
    /** The last page of an answer, handed on: taken, it releases the answer's charge. */
    const releasedBy = new Map<Page, Memory.Charge>()
    const memoryChanged = Effect.zipRight(
      Effect.suspend(() => Metric.set(metrics.memoryPeak, memory.peak)),
      memory.notify
    )
    const release = (charge: Memory.Charge) =>
      Effect.suspend(() => {
        own.release(charge)
        charges.delete(charge)
        return memoryChanged
      })
    yield* Metric.set(metrics.memoryBudget, memory.limit)
    yield* memory.listen(changed)
    yield* Effect.addFinalizer(() => Effect.forEach([...charges], release, { discard: true }))
    let warnedOverBudget = false

    /** How many items of weight `w` (0: unknown, any number) fit in `room`. */
    const per = (room: number, w: number) => (w > 0 ? Math.floor(room / w) : Infinity)
    /**
     * How many items, from the front of the queues in the order a batch takes them, have answers that fit in
     * `bytes` together (at most `batchSize`), a fresh id's weighing `freshWeight` and a continuation's
     * `continuationWeight`; with `more`, the queues go on with items of that weight.
     */
    const fitting = (bytes: number, freshWeight: number, continuationWeight: number, more?: number): number => {
      let room = bytes
      let n = 0
      for (let i = 0; i < refused.size && n < batchSize; i++) {
        const w = refused.at(i).after === undefined ? freshWeight : continuationWeight
        if (w > room) return n
        room -= w
        n++
      }
      const k = Math.min(continuations.size, batchSize - n, per(room, continuationWeight))
      n += k
      room -= k * continuationWeight
      if (k < continuations.size) return n
      const j = Math.min(fresh.size, batchSize - n, per(room, freshWeight))
      n += j
      room -= j * freshWeight
      if (j < fresh.size || more === undefined) return n
      return n + Math.min(batchSize - n, per(room, more))
    }
    /**
     * The inputs of a full batch: as many as make a share of the budget by the weights learned, at most
     * `batchSize`, at least one; the items to come are fresh ids while the source gives them, then continuations.
     * Before any answer, a batch is full: the guess only holds back how many go at once (`fits`).
     */
    const target = () => {
      const f = weights.seenFresh ? weights.fresh : 0
      const c = weights.seenContinuation ? weights.continuation : 0
      return Math.max(1, fitting(memory.limit / requestShare, f, c, sourceDone ? c : f))
    }
    /** How many items at the front have likely answers (learned, or guessed) that fit in what is left. */
    const fittingRoom = () => fitting(memory.room, weights.fresh, weights.continuation)
    /**
     * Whether the next batch's likely answer fits in what is left; with nothing held by this stage, any batch
     * does (each export of a shared budget makes progress: over it by one answer each, at worst).
     */
    const fits = () => own.held === 0 || fittingRoom() >= Math.min(target(), pending())

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

    /** Learns the weight of an input's answer from `page`, the answer of `bytes` to `batch`. */
    const learn = (batch: ReadonlyArray<Item>, page: Page, bytes: number) => {
      const rowsOf = new Map<string, number>()
      for (const g of page.rows.groups) rowsOf.set(g.fromId, (rowsOf.get(g.fromId) ?? 0) + g.end - g.start)
      let freshInputs = 0
      let freshRows = 0
      let continued = 0
      let continuedRows = 0
      for (const item of batch) {
        const rows = rowsOf.get(item.id) ?? 0
        if (item.after === undefined) {
          freshInputs++
          freshRows += rows
        } else {
          continued++
          continuedRows += rows
        }
      }
      weights.learn(bytes, freshInputs, freshRows, continued, continuedRows)
    }

    const send = (batch: ReadonlyArray<Item>, charge: Memory.Charge) => {
      let answerSize = 0
      let handedOn = false
      let withCursor = 0
      for (const item of batch) if (item.after !== undefined) withCursor++
      // The first answer of a kind is learned from its size alone as soon as its headers say it (the batch holds
      // that kind only), so that the requests held back by the guess go before its body is read.
      const learnEarly = withCursor === 0
        ? !weights.seenFresh
        : withCursor === batch.length && !weights.seenContinuation
      return client.batchRead(
        options.from,
        options.to,
        batch.map((i) => (i.after === undefined ? { id: i.id } : { id: i.id, after: i.after })),
        {
          admitted: true,
          onAnswerSize: (bytes) =>
            Effect.suspend(() => {
              answerSize = bytes
              own.resize(charge, bytes)
              if (learnEarly) weights.learn(bytes, batch.length - withCursor, 0, withCursor, 0)
              return memoryChanged
            })
        }
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
          learn(batch, page, answerSize)
          // From here the answer holds its page (its body is garbage), until the page's last part is taken.
          own.resize(charge, pageBytes(page))
          const pages = splitPage(page)
          releasedBy.set(pages[pages.length - 1]!, charge)
          handedOn = true
          // The page (with its cursors) goes out before any page of its continuations.
          return memoryChanged.pipe(
            Effect.zipRight(Effect.forEach(pages, (p) => mailbox.offer(p), { discard: true })),
            Effect.zipRight(Effect.suspend(() => {
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
              return longestChain > longest
                ? Effect.zipRight(Metric.set(metrics.longestChain, longestChain), changed)
                : changed
            }))
          )
        }),
        Effect.catchIf(
          (e): e is HubSpotError => e instanceof HubSpotError && isValidationError(e) && batch.length > 1,
          (e) => tooLarge(batch, e)
        ),
        Effect.ensuring(Effect.suspend(() => handedOn ? Effect.void : release(charge))),
        Effect.ensuring(permits.release(1)),
        Effect.catchAllCause(failWith)
      )
    }

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
          yield* waitUntil(() => pending() >= target() || inFlight === 0)
        } else {
          // The source still produces: wait for a full batch (or, with `maxWait`, at most that long).
          const full = waitUntil(() => pending() >= target() || sourceDone)
          yield* maxWait === undefined ? full : Effect.timeoutOption(full, maxWait)
          // Its end may have come while a round of continuations was in flight: that is the tail's wait.
          if (sourceDone) yield* waitUntil(() => pending() >= target() || inFlight === 0)
        }
        // Its likely answer must fit beside what is held: wait for earlier answers to be taken.
        if (!fits()) {
          const since = yield* Clock.currentTimeMillis
          yield* waitUntil(fits)
          yield* Metric.incrementBy(metrics.memoryWaitMillis, (yield* Clock.currentTimeMillis) - since)
        }
        yield* client.budget.requests.acquire
        const waiting = pending()
        const size = Math.min(target(), Math.max(1, fittingRoom()))
        const batch: Array<Item> = []
        refused.take(size, batch)
        continuations.take(size - batch.length, batch)
        fresh.take(size - batch.length, batch)
        let withCursor = 0
        for (const item of batch) if (item.after !== undefined) withCursor++
        const estimate = weights.estimate(batch.length - withCursor, withCursor)
        const charge = own.charge(estimate)
        charges.add(charge)
        inFlight++
        yield* Metric.increment(metrics.batches)
        yield* Metric.incrementBy(metrics.inputs, batch.length)
        yield* Metric.incrementBy(metrics.continuations, withCursor)
        if (batch.length < Math.min(batchSize, waiting)) yield* Metric.increment(metrics.memoryBoundBatches)
        if (estimate > memory.limit) {
          yield* Metric.increment(metrics.memoryOverBudget)
          // Said once an answer showed it, not on the guess made before any.
          const learned = withCursor === 0 ? weights.seenFresh : weights.seenContinuation
          if (learned && !warnedOverBudget) {
            warnedOverBudget = true
            yield* Effect.logWarning(
              `the memory budget (${sizeText(memory.limit)}) is smaller than the answer for one id `
                + `(~${sizeText(estimate)}): one id a request, one request at a time`
            )
          }
        }
        yield* changed
        yield* memoryChanged
        yield* Effect.forkScoped(send(batch, charge))
      }
      yield* mailbox.end
    })
    yield* dispatch.pipe(Effect.catchAllCause(failWith), Effect.forkScoped)

    return Mailbox.toStream(mailbox).pipe(
      Stream.tap((page) => {
        const charge = releasedBy.get(page)
        if (charge === undefined) return Effect.void
        releasedBy.delete(page)
        return release(charge)
      })
    )
  }))

/**
 * The stage for `Export.run`: `make` for the pair it is given, ids not deduped (the run passes each once). The
 * exports it serves share one memory budget (`memory`): a job's pairs run side by side in one process.
 */
export const stage = (
  options: Omit<BatchReadOptions, "from" | "to" | "dedupe"> = {}
): Stage.Stage<HubSpotError, HubSpotClient> => {
  const budget = budgetOf(options.memory)
  return (pair, items) => makeWith({ ...options, from: pair.fromType, to: pair.toType, dedupe: false }, budget)(items)
}

/** `make` for plain ids: keys are the ids' positions in the stream, 0, 1, 2, ... */
export const fromIds = (options: BatchReadOptions) =>
<E, R>(ids: Stream.Stream<ObjectId.ObjectId, E, R>): Stream.Stream<Page, E | HubSpotError, R | HubSpotClient> =>
  Stream.suspend(() => {
    let key = 0
    return ids.pipe(Stream.mapChunks((chunk) => Chunk.map(chunk, (id): Item => ({ key: key++, id }))))
  }).pipe(make(options))
