/**
 * What a fleet job came to: a state for each pair of each portal, the portal's runner and last error, and the
 * job's exit status from them (DESIGN.md "Command line"): 1 when a portal failed, else 3 when some pair had
 * inputs refused by HubSpot, else 0.
 */
import { Schema } from "effect"

/** A pair's state: `pending` until a runner takes its portal, `running`, then one of the three ends. */
export const State = Schema.Literal("pending", "running", "done", "done-with-refusals", "failed")
export type State = typeof State.Type

/** A pair's end: its rows and refused inputs, when its dataset could be read (never, say, on a bucket). */
export const PairOutcome = Schema.Struct({
  /** `contacts-companies`: the pair's directory under the portal's `out`. */
  pair: Schema.String,
  state: State,
  rows: Schema.NullOr(Schema.Int),
  refused: Schema.NullOr(Schema.Int)
})
export type PairOutcome = typeof PairOutcome.Type

export const PortalOutcome = Schema.Struct({
  portal: Schema.String,
  /** The runner that ran it to its end, `host:port`. */
  runner: Schema.String,
  /** Why it failed: a message, never a token. */
  error: Schema.NullOr(Schema.String),
  pairs: Schema.Array(PairOutcome)
})
export type PortalOutcome = typeof PortalOutcome.Type

export const JobOutcome = Schema.Struct({
  id: Schema.String,
  portals: Schema.Array(PortalOutcome)
})
export type JobOutcome = typeof JobOutcome.Type

/** Of several states, the one the whole is in: failed over refusals over done; running while any is not ended. */
export const worst = (states: ReadonlyArray<State>): State => {
  if (states.some((s) => s === "pending" || s === "running")) {
    return states.some((s) => s !== "pending") ? "running" : "pending"
  }
  if (states.includes("failed")) return "failed"
  if (states.includes("done-with-refusals")) return "done-with-refusals"
  return "done"
}

/** The state of a finished job. */
export const stateOf = (job: JobOutcome): State => worst(job.portals.flatMap((p) => p.pairs.map((pair) => pair.state)))

/** Whether a state is an end. */
export const isEnded = (state: State): boolean => state !== "pending" && state !== "running"
