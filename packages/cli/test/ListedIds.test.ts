import type { ObjectId } from "@assoc-etl/core"
import { FileSystem } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Schema, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as ListedIds from "../src/internal/listedIds.js"

const Position = Schema.Struct({ page: Schema.Int })
/** Ten pages of three ids: page p holds p*10, p*10+1, p*10+2. */
const list = (asked: Array<number>) => (position: { readonly page: number }) =>
  Effect.sync(() => {
    asked.push(position.page)
    return {
      ids: [0, 1, 2].map((i) => String(position.page * 10 + i) as ObjectId.ObjectId),
      next: position.page < 9 ? { page: position.page + 1 } : null
    }
  })

const collect = (file: string, asked: Array<number>) =>
  ListedIds.stream({
    path: file,
    position: Position,
    first: { page: 0 },
    list: list(asked),
    corrupt: (detail) => new Error(detail)
  }).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray), Effect.scoped)

describe("ListedIds", () => {
  it.scoped("a resume reads back the whole pages kept, drops a torn one, and lists on from the last kept", () =>
    Effect.gen(function*() {
      const file = path.join(yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped(), ListedIds.fileName)
      const firstRun: Array<number> = []
      const all = yield* collect(file, firstRun)
      assert.deepStrictEqual(firstRun, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      assert.deepStrictEqual(all.map((l) => [l.ordinal, l.id]), all.map((_, i) => [i, String(Math.floor(i / 3) * 10 + (i % 3))]))

      // A crash while page 3 was written: pages 0-2 whole, page 3 cut short.
      const lines = fs.readFileSync(file, "utf8").split("\n")
      fs.writeFileSync(file, `${lines.slice(0, 3).join("\n")}\n${lines[3]!.slice(0, 10)}`)
      const resumed: Array<number> = []
      const again = yield* collect(file, resumed)
      assert.deepStrictEqual(resumed, [3, 4, 5, 6, 7, 8, 9], "pages 0-2 are not listed again")
      assert.deepStrictEqual(again, all, "same ids, same ordinals")
      assert.strictEqual(fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").length, 10)

      // A finished listing is read back whole, with no request.
      const done: Array<number> = []
      assert.deepStrictEqual(yield* collect(file, done), all)
      assert.deepStrictEqual(done, [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a line that is not what it wrote is refused, naming the file and line", () =>
    Effect.gen(function*() {
      const file = path.join(yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped(), ListedIds.fileName)
      fs.writeFileSync(file, `{"ids":["1"],"next":{"page":1}}\n{"ids":["x"],"next":null}\n`)
      const result = yield* Effect.either(collect(file, []))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.include(String(result.left), `${file}, line 2`)
    }).pipe(Effect.provide(NodeContext.layer)))
})
