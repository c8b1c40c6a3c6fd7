/**
 * The dataset with an encoder like the Parquet one: its bytes come back later than the rows went in (a worker
 * encodes them), and it holds something to release (`PartWriter.close`) whether or not its part finished.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../../../test/support/Parts.js"
import type { AssociationRow, IdSource, PartEncoder } from "../src/index.js"
import { Dataset, NdjsonRows, ObjectType, RowBatch } from "../src/index.js"

type Row = AssociationRow.AssociationRow

const row = (n: number): Row => ({
  from_object_type: "contacts",
  from_object_id: String(1000 + Math.floor(n / 3)),
  to_object_type: "companies",
  to_object_id: String(2 ** 60 + n),
  association_category: "HUBSPOT_DEFINED",
  association_type_id: n % 5,
  association_label: n % 3 === 0 ? null : `label ${n}`
})
const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => row(from + i))
const batch = (from: number, count: number) => RowBatch.fromRows(rows(from, count))

/**
 * A framed format whose `write` returns the bytes of the batch before (as a worker would, a batch behind) and
 * whose `finish` returns the rest and `END`. It counts the writers opened and closed.
 */
const late = () => {
  const counts = { opened: 0, closed: 0 }
  const encoder: PartEncoder.PartEncoder = {
    format: "late",
    extension: ".late",
    open: Effect.sync(() => {
      counts.opened++
      let held: Array<Uint8Array> = []
      let closed = false
      return {
        write: (rs) =>
          Effect.sync(() => {
            const out = held
            held = rs.length === 0 ? [] : [NdjsonRows.encode(rs)]
            return out
          }),
        finish: Effect.sync(() => [...held, new TextEncoder().encode("END\n")]),
        close: Effect.sync(() => {
          assert.isFalse(closed, "closed once")
          closed = true
          counts.closed++
        })
      }
    })
  }
  return { encoder, counts }
}

const Done = Schema.Struct({ done: Schema.Number })
const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }
const source: IdSource.Identity = {
  kind: "file",
  key: "0c4f".repeat(16),
  description: "the id file /data/ids.txt (sha256 0c4f0c4f0c4f)",
  details: { path: "/data/ids.txt" }
}
const facts = { pair, source, startedAt: Date.parse("2026-01-01T00:00:00.000Z") }

const openScoped = (options: Dataset.DatasetOptions) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const opened = yield* Dataset.sink(options).open(Done).pipe(Scope.extend(scope))
    return { ...opened, drop: Scope.close(scope, Exit.void) }
  })

const readParts = (dir: string) =>
  fs.readdirSync(dir).filter((n) => n.startsWith("part-")).sort().flatMap((n) => {
    const text = fs.readFileSync(path.join(dir, n), "utf8")
    assert.isTrue(text.endsWith("END\n"), `${n} is whole`)
    return text.replace(/END\n$/, "").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as unknown)
  })

const base = Layer.merge(NodeFileSystem.layer, NodePath.layer)

describe("Dataset with an encoder whose bytes come late", () => {
  it.scoped("parts are whole and in order across roll-overs; each part's writer is closed once", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "out")
      const { counts, encoder } = late()
      const opened = yield* openScoped({ directory: dir, encoder, partMaxRows: 5 })
      for (let i = 0; i < 6; i++) {
        yield* opened.append(batch(3 * i, 3), [])
        yield* opened.commit({ done: 3 * i + 3 })
      }
      yield* opened.finish({ done: 18 }, facts)
      assert.deepStrictEqual(readParts(dir), rows(0, 18))
      const manifest = yield* Dataset.readManifest(dir)
      assert.deepStrictEqual(manifest.parts.map((p) => p.rows), [6, 6, 6])
      yield* opened.drop
      assert.isAtLeast(counts.opened, 3)
      assert.strictEqual(counts.closed, counts.opened, "every writer opened was closed")
    }).pipe(Effect.provide(base)))

  it.scoped("a kill with a part half encoded leaves no visible part, closes the writer, and resumes exactly", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "out")
      const first = late()
      const opened = yield* openScoped({ directory: dir, encoder: first.encoder })
      yield* opened.append(batch(0, 40), [])
      yield* opened.commit({ done: 40 })
      yield* opened.append(batch(40, 7), []) // never committed
      yield* opened.drop // killed: the part's bytes were partly out, its footer never
      assert.strictEqual(first.counts.closed, first.counts.opened)
      assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith("part-")), [], "no part a reader sees")

      const second = late()
      const resumed = yield* openScoped({ directory: dir, encoder: second.encoder })
      assert.deepStrictEqual(resumed.resumed, Option.some({ done: 40 }))
      yield* resumed.append(batch(40, 2), [])
      yield* resumed.finish({ done: 42 }, facts)
      assert.deepStrictEqual(readParts(dir), rows(0, 42))
      yield* resumed.drop
      assert.strictEqual(second.counts.closed, second.counts.opened)
    }).pipe(Effect.provide(base)))
})
