import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { IdSource } from "../src/index.js"

const withFile = (text: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "idsource-"))
      const file = path.join(dir, "ids.txt")
      fs.writeFileSync(file, text)
      return file
    }),
    (file) => Effect.sync(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }))
  )

describe("IdSource", () => {
  it.scoped("reads ids in order, skipping blanks, a header and trimming CRLF", () =>
    Effect.gen(function*() {
      const text = "id\r\n123\r\n\r\n  456  \n18446744073709551615\n"
      const file = yield* withFile(text)
      const scan = yield* IdSource.scanFile(file, { skipBadLines: false })
      assert.strictEqual(scan.ids, 3)
      assert.strictEqual(scan.digest, createHash("sha256").update(text).digest("hex"))
      const lines = Chunk.toReadonlyArray(yield* Stream.runCollect(IdSource.readFile(file)))
      assert.deepStrictEqual(lines as ReadonlyArray<unknown>, [
        { ordinal: 0, line: 2, id: "123" },
        { ordinal: 1, line: 4, id: "456" },
        { ordinal: 2, line: 5, id: "18446744073709551615" }
      ])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a bad line stops the scan, naming its line number", () =>
    Effect.gen(function*() {
      const file = yield* withFile("1\n2\n3x\n4\n")
      const result = yield* Effect.either(IdSource.scanFile(file, { skipBadLines: false }))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.line, 3)
        assert.include(result.left.message, "line 3")
        assert.include(result.left.message, "\"3x\" is not an object id")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("with skipBadLines, bad lines are reported and left out of the ids", () =>
    Effect.gen(function*() {
      const file = yield* withFile("1\nid\n-2\n3\n")
      const scan = yield* IdSource.scanFile(file, { skipBadLines: true })
      assert.deepStrictEqual(scan.badLines.map((b) => b.line), [2, 3])
      const ids = Chunk.toReadonlyArray(yield* Stream.runCollect(IdSource.readFile(file))).map((l) => l.id)
      assert.deepStrictEqual(ids, ["1", "3"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("spools a byte stream to a file that reads back the same", () =>
    Effect.gen(function*() {
      const file = yield* withFile("")
      const input = Stream.make(new TextEncoder().encode("5\n6"), new TextEncoder().encode("\n7\n"))
      yield* IdSource.spool(input, file)
      const ids = Chunk.toReadonlyArray(yield* Stream.runCollect(IdSource.readFile(file))).map((l) => l.id)
      assert.deepStrictEqual(ids, ["5", "6", "7"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
