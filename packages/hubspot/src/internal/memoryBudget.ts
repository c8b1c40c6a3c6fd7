/**
 * The memory budget of the batch-read stage, and the weights it learns.
 *
 * `Budget` counts bytes held by charges (whole bytes, so that what is held is 0 exactly when nothing is): a
 * request is charged when it is admitted (the weight its answer is likely to have), the answer's real size once
 * its headers say it, then its page's size once read, until the page is taken from the stage. The stage admits
 * a request only while its charge fits in what is left (`room`); a stage that holds nothing (its `Holder`)
 * always admits one input, so that a budget smaller than one answer still makes progress, one input a request.
 * One budget may serve several stages (the exports of one job), each with a holder of its own: each `listen`s,
 * and each change of what is held wakes them all (`notify`).
 *
 * `Weights` learns, per stage, the bytes of answer an input brings: one weight for fresh ids and one for
 * continuations (a second page is usually far lighter than a first). Each answer gives a sample of each: its
 * size shared between its inputs in proportion to their rows. A sample above the weight replaces it at once (a
 * fat answer must not be followed by more of its kind unprepared); one below brings it halfway down, so light
 * answers bring full batches back within a few answers. Until an answer is seen, an input weighs `prior`.
 */
import { Effect, type Scope } from "effect"

/** What a request or its page holds of the budget. */
export interface Charge {
  bytes: number
  released: boolean
}

export class Budget {
  /** Bytes held by the charges not released. */
  held = 0
  /** The most bytes held at once. */
  peak = 0
  private readonly listeners = new Set<Effect.Effect<void>>()

  constructor(readonly limit: number) {}

  /** What is left of the budget (0 when over). */
  get room(): number {
    return Math.max(0, this.limit - this.held)
  }

  /** Charges of one stage, counted in this budget. */
  holder(): Holder {
    return new Holder(this)
  }

  /** Moves `delta` bytes into what is held. */
  add(delta: number): void {
    this.held += delta
    if (this.held > this.peak) this.peak = this.held
  }

  /** Wakes every stage that waits on this budget: run after each change of `held`. */
  readonly notify: Effect.Effect<void> = Effect.suspend(() =>
    Effect.forEach(this.listeners, (listener) => listener, { discard: true })
  )

  /** `changed` is run on each `notify`, until the scope closes. */
  listen(changed: Effect.Effect<void>): Effect.Effect<void, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.sync(() => this.listeners.add(changed)),
      () => Effect.sync(() => this.listeners.delete(changed))
    )
  }
}

/** The charges of one stage in a budget: what it holds, and the budget's. */
export class Holder {
  /** Bytes held by this holder's charges not released. */
  held = 0

  constructor(readonly budget: Budget) {}

  charge(bytes: number): Charge {
    const charge = { bytes: 0, released: false }
    this.resize(charge, bytes)
    return charge
  }

  resize(charge: Charge, bytes: number): void {
    if (charge.released) return
    const whole = Math.ceil(bytes)
    this.held += whole - charge.bytes
    this.budget.add(whole - charge.bytes)
    charge.bytes = whole
  }

  release(charge: Charge): void {
    this.resize(charge, 0)
    charge.released = true
  }
}

/**
 * An input's weight before any answer is seen: the default budget (80 MiB) shared by a full batch of 1000, about
 * the most a first page brings (500 associations with labelled types, ~160 bytes each; the simulator's heavy shape
 * answers ~70 KB an id). So the first batch of the default budget is full, and a smaller budget's first batch is
 * as large as its guess fits, whatever the answers weigh: its answer's size is known from `Content-Length` before
 * its body is read, and the next requests are sized by it.
 */
export const prior = 80 * 1024

export class Weights {
  fresh = prior
  continuation = prior
  /** Whether an answer to fresh ids was seen (`fresh` is learned, not `prior`). */
  seenFresh = false
  /** Whether an answer to continuations was seen. */
  seenContinuation = false

  /** The likely size of the answer to `fresh` fresh inputs and `continuations` inputs with a cursor. */
  estimate(fresh: number, continuations: number): number {
    return fresh * this.fresh + continuations * this.continuation
  }

  /**
   * Learns from an answer of `bytes` to `freshInputs` fresh inputs that brought `freshRows` rows and
   * `continuationInputs` inputs with a cursor that brought `continuationRows`.
   */
  learn(
    bytes: number,
    freshInputs: number,
    freshRows: number,
    continuationInputs: number,
    continuationRows: number
  ): void {
    const rows = freshRows + continuationRows
    const inputs = freshInputs + continuationInputs
    if (inputs === 0) return
    // An answer without rows is its envelope and refusals: shared by inputs.
    const freshShare = rows > 0 ? freshRows / rows : freshInputs / inputs
    if (freshInputs > 0) {
      this.fresh = next(this.fresh, this.seenFresh, (bytes * freshShare) / freshInputs)
      this.seenFresh = true
    }
    if (continuationInputs > 0) {
      const sample = (bytes * (1 - freshShare)) / continuationInputs
      this.continuation = next(this.continuation, this.seenContinuation, sample)
      this.seenContinuation = true
    }
  }
}

/** Up at once, down halfway; the first sample replaces the prior. Never below a byte: a weight divides. */
const next = (weight: number, seen: boolean, sample: number): number =>
  Math.max(1, !seen || sample >= weight ? sample : (weight + sample) / 2)
