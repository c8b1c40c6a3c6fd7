import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, FastCheck as fc, Layer, Option, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { IdSource, ObjectId } from "../src/index.js"
import * as IdFile from "../src/internal/idFile.js"
import { tempDir } from "../../../test/support/Parts.js"

const withFile = (text: string) =>
  Effect.map(tempDir, (dir) => {
    const file = path.join(dir, "ids.txt")
    fs.writeFileSync(file, text)
    return file
  })

describe("IdSource: the id file reader (internal/idFile)", () => {
  it.scoped("reads ids in order, skipping blanks, a header and trimming CRLF", () =>
    Effect.gen(function*() {
      const text = "id\r\n123\r\n\r\n  456  \n18446744073709551615\n"
      const file = yield* withFile(text)
      const scan = yield* IdFile.scanFile(file, { skipBadLines: false })
      assert.strictEqual(scan.ids, 3)
      assert.strictEqual(scan.digest, createHash("sha256").update(text).digest("hex"))
      const lines = Chunk.toReadonlyArray(yield* Stream.runCollect(IdFile.readFile(file)))
      assert.deepStrictEqual(lines as ReadonlyArray<unknown>, [
        { ordinal: 0, line: 2, id: "123" },
        { ordinal: 1, line: 4, id: "456" },
        { ordinal: 2, line: 5, id: "18446744073709551615" }
      ])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a bad line stops the scan, naming its line number", () =>
    Effect.gen(function*() {
      const file = yield* withFile("1\n2\n3x\n4\n")
      const result = yield* Effect.either(IdFile.scanFile(file, { skipBadLines: false }))
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
      const scan = yield* IdFile.scanFile(file, { skipBadLines: true })
      assert.deepStrictEqual(scan.badLines.map((b) => b.line), [2, 3])
      const ids = Chunk.toReadonlyArray(yield* Stream.runCollect(IdFile.readFile(file))).map((l) => l.id)
      assert.deepStrictEqual(ids, ["1", "3"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("spools a byte stream to a file that reads back the same", () =>
    Effect.gen(function*() {
      const file = yield* withFile("")
      const input = Stream.make(new TextEncoder().encode("5\n6"), new TextEncoder().encode("\n7\n"))
      yield* IdFile.spool(input, file)
      const ids = Chunk.toReadonlyArray(yield* Stream.runCollect(IdFile.readFile(file))).map((l) => l.id)
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
      const withoutPlain = ({ plain: _, ...scan }: IdFile.Scan) => scan
      const fast = yield* Effect.either(Effect.map(IdFile.scanFile(file, { skipBadLines: skip }), withoutPlain))
      const lines = yield* Effect.either(Effect.map(IdFile.scanLines(file, { skipBadLines: skip }), withoutPlain))
      assert.deepStrictEqual(fast, lines)
    }).pipe(Effect.provide(NodeFileSystem.layer)), { fastCheck: { numRuns: 300 } })

  const readAll = (file: string, scan?: IdFile.Scan) =>
    Effect.map(Stream.runCollect(IdFile.readFile(file, scan)), Chunk.toReadonlyArray)

  it.scoped.prop("a plain file split as bytes gives the lines and ordinals of the line reader", [fc.array(nearlyPlain, { maxLength: 30 })], ([parts]) =>
    Effect.gen(function*() {
      const file = yield* withFile(parts.join(""))
      const scan = yield* IdFile.scanFile(file, { skipBadLines: true })
      assert.deepStrictEqual(yield* readAll(file, scan), yield* readAll(file))
    }).pipe(Effect.provide(NodeFileSystem.layer)), { fastCheck: { numRuns: 200 } })

  it.scoped("splits a plain file of many chunks, lines cut anywhere by their ends", () =>
    Effect.gen(function*() {
      // ~700 KB: ids of 1-32 digits, LF and CRLF, blank lines, no end at the end.
      const lines = Array.from({ length: 40_000 }, (_, i) => (i % 97 === 0 ? "" : String(i * 7919 % 10 ** ((i % 32) + 1))))
      const text = lines.map((l, i) => l + (i % 3 === 0 ? "\r\n" : "\n")).join("") + "12345"
      const file = yield* withFile(text)
      const scan = yield* IdFile.scanFile(file, { skipBadLines: false })
      assert.isTrue(scan.plain)
      const fast = yield* readAll(file, scan)
      assert.strictEqual(fast.length, scan.ids)
      assert.deepStrictEqual(fast, yield* readAll(file))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a plain file changed after its scan fails the read, naming the line", () =>
    Effect.gen(function*() {
      const file = yield* withFile("1\n2\n3\n")
      const scan = yield* IdFile.scanFile(file, { skipBadLines: false })
      assert.isTrue(scan.plain)
      fs.writeFileSync(file, "1\n2x\n3\n")
      const read = yield* Effect.either(readAll(file, scan))
      assert.isTrue(Either.isLeft(read) && read.left.line === 2, JSON.stringify(read))
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

const sha256 = (text: string | Uint8Array) => createHash("sha256").update(text).digest("hex")
const utf8 = new TextEncoder()
const run: IdSource.Run = { startedAt: Date.parse("2026-01-01T00:00:00.000Z"), resumed: false }
const collect = <E, R>(ids: Stream.Stream<IdFile.IdLine, E, R>) =>
  Effect.map(Stream.runCollect(ids), Chunk.toReadonlyArray)
const idsOf = (lines: ReadonlyArray<IdFile.IdLine>) => lines.map((l) => [l.ordinal, l.id as string] as const)

/** The Node file system and path, recording the temporary directories made (the spool of a byte stream). */
const recordingTemp = (made: Array<string>) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (real) => ({
      ...real,
      makeTempDirectoryScoped: (options?: FileSystem.MakeTempDirectoryOptions) =>
        Effect.tap(real.makeTempDirectoryScoped(options), (dir) => Effect.sync(() => made.push(dir)))
    } satisfies FileSystem.FileSystem))
  ).pipe(Layer.provide(NodeFileSystem.layer), Layer.merge(NodePath.layer))

const platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

describe("IdSource.fromFile", () => {
  it.scoped("is identified by the sha256 of its bytes and its path, and gives its ids with their ordinals", () =>
    Effect.gen(function*() {
      const text = "id\n123\n\n456\r\n18446744073709551615\n"
      const file = yield* withFile(text)
      const opened = yield* IdSource.fromFile(file).open(run)
      assert.strictEqual(opened.identity.kind, "file")
      assert.strictEqual(opened.identity.key, sha256(text))
      assert.deepStrictEqual(opened.identity.details, { path: file })
      assert.include(opened.identity.description, file)
      assert.include(opened.identity.description, sha256(text).slice(0, 12))
      assert.deepStrictEqual(opened.badLines, [])
      assert.deepStrictEqual(yield* opened.total, Option.some(3))
      assert.deepStrictEqual(yield* collect(opened.ids), [
        { ordinal: 0, line: 2, id: "123" as ObjectId.ObjectId },
        { ordinal: 1, line: 4, id: "456" as ObjectId.ObjectId },
        { ordinal: 2, line: 5, id: "18446744073709551615" as ObjectId.ObjectId }
      ])
    }).pipe(Effect.provide(platform)))

  it.scoped("the same bytes at another path are the same source; other bytes are another", () =>
    Effect.gen(function*() {
      const a = yield* IdSource.fromFile(yield* withFile("1\n2\n")).open(run)
      const b = yield* IdSource.fromFile(yield* withFile("1\n2\n")).open(run)
      const c = yield* IdSource.fromFile(yield* withFile("2\n1\n")).open(run)
      assert.strictEqual(a.identity.key, b.identity.key)
      assert.notStrictEqual(a.identity.details?.["path"], b.identity.details?.["path"])
      assert.notStrictEqual(a.identity.key, c.identity.key)
    }).pipe(Effect.provide(platform)))

  it.scoped("with skipBadLines, the open reports the bad lines and the ids leave them out", () =>
    Effect.gen(function*() {
      const file = yield* withFile("1\n12x\n-2\n3\n")
      const opened = yield* IdSource.fromFile(file, { skipBadLines: true }).open(run)
      assert.deepStrictEqual(opened.badLines.map((b) => [b.line, b.text]), [[2, "12x"], [3, "-2"]])
      assert.include(opened.badLines[0]!.reason, "\"12x\" is not an object id")
      assert.deepStrictEqual(yield* opened.total, Option.some(2))
      assert.deepStrictEqual(idsOf(yield* collect(opened.ids)), [[0, "1"], [1, "3"]])
    }).pipe(Effect.provide(platform)))

  it.scoped("a bad line fails the open, naming its line, before any id is read", () =>
    Effect.gen(function*() {
      const file = yield* withFile("1\n2\n3x\n4\n")
      const error = yield* Effect.flip(IdSource.fromFile(file).open(run))
      assert.strictEqual(error._tag, "IdSourceError")
      assert.strictEqual(error.reason, "BadLine")
      assert.strictEqual(error.line, 3)
      assert.strictEqual(error.path, file)
      assert.include(error.message, "line 3")
    }).pipe(Effect.provide(platform)))

  it.scoped("a missing file fails the open with Io", () =>
    Effect.gen(function*() {
      const file = path.join(path.dirname(yield* withFile("")), "absent.txt")
      const error = yield* Effect.flip(IdSource.fromFile(file).open(run))
      assert.strictEqual(error.reason, "Io")
      assert.include(error.message, file)
    }).pipe(Effect.provide(platform)))
})

describe("IdSource.fromBytes and fromStream", () => {
  it.scoped("fromBytes spools the bytes to a temporary file, removed with the scope; their sha256 is the key", () =>
    Effect.gen(function*() {
      const made: Array<string> = []
      const text = "5\n6\n\n7\n"
      const bytes = Stream.make(utf8.encode("5\n"), utf8.encode("6\n\n7"), utf8.encode("\n"))
      const lines = yield* Effect.scoped(Effect.gen(function*() {
        const opened = yield* IdSource.fromBytes(bytes, { kind: "pipe", label: "ids from a pipe" }).open(run)
        assert.strictEqual(made.length, 1)
        assert.isTrue(fs.existsSync(made[0]!), "the spool exists while the source is open")
        assert.deepStrictEqual(opened.identity, {
          kind: "pipe",
          key: sha256(text),
          description: `ids from a pipe (sha256 ${sha256(text).slice(0, 12)})`
        })
        assert.deepStrictEqual(yield* opened.total, Option.some(3))
        return yield* collect(opened.ids)
      })).pipe(Effect.provide(recordingTemp(made)))
      assert.deepStrictEqual(idsOf(lines), [[0, "5"], [1, "6"], [2, "7"]])
      assert.isFalse(fs.existsSync(made[0]!), "the spool is removed with the scope")
    }))

  it.scoped("fromBytes: a bad line fails the open naming the label, or is reported with skipBadLines", () =>
    Effect.gen(function*() {
      const bytes = Stream.make(utf8.encode("1\nx\n2\n"))
      const error = yield* Effect.flip(IdSource.fromBytes(bytes, { label: "ids from a pipe" }).open(run))
      assert.strictEqual(error.reason, "BadLine")
      assert.strictEqual(error.line, 2)
      assert.strictEqual(error.path, "ids from a pipe")
      const opened = yield* IdSource.fromBytes(bytes, { skipBadLines: true }).open(run)
      assert.strictEqual(opened.identity.kind, "bytes")
      assert.deepStrictEqual(opened.badLines.map((b) => b.line), [2])
      assert.deepStrictEqual(idsOf(yield* collect(opened.ids)), [[0, "1"], [1, "2"]])
    }).pipe(Effect.provide(platform)))

  it.scoped("fromStream without a key spools the ids as lines: their sha256 is the key", () =>
    Effect.gen(function*() {
      const made: Array<string> = []
      const ids = ["5", "18446744073709551615", "7"].map((s) => ObjectId.unsafeMake(s))
      const lines = yield* Effect.scoped(Effect.gen(function*() {
        const opened = yield* IdSource.fromStream(Stream.fromIterable(ids).pipe(Stream.rechunk(2))).open(run)
        assert.strictEqual(made.length, 1, "spooled")
        assert.strictEqual(opened.identity.kind, "stream")
        assert.strictEqual(opened.identity.key, sha256("5\n18446744073709551615\n7\n"))
        assert.include(opened.identity.description, "ids from a stream")
        assert.deepStrictEqual(yield* opened.total, Option.some(3))
        return yield* collect(opened.ids)
      })).pipe(Effect.provide(recordingTemp(made)))
      assert.deepStrictEqual(idsOf(lines), [[0, "5"], [1, "18446744073709551615"], [2, "7"]])
      assert.isFalse(fs.existsSync(made[0]!), "the spool is removed with the scope")
      const again = yield* IdSource.fromIterable(ids, { description: "my ids" }).open(run).pipe(
        Effect.provide(platform)
      )
      assert.strictEqual(again.identity.key, sha256("5\n18446744073709551615\n7\n"), "the same ids, the same key")
      assert.include(again.identity.description, "my ids")
    }))

  it.scoped("fromStream with a key reads the ids as they come, ordinals from 0 on each run of the stream", () =>
    Effect.gen(function*() {
      const made: Array<string> = []
      let pulled = 0
      const ids = Stream.fromIterable(["3", "1", "2"].map((s) => ObjectId.unsafeMake(s))).pipe(
        Stream.tap(() => Effect.sync(() => pulled++))
      )
      const opened = yield* IdSource.fromStream(ids, { key: "query 42 at t", description: "ids of query 42" }).open(run)
        .pipe(Effect.provide(recordingTemp(made)))
      assert.deepStrictEqual(opened.identity, { kind: "stream", key: "query 42 at t", description: "ids of query 42" })
      assert.deepStrictEqual(opened.badLines, [])
      assert.deepStrictEqual(yield* opened.total, Option.none())
      assert.strictEqual(pulled, 0, "nothing is read when the source opens")
      assert.deepStrictEqual(made, [], "nothing is spooled")
      const first = yield* collect(opened.ids)
      assert.deepStrictEqual(idsOf(first), [[0, "3"], [1, "1"], [2, "2"]])
      assert.deepStrictEqual(yield* collect(opened.ids), first)
      const listed = yield* IdSource.fromIterable(["9", "8"].map((s) => ObjectId.unsafeMake(s)), { key: "k" }).open(run)
      assert.deepStrictEqual(idsOf(yield* collect(listed.ids)), [[0, "9"], [1, "8"]])
      assert.strictEqual(listed.identity.key, "k")
    }).pipe(Effect.provide(platform)))
})

const Position = Schema.Struct({ page: Schema.Int })
type Position = typeof Position.Type

/** Ten pages of three ids: page p holds p*10, p*10+1, p*10+2; `totals` says what total each page reports. */
const lister = (asked: Array<readonly [page: number, firstKey: number]>, totals: Record<number, number> = {}) =>
(position: Position, firstKey: number) =>
  Effect.sync(() => {
    asked.push([position.page, firstKey])
    const page = {
      ids: [0, 1, 2].map((i) => String(position.page * 10 + i) as ObjectId.ObjectId),
      next: position.page < 9 ? { page: position.page + 1 } : null
    }
    const total = totals[position.page]
    return total === undefined ? page : { ...page, total }
  })

const pages = (journal: string, asked: Array<readonly [number, number]>, totals?: Record<number, number>) =>
  IdSource.fromPages((r) => ({
    identity: { kind: "list", key: `contacts until ${r.startedAt}`, description: "the contacts listed" },
    journal,
    position: Position,
    first: { page: 0 },
    list: lister(asked, totals)
  }))

/** Opens the listing for a run and reads every id. */
const listAll = (journal: string, resumed: boolean, asked: Array<readonly [number, number]>) =>
  Effect.scoped(Effect.flatMap(pages(journal, asked).open({ ...run, resumed }), (opened) => collect(opened.ids)))

const journalIn = Effect.map(Effect.flatMap(FileSystem.FileSystem, (f) => f.makeTempDirectoryScoped()), (dir) =>
  path.join(dir, ".listed-ids"))

const lineCount = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").length

describe("IdSource.fromPages", () => {
  it.scoped("the identity comes from the run; ids are numbered across pages, each listed from its first ordinal", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      const asked: Array<readonly [number, number]> = []
      const opened = yield* pages(journal, asked).open(run)
      assert.deepStrictEqual(opened.identity, {
        kind: "list",
        key: `contacts until ${run.startedAt}`,
        description: "the contacts listed"
      })
      assert.deepStrictEqual(opened.badLines, [])
      assert.deepStrictEqual(asked, [], "nothing is listed when the source opens")
      const all = yield* collect(opened.ids)
      assert.deepStrictEqual(asked, Array.from({ length: 10 }, (_, p) => [p, 3 * p]))
      assert.deepStrictEqual(idsOf(all), all.map((_, i) => [i, String(Math.floor(i / 3) * 10 + (i % 3))]))
      assert.strictEqual(lineCount(journal), 10, "a line a page")
    }).pipe(Effect.provide(platform)))

  it.scoped("a resume reads back the whole pages kept, drops a torn one, and lists on from the last kept", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      const firstRun: Array<readonly [number, number]> = []
      const all = yield* listAll(journal, false, firstRun)
      assert.deepStrictEqual(firstRun.map(([p]) => p), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

      // A crash while page 3 was written: pages 0-2 whole, page 3 cut short.
      const lines = fs.readFileSync(journal, "utf8").split("\n")
      fs.writeFileSync(journal, `${lines.slice(0, 3).join("\n")}\n${lines[3]!.slice(0, 10)}`)
      const resumed: Array<readonly [number, number]> = []
      const again = yield* listAll(journal, true, resumed)
      assert.deepStrictEqual(resumed.map(([p]) => p), [3, 4, 5, 6, 7, 8, 9], "pages 0-2 are not listed again")
      assert.deepStrictEqual(resumed[0], [3, 9], "page 3 is listed from the ordinal after the pages kept")
      assert.deepStrictEqual(again, all, "same ids, same ordinals")
      assert.strictEqual(lineCount(journal), 10)

      // A finished listing is read back whole, with no request.
      const done: Array<readonly [number, number]> = []
      assert.deepStrictEqual(yield* listAll(journal, true, done), all)
      assert.deepStrictEqual(done, [])
    }).pipe(Effect.provide(platform)))

  it.scoped("a resume gives the journal's ordinals even when the listing changed since", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      yield* listAll(journal, false, [])
      // Page 1 as it was listed; a listing asked now would give other ids.
      fs.writeFileSync(journal, `{"ids":["7","8"],"next":{"page":5}}\n`)
      const asked: Array<readonly [number, number]> = []
      const again = yield* listAll(journal, true, asked)
      assert.deepStrictEqual(idsOf(again).slice(0, 5), [[0, "7"], [1, "8"], [2, "50"], [3, "51"], [4, "52"]])
      assert.deepStrictEqual(asked[0], [5, 2])
    }).pipe(Effect.provide(platform)))

  it.scoped("a run that does not resume deletes the journal and lists from the first page", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      const all = yield* listAll(journal, false, [])
      const fresh: Array<readonly [number, number]> = []
      assert.deepStrictEqual(yield* listAll(journal, false, fresh), all)
      assert.strictEqual(fresh.length, 10, "every page listed again")
      assert.strictEqual(lineCount(journal), 10, "the journal was started afresh, not appended to")

      // Even a journal that would not read is not this export's: it goes.
      fs.writeFileSync(journal, "not a page\n")
      const again: Array<readonly [number, number]> = []
      assert.deepStrictEqual(yield* listAll(journal, false, again), all)
      assert.strictEqual(again.length, 10)
    }).pipe(Effect.provide(platform)))

  it.scoped("a line that is not what it wrote is refused with reason Journal, naming the file and line", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      fs.writeFileSync(journal, `{"ids":["1"],"next":{"page":1}}\n{"ids":["x"],"next":null}\n`)
      const asked: Array<readonly [number, number]> = []
      const error = yield* Effect.flip(listAll(journal, true, asked))
      assert.strictEqual(error._tag, "IdSourceError")
      assert.strictEqual(error.reason, "Journal")
      assert.strictEqual(error.line, 2)
      assert.include(error.message, `${journal}: line 2`)
      assert.deepStrictEqual(asked, [], "nothing is listed")
      const wrongPosition = yield* Effect.flip(Effect.sync(() =>
        fs.writeFileSync(journal, `{"ids":["1"],"next":{"page":"one"}}\n`)
      ).pipe(Effect.zipRight(listAll(journal, true, []))))
      assert.strictEqual(wrongPosition.reason, "Journal")
      assert.strictEqual(wrongPosition.line, 1)
    }).pipe(Effect.provide(platform)))

  it.scoped("total is the first total a listed page reports, none before", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      const opened = yield* pages(journal, [], { 1: 30, 2: 99 }).open(run)
      assert.deepStrictEqual(yield* opened.total, Option.none())
      const firstPage = yield* collect(Stream.take(opened.ids, 3))
      assert.strictEqual(firstPage.length, 3)
      assert.deepStrictEqual(yield* opened.total, Option.none(), "page 0 reports no total")
      yield* collect(opened.ids)
      assert.deepStrictEqual(yield* opened.total, Option.some(30))
    }).pipe(Effect.provide(platform)))
})

describe("IdSource.share", () => {
  /** Opens a share for `run` in a scope of its own (as an export does) and reads `take` ids, or all. */
  const read = <E, R>(source: IdSource.IdSource<E, R>, take?: number) =>
    Effect.scoped(Effect.flatMap(source.open(run), (opened) =>
      collect(take === undefined ? opened.ids : Stream.take(opened.ids, take))))

  it.scoped("every share gets every id with the same ordinals, the listing asked once a page", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      const asked: Array<readonly [number, number]> = []
      const shares = yield* IdSource.share(pages(journal, asked), { consumers: 3, resumed: false, maximumLag: 2 })
      const all = yield* Effect.all(shares.map((s) => read(s)), { concurrency: "unbounded" })
      const expected = Array.from({ length: 30 }, (_, k) => [k, String(Math.floor(k / 3) * 10 + (k % 3))] as const)
      for (const lines of all) assert.deepStrictEqual(idsOf(lines), expected)
      assert.deepStrictEqual(asked.map(([p]) => p), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "each page listed once")
      assert.strictEqual(lineCount(journal), 10)
    }).pipe(Effect.provide(platform)))

  it.scoped("a share that stops reading, or never reads, does not hold the others back", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      const asked: Array<readonly [number, number]> = []
      const [never, early, whole] = yield* IdSource.share(pages(journal, asked), {
        consumers: 3,
        resumed: false,
        maximumLag: 1
      })
      // Read side by side, as a job's exports do: one opens its share and returns without reading it (an export of a
      // finished dataset), one stops after 4 ids, one reads everything.
      const [, first, rest] = yield* Effect.all([
        Effect.scoped(never!.open(run)),
        read(early!, 4),
        read(whole!)
      ], { concurrency: "unbounded" })
      assert.strictEqual(first.length, 4)
      assert.strictEqual(rest.length, 30)
      assert.deepStrictEqual(asked.length, 10)
    }).pipe(Effect.provide(platform)))

  it.scoped("resumed keeps the journal: ids listed before are read back, not listed again", () =>
    Effect.gen(function*() {
      const journal = yield* journalIn
      yield* Effect.scoped(Effect.flatMap(pages(journal, []).open(run), (o) => collect(Stream.take(o.ids, 7))))
      const listedBefore = lineCount(journal)
      const asked: Array<readonly [number, number]> = []
      const shares = yield* IdSource.share(pages(journal, asked), { consumers: 2, resumed: true })
      const all = yield* Effect.all(shares.map((s) => read(s)), { concurrency: "unbounded" })
      for (const lines of all) assert.strictEqual(lines.length, 30)
      assert.deepStrictEqual(asked.map(([p]) => p)[0], listedBefore, "listing goes on after the journal's pages")
      const again: Array<readonly [number, number]> = []
      const fresh = yield* IdSource.share(pages(journal, again), { consumers: 1, resumed: false })
      yield* read(fresh[0]!, 1)
      assert.deepStrictEqual(again[0], [0, 0], "not resumed: the listing starts afresh")
    }).pipe(Effect.provide(platform)))

  it.scoped("a listing's failure reaches every share", () =>
    Effect.gen(function*() {
      const failing = IdSource.fromPages(() => ({
        identity: { kind: "list", key: "k", description: "d" },
        journal: "/proc/assoc-etl-no-such-dir/journal",
        position: Position,
        first: { page: 0 },
        list: lister([])
      }))
      const shares = yield* IdSource.share(failing, { consumers: 2, resumed: true })
      const errors = yield* Effect.all(shares.map((s) => Effect.flip(read(s))), { concurrency: "unbounded" })
      for (const e of errors) assert.strictEqual(e._tag, "IdSourceError")
    }).pipe(Effect.provide(platform)))
})
