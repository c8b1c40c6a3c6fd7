import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, FastCheck as fc, Stream } from "effect"
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

  // Plain files are counted from their bytes; every file must scan as the line reader scans it.
  const pieces = fc.oneof(
    { arbitrary: fc.stringMatching(/^[0-9]{1,34}$/), weight: 8 },
    { arbitrary: fc.constantFrom("\n", "\r\n"), weight: 8 },
    fc.constantFrom("", "\r", " ", "\t", "id", "\"id\"", "x", "-1", "\ufeff", "\u00a0", "é")
  )
  // Nearly plain: only digits and line ends, a lone `\r` among them now and then.
  const nearlyPlain = fc.oneof(
    fc.stringMatching(/^[0-9]{1,34}$/),
    fc.constantFrom("\n", "\r\n", "\n", "\r\n", "\r")
  )
  it.scoped.prop("scanFile reads every file as the line reader does", [
    fc.oneof(fc.array(pieces, { maxLength: 30 }), fc.array(nearlyPlain, { maxLength: 30 })),
    fc.boolean()
  ], ([parts, skip]) =>
    Effect.gen(function*() {
      const file = yield* withFile(parts.join(""))
      const withoutPlain = ({ plain: _, ...scan }: IdSource.Scan) => scan
      const fast = yield* Effect.either(Effect.map(IdSource.scanFile(file, { skipBadLines: skip }), withoutPlain))
      const lines = yield* Effect.either(Effect.map(IdSource.scanLines(file, { skipBadLines: skip }), withoutPlain))
      assert.deepStrictEqual(fast, lines)
    }).pipe(Effect.provide(NodeFileSystem.layer)), { fastCheck: { numRuns: 300 } })

  const readAll = (file: string, scan?: IdSource.Scan) => Effect.map(Stream.runCollect(IdSource.readFile(file, scan)), Chunk.toReadonlyArray)

  it.scoped.prop("a plain file split as bytes gives the lines and ordinals of the line reader", [fc.array(nearlyPlain, { maxLength: 30 })], ([parts]) =>
    Effect.gen(function*() {
      const file = yield* withFile(parts.join(""))
      const scan = yield* IdSource.scanFile(file, { skipBadLines: true })
      assert.deepStrictEqual(yield* readAll(file, scan), yield* readAll(file))
    }).pipe(Effect.provide(NodeFileSystem.layer)), { fastCheck: { numRuns: 200 } })

  it.scoped("splits a plain file of many chunks, lines cut anywhere by their ends", () =>
    Effect.gen(function*() {
      // ~700 KB: ids of 1-32 digits, LF and CRLF, blank lines, no end at the end.
      const lines = Array.from({ length: 40_000 }, (_, i) => (i % 97 === 0 ? "" : String(i * 7919 % 10 ** ((i % 32) + 1))))
      const text = lines.map((l, i) => l + (i % 3 === 0 ? "\r\n" : "\n")).join("") + "12345"
      const file = yield* withFile(text)
      const scan = yield* IdSource.scanFile(file, { skipBadLines: false })
      assert.isTrue(scan.plain)
      const fast = yield* readAll(file, scan)
      assert.strictEqual(fast.length, scan.ids)
      assert.deepStrictEqual(fast, yield* readAll(file))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a plain file changed after its scan fails the read, naming the line", () =>
    Effect.gen(function*() {
      const file = yield* withFile("1\n2\n3\n")
      const scan = yield* IdSource.scanFile(file, { skipBadLines: false })
      assert.isTrue(scan.plain)
      fs.writeFileSync(file, "1\n2x\n3\n")
      const read = yield* Effect.either(readAll(file, scan))
      assert.isTrue(Either.isLeft(read) && read.left.line === 2, JSON.stringify(read))
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
