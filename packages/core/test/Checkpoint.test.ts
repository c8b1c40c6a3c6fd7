import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import type { IdSource } from "../src/index.js"
import { Checkpoint, ObjectId, ObjectType } from "../src/index.js"

const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }
const source: IdSource.Identity = {
  kind: "file",
  key: "a".repeat(64),
  description: "the id file /data/ids.txt (sha256 aaaaaaaaaaaa)",
  details: { path: "/data/ids.txt" }
}
const committed = { from: "contacts", to: "companies", source }

describe("Checkpoint", () => {
  it("the same pair and source may resume", () => {
    assert.deepStrictEqual(Checkpoint.differences(committed, { pair, source: { ...source } }), [])
  })

  it("a source's description and details are not compared: only its kind and key", () => {
    const moved = { ...source, description: "the id file /elsewhere/ids.txt", details: { path: "/elsewhere/ids.txt" } }
    assert.deepStrictEqual(Checkpoint.differences(committed, { pair, source: moved }), [])
  })

  it("names each difference of pair and source, with the sources' descriptions", () => {
    const other: IdSource.Identity = {
      kind: "file",
      key: "b".repeat(64),
      description: "the id file (sha256 bbbbbbbbbbbb)"
    }
    const diffs = Checkpoint.differences(committed, {
      pair: { fromType: ObjectType.unsafeMake("deals"), toType: pair.toType },
      source: other
    })
    assert.strictEqual(diffs.length, 2)
    assert.include(diffs[0]!, "contacts → companies")
    assert.include(diffs[0]!, "deals → companies")
    assert.include(diffs[1]!, "sha256 aaaaaaaaaaaa")
    assert.include(diffs[1]!, "sha256 bbbbbbbbbbbb")
  })

  it("a source of another kind with the same key is another source", () => {
    const stdin = { ...source, kind: "stdin", description: "ids from stdin" }
    const diffs = Checkpoint.differences(committed, { pair, source: stdin })
    assert.strictEqual(diffs.length, 1)
    assert.include(diffs[0]!, "ids from stdin")
  })

  it("the payload schema is version 2 and round-trips an export's state", () => {
    const checkpoint: Checkpoint.Checkpoint = {
      version: 2,
      from: "contacts",
      to: "companies",
      source,
      startedAt: 1_780_000_000_000,
      done: [[0, 3]],
      pending: [{ key: 4, id: ObjectId.unsafeMake("7"), after: "cursor%3D" }],
      badLinesRecorded: true,
      counters: { rows: 12, refused: 1, withoutRows: 2 }
    }
    const encoded = Schema.encodeSync(Checkpoint.Checkpoint)(checkpoint)
    const decoded = Schema.decodeUnknownSync(Checkpoint.Checkpoint)(JSON.parse(JSON.stringify(encoded)))
    assert.deepStrictEqual(decoded, checkpoint)
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Checkpoint.Checkpoint)({ ...encoded, version: 1 })))
    const badId = { ...encoded, pending: [{ key: 4, id: "7x", after: "" }] }
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Checkpoint.Checkpoint)(badId)))
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
