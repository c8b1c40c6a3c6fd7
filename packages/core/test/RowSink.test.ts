import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema, Stream } from "effect"
import type { AssociationRow, Stage } from "../src/index.js"
import { ObjectId, ObjectType, RowBatch, RowSink } from "../src/index.js"

const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }
const row = (from: number, to: number): AssociationRow.AssociationRow => ({
  from_object_type: "contacts",
  from_object_id: String(from),
  to_object_type: "companies",
  to_object_id: String(to),
  association_category: "HUBSPOT_DEFINED",
  association_type_id: 1,
  association_label: null
})
const finished = { pair, source: { kind: "test", key: "k", description: "test ids" }, startedAt: 0 }

/** A payload whose encoded form differs from its value: the sink must store the encoded one. */
const Payload = Schema.Struct({ at: Schema.NumberFromString })

describe("RowSink.memory", () => {
  it.scoped("keeps what a commit covers, drops what came after it, and gives back the payload", () =>
    Effect.gen(function*() {
      const sink = RowSink.memory()
      const first = yield* sink.open(Payload)
      assert.isTrue(Option.isNone(first.resumed))
      yield* first.append(RowBatch.fromRows([row(1, 10), row(1, 11)]), [])
      yield* first.commit({ at: 1 })
      yield* first.append(RowBatch.fromRows([row(2, 20)]), [])
      // Dropped here, as a crash would.
      const state = yield* sink.committed
      assert.deepStrictEqual(state.rows, [row(1, 10), row(1, 11)])
      assert.deepStrictEqual(state.payload, Option.some({ at: "1" }))

      const second = yield* sink.open(Payload)
      assert.deepStrictEqual(second.resumed, Option.some({ at: 1 }))
      assert.isTrue(Option.isNone(second.finished))
      yield* second.append(RowBatch.fromRows([row(2, 20)]), [])
      const done = yield* second.finish({ at: 2 }, finished)
      assert.deepStrictEqual(done.rows, [row(1, 10), row(1, 11), row(2, 20)])
      assert.isTrue(done.finished)
      assert.strictEqual(done.commits, 2)
      assert.isTrue(Option.isSome((yield* sink.open(Payload)).finished))
    }))
})

describe("RowSink.toSink", () => {
  it.scoped("writes a stream of pages without a checkpoint, then finishes the sink", () =>
    Effect.gen(function*() {
      const sink = RowSink.memory()
      const page = (rows: ReadonlyArray<AssociationRow.AssociationRow>, key: number): Stage.Page => ({
        rows: RowBatch.fromRows(rows),
        errors: [],
        done: [{ key, id: ObjectId.unsafeMake(String(key)) }],
        next: []
      })
      const result = yield* Stream.make(page([row(1, 10)], 1), page([], 2), page([row(3, 30), row(3, 31)], 3)).pipe(
        Stream.run(RowSink.toSink(sink, finished))
      )
      assert.deepStrictEqual(result.rows, [row(1, 10), row(3, 30), row(3, 31)])
      assert.isTrue(result.finished)
    }))
})
