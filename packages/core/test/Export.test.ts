/**
 * `Export.run`'s protocol with any source, stage and sink that keep their laws: here a stage of this file's own
 * (rows from a table, a few a page, with cursors), the memory sink and the dataset directory, and failures
 * at every commit.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, layer } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, FastCheck as fc, Metric, Option, Schema, Stream, Tracer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { AssociationRow, PartEncoder, Stage } from "../src/index.js"
import { Dataset, Export, IdSource, NdjsonRows, ObjectId, ObjectType, RowBatch, RowSink } from "../src/index.js"
import { tempDir } from "../../../test/support/Parts.js"

type Row = AssociationRow.AssociationRow

const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }

/** The associations of id `n`: `n % 7` of them (0 to 6), to ids n*10+k. */
const rowsOf = (id: string): Array<Row> => {
  const n = Number(id)
  return Array.from({ length: n % 7 }, (_, k) => ({
    from_object_type: pair.fromType,
    from_object_id: id,
    to_object_type: pair.toType,
    to_object_id: String(n * 10 + k),
    association_category: "HUBSPOT_DEFINED",
    association_type_id: 1 + (k % 2),
    association_label: k % 3 === 0 ? null : `label ${k}`
  }))
}

const key = (r: Row) => `${r.from_object_id}>${r.to_object_id}:${r.association_type_id}`
const multiset = (rows: Iterable<Row>) => [...rows].map(key).sort()

/** Every row of the distinct ids, the truth an export must hold exactly. */
const truth = (ids: ReadonlyArray<string>) => multiset([...new Set(ids)].flatMap(rowsOf))

interface Asked {
  readonly id: string
  readonly after: string | undefined
}

/**
 * A stage that reads `rowsOf` two rows a page: an id with more comes out in a page's `next` with a cursor (its
 * offset) and is asked again by the stage itself. It checks the stage's own law on its input (distinct ids at
 * once), and records what it was asked.
 */
const tableStage = (asked: Array<Asked>): Stage.Stage =>
(_pair, items) =>
  Stream.suspend(() => {
    const inFlight = new Set<string>()
    return items.pipe(
      Stream.mapConcatChunk((item) => {
        assert.isFalse(inFlight.has(item.id), `id ${item.id} given twice at once`)
        inFlight.add(item.id)
        const all = rowsOf(item.id)
        const pages: Array<Stage.Page> = []
        for (let at = Number(item.after ?? "0");;) {
          asked.push({ id: item.id, after: at === 0 ? undefined : String(at) })
          const end = Math.min(all.length, at + 2)
          const more = end < all.length
          pages.push({
            rows: RowBatch.fromRows(all.slice(at, end)),
            errors: [],
            done: more ? [] : [item],
            next: more ? [{ key: item.key, id: item.id, after: String(end) }] : []
          })
          if (!more) break
          at = end
        }
        inFlight.delete(item.id)
        return Chunk.unsafeFromArray(pages)
      })
    )
  })

/** `sink`, whose `commit` fails once, on call `n` (counting from 1 over every open), before or after it commits. */
const failingCommit = <A, E, R>(
  sink: RowSink.RowSink<A, E, R>,
  n: number,
  when: "before" | "after"
): RowSink.RowSink<A, E | string, R> => {
  let calls = 0
  return {
    open: (schema) =>
      Effect.map(sink.open(schema), (opened) => ({
        ...opened,
        commit: (payload) =>
          Effect.suspend(() => {
            const fails = ++calls === n
            if (fails && when === "before") return Effect.fail("commit failed")
            return Effect.zipRight(opened.commit(payload), fails ? Effect.fail("commit failed") : Effect.void)
          })
      }))
  }
}

const idsArb = fc.array(fc.integer({ min: 1, max: 60 }).map(String), { minLength: 1, maxLength: 80 })

const run = <A, E, R>(ids: ReadonlyArray<string>, sink: RowSink.RowSink<A, E, R>, asked: Array<Asked> = []) =>
  Export.run({
    pair,
    source: IdSource.fromIterable(ids.map(ObjectId.unsafeMake), { key: ids.join(",") }),
    stage: tableStage(asked),
    sink,
    groupRows: 5
  })

