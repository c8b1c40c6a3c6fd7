import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema, Stream } from "effect"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../../../test/support/Parts.js"
import type { AssociationRow, PartEncoder, Stage } from "../src/index.js"
import { Dataset, NdjsonRows, ObjectId, ObjectType, RowBatch, RowSink } from "../src/index.js"

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

const page = (rows: ReadonlyArray<AssociationRow.AssociationRow>, key: number): Stage.Page => ({
  rows: RowBatch.fromRows(rows),
  errors: [],
  done: [{ key, id: ObjectId.unsafeMake(String(key)) }],
  next: []
})

/** Plain NDJSON, as sink-ndjson writes it: the journal is the part. */
const ndjson: PartEncoder.PartEncoder = {
  format: "ndjson",
  extension: ".ndjson",
  open: Effect.succeed({ write: (rows) => Effect.succeed([NdjsonRows.encode(rows)]), finish: Effect.succeed([]) }),
  partIsJournal: true
}

describe("RowSink.toSink", () => {
  it.scoped("writes a stream of pages without a checkpoint, then finishes the sink", () =>
    Effect.gen(function*() {
      const sink = RowSink.memory()
      const result = yield* Stream.make(page([row(1, 10)], 1), page([], 2), page([row(3, 30), row(3, 31)], 3)).pipe(
        Stream.run(RowSink.toSink(sink, finished))
      )
      assert.deepStrictEqual(result.rows, [row(1, 10), row(3, 30), row(3, 31)])
      assert.isTrue(result.finished)
    }))

  it.scoped("refuses a sink that holds committed work, and rolls a dataset's parts as it writes", () =>
    Effect.gen(function*() {
      const held = RowSink.memory()
      const opened = yield* held.open(Payload)
      yield* opened.append(RowBatch.fromRows([row(1, 10)]), [])
      yield* opened.commit({ at: 1 })
      const refused = yield* Effect.flip(Stream.make(page([row(2, 20)], 2)).pipe(Stream.run(RowSink.toSink(held, finished))))
      assert.instanceOf(refused, RowSink.RowSinkError)
      assert.include(refused.message, "committed rows")
      assert.deepStrictEqual((yield* held.committed).rows, [row(1, 10)])

      const directory = path.join(yield* tempDir, "out")
      const rows = Array.from({ length: 9 }, (_, i) => row(i, 100 + i))
      const manifest = yield* Stream.fromIterable(rows.map((r, i) => page([r], i))).pipe(
        Stream.rechunk(2),
        Stream.run(RowSink.toSink(Dataset.sink({ directory, encoder: ndjson, partMaxRows: 3 }), finished))
      )
      assert.deepStrictEqual(manifest.parts.map((p) => p.rows), [4, 4, 1])
      assert.deepStrictEqual(
        fs.readdirSync(directory).filter((n) => n.startsWith("part-")).flatMap((n) =>
          NdjsonRows.decode(fs.readFileSync(path.join(directory, n), "utf8"))
        ),
        rows
      )
      const again = yield* Effect.flip(Stream.make(page([row(2, 20)], 2)).pipe(
        Stream.run(RowSink.toSink(Dataset.sink({ directory, encoder: ndjson }), finished))
      ))
      assert.include(again.message, "a finished export")
    }).pipe(Effect.provide(NodeContext.layer)))
})

