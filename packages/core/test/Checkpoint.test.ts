import { assert, describe, it } from "@effect/vitest"
import { Checkpoint, ObjectId } from "../src/index.js"

const args: Checkpoint.Args = {
  from: "contacts",
  to: "companies",
  format: "ndjson",
  input: { kind: "file", path: "ids.txt", digest: "a".repeat(64) }
}

describe("Checkpoint", () => {
  it("the same arguments may resume", () => {
    assert.deepStrictEqual(Checkpoint.differences(args, { ...args }), [])
  })

  it("names each difference of pair, format and input", () => {
    const diffs = Checkpoint.differences(args, {
      from: "deals",
      to: "companies",
      format: "parquet",
      input: { kind: "file", path: "ids.txt", digest: "b".repeat(64) }
    })
    assert.strictEqual(diffs.length, 3)
    assert.include(diffs[0]!, "contacts → companies")
    assert.include(diffs[1]!, "parquet")
    assert.include(diffs[2]!, "sha256 aaaaaaaaaaaa")
  })

  it("the ledger skips done and pending ordinals and snapshots what it holds", () => {
    const ledger = Checkpoint.Ledger.empty()
    ledger.finish(0)
    ledger.finish(2)
    ledger.continueAt(1, ObjectId.unsafeMake("7"), "cursor%3D")
    assert.isTrue(ledger.isStarted(1))
    assert.isFalse(ledger.isStarted(3))
    assert.strictEqual(ledger.lowestOpen(), 3)
    const snap = ledger.snapshot()
    assert.deepStrictEqual(snap as unknown, { done: [[0, 1], [2, 3]], pending: [{ key: 1, id: "7", after: "cursor%3D" }] })
    const again = Checkpoint.Ledger.fromCheckpoint(snap)
    again.finish(1)
    assert.deepStrictEqual(again.snapshot(), { done: [[0, 3]], pending: [] })
  })
})
