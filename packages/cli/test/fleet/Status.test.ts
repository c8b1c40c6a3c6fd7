import { assert, describe, it } from "@effect/vitest"
import * as Status from "../../src/fleet/Status.js"
import type * as StatusTable from "../../src/fleet/StatusTable.js"

const at = new Date("2026-12-02T02:01:13.456Z")

const row = (portal: string, pair: string, more: Partial<StatusTable.PairRow> = {}): StatusTable.PairRow => ({
  portal,
  pair,
  state: "done",
  rows: 1234,
  refused: 0,
  runner: "127.0.0.1:34431",
  error: null,
  updatedAt: at,
  ...more
})

describe("Status", () => {
  it("a job: its state and tally, then a line a pair, the error last", () => {
    const text = Status.jobText({
      id: "nightly",
      submittedAt: new Date("2026-12-02T02:00:00Z"),
      pairs: [
        row("acme", "contacts-companies"),
        row("acme", "deals-contacts", { state: "running", rows: null, refused: null }),
        row("globex", "contacts-companies", { state: "failed", rows: 0, error: "GLOBEX_TOKEN is not set" })
      ]
    })
    assert.strictEqual(
      text,
      [
        "job nightly: running (submitted 2026-12-02T02:00:00Z), 2 portals, 3 pairs: 1 running, 1 done, 1 failed",
        "PORTAL  PAIR                STATE    ROWS  REFUSED  RUNNER           UPDATED               ERROR",
        "acme    contacts-companies  done     1234  0        127.0.0.1:34431  2026-12-02T02:01:13Z",
        "acme    deals-contacts      running  -     -        127.0.0.1:34431  2026-12-02T02:01:13Z",
        "globex  contacts-companies  failed   0     0        127.0.0.1:34431  2026-12-02T02:01:13Z  "
        + "GLOBEX_TOKEN is not set"
      ].join("\n")
    )
  })

  it("the recent jobs, a line each; none yet is said so", () => {
    assert.strictEqual(Status.recentText([]), "no job submitted yet")
    const text = Status.recentText([{
      id: "nightly",
      submittedAt: new Date("2026-12-02T02:00:00Z"),
      updatedAt: at,
      portals: 2,
      pairs: 3,
      pending: 0,
      running: 0,
      done: 2,
      refusals: 1,
      failed: 0,
      rows: 5000
    }])
    const [head, line] = text.split("\n").map((l) => l.split(/ {2,}/))
    assert.deepStrictEqual(head?.slice(0, 3), ["JOB", "STATE", "SUBMITTED"])
    assert.deepStrictEqual(line, [
      "nightly",
      "done-with-refusals",
      "2026-12-02T02:00:00Z",
      "2026-12-02T02:01:13Z",
      "2",
      "3",
      "2",
      "1",
      "0",
      "0",
      "0",
      "5000"
    ])
  })

  it("as JSON: the same figures, instants in ISO 8601, counts not yet known null", () => {
    const job = JSON.parse(Status.jobJson({
      id: "nightly",
      submittedAt: new Date("2026-12-02T02:00:00Z"),
      pairs: [
        row("acme", "contacts-companies"),
        row("acme", "deals-contacts", { state: "running", rows: null, refused: null, runner: null })
      ]
    }))
    assert.deepStrictEqual(job, {
      id: "nightly",
      state: "running",
      submittedAt: "2026-12-02T02:00:00.000Z",
      pairs: [
        {
          portal: "acme",
          pair: "contacts-companies",
          state: "done",
          rows: 1234,
          refused: 0,
          runner: "127.0.0.1:34431",
          updatedAt: "2026-12-02T02:01:13.456Z",
          error: null
        },
        {
          portal: "acme",
          pair: "deals-contacts",
          state: "running",
          rows: null,
          refused: null,
          runner: null,
          updatedAt: "2026-12-02T02:01:13.456Z",
          error: null
        }
      ]
    })
    assert.deepStrictEqual(JSON.parse(Status.recentJson([])), { jobs: [] })
    const empty = { pending: 0, running: 0, done: 0, refusals: 0, failed: 0 }
    const recent = JSON.parse(Status.recentJson([
      { id: "b", submittedAt: at, updatedAt: at, portals: 1, pairs: 2, ...empty, running: 1, failed: 1, rows: 7 },
      { id: "a", submittedAt: at, updatedAt: null, portals: 0, pairs: 0, ...empty, rows: null }
    ]))
    assert.deepStrictEqual(recent.jobs.map((j: { id: string; state: string | null }) => [j.id, j.state]), [
      ["b", "running"],
      ["a", null]
    ])
    assert.deepStrictEqual(recent.jobs[0], {
      id: "b",
      state: "running",
      submittedAt: "2026-12-02T02:01:13.456Z",
      updatedAt: "2026-12-02T02:01:13.456Z",
      portals: 1,
      pairs: 2,
      done: 0,
      refusals: 0,
      failed: 1,
      running: 1,
      pending: 0,
      rows: 7
    })
  })
})