/** Plain NDJSON, as sink-ndjson writes it: the journal is the part. */
const ndjson: PartEncoder.PartEncoder = {
  format: "ndjson",
  extension: ".ndjson",
  open: Effect.succeed({ write: (rows) => Effect.succeed([NdjsonRows.encode(rows)]), finish: Effect.succeed([]) }),
  partIsJournal: true
}

const readDataset = (dir: string): Array<Row> =>
  fs.readdirSync(dir).filter((n) => n.endsWith(".ndjson")).sort().flatMap((n) =>
    NdjsonRows.decode(fs.readFileSync(path.join(dir, n), "utf8"))
  )

layer(NodeContext.layer)("Export.run", (it) => {
  it.effect("exports every association of every distinct id once, and says it is complete the second time", () =>
    Effect.gen(function*() {
      const ids = ["3", "5", "6", "3", "13", "5", "7"]
      const sink = RowSink.memory()
      const asked: Array<Asked> = []
      const summary = yield* run(ids, sink, asked)
      const state = yield* sink.committed
      assert.deepStrictEqual(multiset(state.rows), truth(ids))
      assert.strictEqual(summary.status, "complete")
      assert.strictEqual(summary.rows, state.rows.length)
      assert.strictEqual(summary.idsDone, ids.length)
      assert.isTrue(state.finished)
      // Duplicates are asked once.
      assert.deepStrictEqual(asked.filter((a) => a.after === undefined).map((a) => a.id), ["3", "5", "6", "13", "7"])

      const again: Array<Asked> = []
      const second = yield* run(ids, sink, again)
      assert.strictEqual(second.status, "already-complete")
      assert.deepStrictEqual(again, [])
    }))

  it.effect.prop(
    "a commit that fails at any call, before or after it commits, then a resume: every row exactly once",
    [idsArb, fc.integer({ min: 1, max: 40 }), fc.constantFrom("before" as const, "after" as const)],
    ([ids, n, when]) =>
      Effect.gen(function*() {
        const memory = RowSink.memory()
        const first = yield* Effect.exit(run(ids, failingCommit(memory, n, when)))
        if (Exit.isFailure(first)) {
          const committed = yield* memory.committed
          // What the failed run committed is not asked again: ids done then are not asked fresh.
          const payload = Option.getOrElse(committed.payload, () => ({ done: [] })) as {
            done: ReadonlyArray<readonly [number, number]>
          }
          // An id is done when the ordinal of its first occurrence is (a repeat is done at once, with no request).
          const isDone = (k: number) => payload.done.some(([a, b]) => a <= k && k < b)
          const done = new Set(ids.filter((id, k) => ids.indexOf(id) === k && isDone(k)))
          const asked: Array<Asked> = []
          yield* run(ids, memory, asked)
          for (const a of asked) if (a.after === undefined) assert.isFalse(done.has(a.id), `${a.id} was done`)
        }
        const state = yield* memory.committed
        assert.deepStrictEqual(multiset(state.rows), truth(ids))
        assert.isTrue(state.finished)
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it.scoped("the same into a dataset directory whose commit fails: whole parts, each row once", () =>
    Effect.gen(function*() {
      const ids = Array.from({ length: 120 }, (_, i) => String(1 + ((i * 37) % 90)))
      for (const [n, when] of [[1, "before"], [2, "after"], [7, "before"], [19, "after"]] as const) {
        const dir = path.join(yield* tempDir, "out")
        const sink = Dataset.sink({ directory: dir, encoder: ndjson, partMaxRows: 8 })
        const first = yield* Effect.exit(run(ids, failingCommit(sink, n, when)))
        assert.isTrue(Exit.isFailure(first), `commit ${n} failed`)
        const summary = yield* run(ids, sink)
        assert(summary.status === "complete")
        // The first commit records the arguments: failing before it, the first run committed nothing.
        assert.strictEqual(summary.resumed, n > 1 || when === "after")
        assert.deepStrictEqual(multiset(readDataset(dir)), truth(ids), `commit ${n} ${when}`)
        assert.strictEqual(summary.result.totals.rows, truth(ids).length)
        assert.isAbove(summary.result.parts.length, 1)
      }
    }))

  it.effect("a half-done id goes on from its cursor, and its repeat later in the input is not asked again", () =>
    Effect.gen(function*() {
      // 6 has 6 rows, 3 pages; it is also the input's last id. Runs that fail at one commit or another stop with
      // 6 half done: the resume goes on from its cursor, and the repeat of 6 at the end is done with no request.
      const ids = ["6", "1", "2", "6"]
      let halfDone = 0
      for (let n = 2; n <= 8; n++) {
        const memory = RowSink.memory()
        yield* Effect.exit(run(ids, failingCommit(memory, n, "before")))
        const payload = (yield* memory.committed).payload
        const pending = Option.isSome(payload)
          ? (payload.value as { pending: ReadonlyArray<{ id: string; after: string }> }).pending
          : []
        const asked: Array<Asked> = []
        yield* run(ids, memory, asked)
        assert.deepStrictEqual(multiset((yield* memory.committed).rows), truth(ids))
        const six = asked.filter((a) => a.id === "6").map((a) => a.after)
        if (pending.length > 0) {
          halfDone++
          assert.deepStrictEqual(pending.map((p) => p.id), ["6"])
          assert.strictEqual(six[0], pending[0]!.after, "it goes on from its cursor")
          assert.notInclude(six, undefined, "its first page is not asked again")
        }
      }
      assert.isAbove(halfDone, 0)
    }))

  it.effect("a resume with another source or pair is refused, and nothing is written", () =>
    Effect.gen(function*() {
      const memory = RowSink.memory()
      yield* Effect.exit(run(["1", "2", "3"], failingCommit(memory, 2, "before")))
      const before = yield* memory.committed
      const other = yield* Effect.flip(run(["1", "2", "4"], memory))
      assert.instanceOf(other, Export.ExportError)
      assert.include(other.message, "1,2,3")
      const otherPair = yield* Effect.flip(Export.run({
        pair: { ...pair, toType: ObjectType.unsafeMake("deals") },
        source: IdSource.fromIterable(["1", "2", "3"].map(ObjectId.unsafeMake), { key: "1,2,3" }),
        stage: tableStage([]),
        sink: memory
      }))
      assert.include(otherPair.message, "contacts → companies, this run asks for contacts → deals")
      assert.deepStrictEqual(yield* memory.committed, before)
    }))

  it.effect("the origin is recorded in the checkpoint: a resume from another one is refused before anything is asked", () =>
    Effect.gen(function*() {
      const portal = (n: number) => Effect.succeed({ kind: "portal", key: String(n), description: `portal ${n}` })
      const runFrom = <A, E, R>(n: number | undefined, sink: RowSink.RowSink<A, E, R>, asked: Array<Asked> = []) =>
        Export.run({
          pair,
          source: IdSource.fromIterable(["1", "2", "3"].map(ObjectId.unsafeMake), { key: "1,2,3" }),
          stage: tableStage(asked),
          sink,
          ...(n === undefined ? {} : { origin: portal(n) })
        })
      const memory = RowSink.memory()
      yield* Effect.exit(runFrom(1, failingCommit(memory, 2, "before")))
      const before = yield* memory.committed
      assert.deepStrictEqual((Option.getOrThrow(before.payload) as { origin: unknown }).origin, {
        kind: "portal",
        key: "1",
        description: "portal 1"
      })
      const asked: Array<Asked> = []
      const other = yield* Effect.flip(runFrom(2, memory, asked))
      assert.instanceOf(other, Export.ExportError)
      assert.include(other.message, "it was read from portal 1, this run reads portal 2")
      assert.deepStrictEqual(asked, [])
      assert.deepStrictEqual(yield* memory.committed, before)
      // A run that names no origin claims none, and keeps the recorded one.
      const summary = yield* runFrom(undefined, memory)
      assert.strictEqual(summary.status, "complete")
      assert.deepStrictEqual((Option.getOrThrow((yield* memory.committed).payload) as { origin: unknown }).origin, {
        kind: "portal",
        key: "1",
        description: "portal 1"
      })
    }))

  it.effect("stop ends the run after committing the pages taken; the next run resumes to every row once", () =>
    Effect.gen(function*() {
      const ids = Array.from({ length: 40 }, (_, i) => String(i + 1))
      const memory = RowSink.memory()
      const stop = yield* Deferred.make<void>()
      let pages = 0
      // A stage that asks for a stop after its fifth page, then would go on for ever.
      const stage: Stage.Stage = (p, items) =>
        tableStage([])(p, items).pipe(
          Stream.tap(() => ++pages === 5 ? Deferred.succeed(stop, undefined) : Effect.void),
          Stream.concat(Stream.never)
        )
      const summary = yield* Export.run({
        pair,
        source: IdSource.fromIterable(ids.map(ObjectId.unsafeMake), { key: ids.join(",") }),
        stage,
        sink: memory,
        stop: Deferred.await(stop)
      })
      assert.strictEqual(summary.status, "stopped")
      const stopped = yield* memory.committed
      assert.isFalse(stopped.finished)
      assert.isAbove(stopped.rows.length, 0, "the pages taken before the stop are committed")
      assert.strictEqual(summary.rows, stopped.rows.length)
      const resumed = yield* run(ids, memory)
      assert.strictEqual(resumed.status, "complete")
      assert.deepStrictEqual(multiset((yield* memory.committed).rows), truth(ids))
    }))

  it.effect("ids whose answers hold no row and no refusal are counted, once, across resumes", () =>
    Effect.gen(function*() {
      // rowsOf gives n % 7 rows: 7, 14, 21 and 28 have none.
      const ids = Array.from({ length: 30 }, (_, i) => String(i + 1))
      const memory = RowSink.memory()
      yield* Effect.exit(run(ids, failingCommit(memory, 6, "before")))
      const summary = yield* run(ids, memory)
      assert.strictEqual(summary.idsWithoutRows, 4)
      assert.strictEqual(summary.status, "complete")
    }))

  it.scoped("bad lines skipped from an id file are refused inputs, recorded once across resumes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "ids.txt")
      fs.writeFileSync(file, "id\n1\nx2\n3\n\n4y\n5\n")
      const memory = RowSink.memory()
      const source = IdSource.fromFile(file, { skipBadLines: true })
      const exportFile = <A, E, R>(sink: RowSink.RowSink<A, E, R>) =>
        Export.run({ pair, source, stage: tableStage([]), sink })
      yield* Effect.exit(exportFile(failingCommit(memory, 2, "before")))
      const summary = yield* exportFile(memory)
      const state = yield* memory.committed
      assert.deepStrictEqual(state.refused.map((e) => [e.category, e.message.replace(/^.*line /, "line ")]), [
        ["INVALID_INPUT", "line 3: \"x2\" is not an object id (a string of digits)"],
        ["INVALID_INPUT", "line 6: \"4y\" is not an object id (a string of digits)"]
      ])
      assert.strictEqual(summary.refused, 2)
      assert.deepStrictEqual(multiset(state.rows), truth(["1", "3", "5"]))
    }))

  it.effect("the checkpoint records the source's identity and the export's first start, kept by a resume", () =>
    Effect.gen(function*() {
      const memory = RowSink.memory()
      yield* Effect.exit(run(["1", "2"], failingCommit(memory, 2, "before")))
      const first = Schema.decodeUnknownSync(Schema.Struct({ startedAt: Schema.Number, source: IdSource.Identity }))(
        Option.getOrThrow((yield* memory.committed).payload)
      )
      assert.deepStrictEqual(first.source, { kind: "stream", key: "1,2", description: "ids from a stream" })
      yield* run(["1", "2"], memory)
      const last = Option.getOrThrow((yield* memory.committed).payload) as { startedAt: number }
      assert.strictEqual(last.startedAt, first.startedAt)
    }))

  it.effect("each export and each commit is a span, and the export's figures are metrics under the caller's tags", () =>
    Effect.gen(function*() {
      const names: Array<string> = []
      const native = yield* Effect.tracer
      const recording = Tracer.make({
        span: (name, ...rest) => {
          names.push(name)
          return native.span(name, ...rest)
        },
        context: native.context
      })
      const ids = ["1", "2", "3", "4", "5", "6"]
      const figures = Effect.all({
        rows: Metric.value(Export.metrics.rows),
        idsDone: Metric.value(Export.metrics.idsDone),
        commits: Metric.value(Export.metrics.commits)
      })
      const [summary, read] = yield* Effect.zip(run(ids, RowSink.memory()), figures).pipe(
        Effect.withTracer(recording),
        Effect.tagMetrics("test_run", "spans")
      )
      assert.strictEqual(names.filter((n) => n === "Export.run").length, 1)
      assert.isAbove(names.filter((n) => n === "Export.commit").length, 1)
      assert.strictEqual(read.rows.value, summary.rows)
      assert.strictEqual(read.idsDone.value, ids.length)
      assert.strictEqual(read.commits.count, names.filter((n) => n === "Export.commit").length)
    }))
})

