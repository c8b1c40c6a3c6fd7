/**
 * Batch-read answers that are not complete (`SimulatorOptions.incomplete`): drawn from a seeded rng of their own,
 * three draws every well-formed batch read whatever the probability (incomplete or not, which status, where the
 * results stop), so a seed gives one sequence and the faults' sequence is the same with or without them.
 */
import type { Incomplete, IncompleteStatus } from "./options.js"
import { incompleteStatuses } from "./options.js"

export interface Cut {
  readonly status: IncompleteStatus
  /** The inputs, from the first, whose results (and errors) the answer keeps: fewer than it was asked. */
  readonly keep: number
}

export interface IncompleteAnswers {
  /** The incomplete answers of the requests that arrive from now on. */
  readonly set: (incomplete: Incomplete) => void
  /** The draws of a batch read of `inputs` inputs: undefined for a complete answer. */
  readonly draw: (inputs: number) => Cut | undefined
}

export const make = (initial: Incomplete, rng: () => number): IncompleteAnswers => {
  let incomplete = initial
  return {
    set: (next) => {
      incomplete = next
    },
    draw: (inputs) => {
      const hit = rng() < incomplete.probability
      const which = rng()
      const where = rng()
      if (!hit) return undefined
      const statuses = incomplete.statuses !== undefined && incomplete.statuses.length > 0
        ? incomplete.statuses
        : incompleteStatuses
      return {
        status: statuses[Math.min(statuses.length - 1, Math.floor(which * statuses.length))]!,
        keep: Math.floor(where * inputs)
      }
    }
  }
}
