import { assert, describe, it } from "@effect/vitest"
import * as Outcome from "../../src/fleet/Outcome.js"

describe("Outcome", () => {
  it("a whole is running while a part is not ended; then failed over refusals over done", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<Outcome.State>, Outcome.State]> = [
      [["pending", "pending"], "pending"],
      [["pending", "done"], "running"],
      [["running", "failed"], "running"],
      [["done", "done"], "done"],
      [["done", "done-with-refusals"], "done-with-refusals"],
      [["done-with-refusals", "failed", "done"], "failed"]
    ]
    for (const [states, expected] of cases) assert.strictEqual(Outcome.worst(states), expected, states.join(", "))
    for (const state of Outcome.State.literals) assert.strictEqual(Outcome.worst([state]), state)
  })

  it("a job's state is its pairs' worst", () => {
    const pair = (state: Outcome.State): Outcome.PairOutcome => ({
      pair: "contacts-companies",
      state,
      rows: 1,
      refused: 0
    })
    const job: Outcome.JobOutcome = {
      id: "j",
      portals: [
        { portal: "a", runner: "127.0.0.1:1", error: null, pairs: [pair("done"), pair("done-with-refusals")] },
        { portal: "b", runner: "127.0.0.1:2", error: null, pairs: [pair("done")] }
      ]
    }
    assert.strictEqual(Outcome.stateOf(job), "done-with-refusals")
  })
})
