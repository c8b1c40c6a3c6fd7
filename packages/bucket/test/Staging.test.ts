import type { AssociationRow, ErrorRow, PartEncoder, RowSink } from "@assoc-etl/core"
import { Dataset, ObjectType, RowBatch } from "@assoc-etl/core"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import { FileSystem } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Either, Option, Schema } from "effect"
import * as child from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import { readNdjson, readParquet, sameRows } from "../../../test/support/DuckDb.js"
import { Bucket, type BucketError, type BucketUrl, Staging } from "../src/index.js"
import * as Lease from "../src/internal/lease.js"
import * as S3 from "./s3.js"

type Row = AssociationRow.AssociationRow

const row = (n: number): Row => ({
  from_object_type: "contacts",
  from_object_id: String(1000 + Math.floor(n / 3)),
  to_object_type: "companies",
  to_object_id: String(2 ** 60 + n),
  association_category: "HUBSPOT_DEFINED",
  association_type_id: n % 5,
  association_label: n % 3 === 0 ? null : `label ${n}, "q"\n✓`
})
const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => row(from + i))
const batch = (from: number, count: number) => RowBatch.fromRows(rows(from, count))
const refusal = (id: number): ErrorRow.ErrorRow => ({
  from_object_type: "contacts",
  to_object_type: "companies",
  object_id: String(id),
  category: "OBJECT_NOT_FOUND",
  sub_category: null,
  message: `object ${id} not found`
})

/** The payload the tests commit: how many rows are done. */
const Done = Schema.Struct({ done: Schema.Number })

const facts: RowSink.Finished = {
  pair: { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") },
  source: { kind: "stream", key: "test", description: "test rows" },
  startedAt: Date.parse("2026-12-01T00:00:00Z")
}

type Kind = "ndjson" | "parquet"
const encoderOf = (kind: Kind): PartEncoder.PartEncoder =>
  kind === "parquet" ? ParquetEncoder.make() : NdjsonEncoder.make()
const readRows = (kind: Kind, glob: string) => kind === "parquet" ? readParquet(glob) : readNdjson(glob)

const text = (s: string) => new TextEncoder().encode(s)
const decoder = new TextDecoder()

/** The keys under `url`'s prefix, relative to it. */
const keysOf = (url: BucketUrl.BucketUrl) =>
  Effect.flatMap(Bucket.Bucket, (bucket) =>
    Effect.map(bucket.list(url.bucket, url.prefix), (objects) => objects.map((o) => o.key.slice(url.prefix.length))))

/**
 * The logs under `url`'s prefix: each log's length, and whether its segments form one chain from 0 (each offset
 * where the one before ended).
 */
const logsOf = (url: BucketUrl.BucketUrl) =>
  Effect.gen(function*() {
    const bucket = yield* Bucket.Bucket
    const objects = yield* bucket.list(url.bucket, `${url.prefix}.logs/`)
    const logs = new Map<string, { end: number; chained: boolean }>()
    for (const o of objects) {
      const relative = o.key.slice(`${url.prefix}.logs/`.length)
      const slash = relative.lastIndexOf("/")
      const name = relative.slice(0, slash)
      const offset = Number(relative.slice(slash + 1))
      const log = logs.get(name) ?? { end: 0, chained: true }
      logs.set(name, { end: offset + o.size, chained: log.chained && offset === log.end })
    }
    return logs
  })

/** The checkpoint object of the dataset under `url`. */
const remoteCheckpoint = (url: BucketUrl.BucketUrl) =>
  Effect.gen(function*() {
    const bucket = yield* Bucket.Bucket
    const found = yield* bucket.get(url.bucket, `${url.prefix}${Dataset.checkpointName}`)
    const decode = Schema.decodeUnknown(Schema.parseJson(Dataset.CheckpointFile))
    return yield* decode(decoder.decode(Option.getOrThrow(found).bytes))
  })

const isPartKey = (key: string) => /^part-\d{5}\./.test(key)

const expectFailure = (result: Either.Either<unknown, BucketError.BucketError>, reason: string) => {
  assert.isTrue(Either.isLeft(result), `expected ${reason}`)
  if (Either.isRight(result)) throw new Error("unreachable")
  assert.strictEqual(result.left.reason, reason, result.left.message)
  return result.left
}

layer(S3.layer, { excludeTestServices: true })("Staging", (it) => {
  for (const kind of ["ndjson", "parquet"] as const) {
    it.scoped(`${kind}: a run stopped on one machine resumes on another from the bucket, exactly once`, () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const server = yield* S3.Server
        const bucket = yield* Bucket.Bucket
        const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: `resume-${kind}/` }
        const encoder = encoderOf(kind)
        const journal = Dataset.openJournalName(encoder, 1)

        // The first machine: a part rolls, a commit after it, rows appended and never committed, then it stops.
        const first = yield* Effect.scoped(Effect.gen(function*() {
          const staged = yield* Staging.stage(url)
          const opened = yield* staged.sink("", { encoder, partMaxRows: 10 }).open(Done)
          assert.isTrue(Option.isNone(opened.resumed))
          yield* opened.append(batch(0, 7), [])
          yield* opened.commit({ done: 7 })
          yield* opened.append(batch(7, 6), [refusal(1)])
          yield* opened.commit({ done: 13 })
          yield* opened.append(batch(13, 2), [])
          yield* opened.commit({ done: 15 })
          yield* opened.append(batch(15, 2), [refusal(2)])
          yield* opened.commit({ done: 17 })
          yield* opened.append(batch(17, 3), [refusal(3)])
          const keys = yield* keysOf(url)
          assert.deepStrictEqual(keys.filter(isPartKey), [`part-00000${encoder.extension}`])
          assert.include(keys, ".lease")
          assert.notInclude(keys, ".staged")
          assert.notInclude(keys, Dataset.successName)
          // The part that rolled is committed: its journal's log is gone; part 1's holds two commits.
          const logs = yield* logsOf(url)
          assert.isFalse(logs.has(Dataset.openJournalName(encoder, 0)))
          assert.isTrue(logs.get(journal)?.chained)
          assert.isFalse(yield* fs.exists(path.join(staged.directory, `part-00000${encoder.extension}`)))
          return staged.directory
        }))
        assert.isFalse(yield* fs.exists(first), "the staging goes with its scope")

        // What the bucket holds is what the last checkpoint says, and no more.
        const checkpoint = yield* remoteCheckpoint(url)
        assert.deepStrictEqual(checkpoint.payload, { done: 17 })
        assert.deepStrictEqual(checkpoint.dataset.open, {
          index: 1,
          rows: 4,
          journalBytes: checkpoint.dataset.open.journalBytes
        })
        const logs = yield* logsOf(url)
        assert.deepStrictEqual(logs.get(journal), { end: checkpoint.dataset.open.journalBytes, chained: true })
        assert.deepStrictEqual(logs.get(Dataset.errorsName), { end: checkpoint.dataset.errors.bytes, chained: true })
        assert.isTrue(Option.isNone(yield* bucket.head(url.bucket, `${url.prefix}.lease`)), "released")

        // Another machine: a new staging, rebuilt from the bucket.
        const labels = "{\"label\":\"Primary\"}\n"
        const manifest = yield* Effect.scoped(Effect.gen(function*() {
          const staged = yield* Staging.stage(url)
          assert.notStrictEqual(staged.directory, first)
          const opened = yield* staged.sink("", {
            encoder,
            partMaxRows: 10,
            beforeSuccess: (directory) =>
              Effect.gen(function*() {
                // Before `_SUCCESS`, locally and in the bucket.
                assert.notInclude(yield* keysOf(url), Dataset.successName)
                const folder = path.join(directory, "_labels")
                yield* Effect.orDie(Dataset.makeDirectories(folder))
                yield* Effect.orDie(Dataset.writeAtomically(folder, "labels.ndjson", text(labels)))
              })
          }).open(Done)
          assert.deepStrictEqual(opened.resumed, Option.some({ done: 17 }))
          const state = yield* opened.state
          assert.strictEqual(state.parts.length, 1)
          assert.strictEqual(state.open.rows, 4)
          for (let i = 17; i < 30; i += 5) {
            yield* opened.append(batch(i, Math.min(5, 30 - i)), [])
            yield* opened.commit({ done: Math.min(i + 5, 30) })
          }
          assert.notInclude(yield* keysOf(url), Dataset.successName)
          const manifest = yield* opened.finish({ done: 30 }, facts)
          assert.include(yield* keysOf(url), Dataset.successName)
          return manifest
        }))
        assert.strictEqual(manifest.totals.rows, 30)
        assert.strictEqual(manifest.errors.rows, 2)

        // The bucket: the committed parts exactly, readers' files, the checkpoint; no logs, lease or marker.
        const keys = yield* keysOf(url)
        assert.deepStrictEqual(keys.filter(isPartKey), manifest.parts.map((p) => p.name))
        assert.deepStrictEqual(keys.filter((k) => !isPartKey(k)).sort(), [
          Dataset.checkpointName,
          Dataset.successName,
          Dataset.errorsName,
          "_labels/labels.ndjson",
          Dataset.manifestName
        ].sort())

        // A replica reads as any finished dataset: the manifest, the rows (by DuckDB), no duplicates.
        yield* Effect.scoped(Effect.gen(function*() {
          const replica = yield* Staging.download(url, { parts: true })
          const read = yield* Dataset.readManifest(replica)
          assert.deepStrictEqual(read.parts, manifest.parts)
          const found = yield* readRows(kind, path.join(replica, `part-*${encoder.extension}`))
          assert.strictEqual(found.length, 30)
          assert.isTrue(sameRows(rows(0, 30), found))
          const errors = yield* fs.readFileString(path.join(replica, Dataset.errorsName))
          assert.deepStrictEqual(errors.trim().split("\n").map((l) => JSON.parse(l).object_id), ["1", "2"])
          assert.strictEqual(yield* fs.readFileString(path.join(replica, "_labels/labels.ndjson")), labels)
        }))

        // A rerun of a finished export finds it finished and writes nothing.
        yield* Effect.scoped(Effect.gen(function*() {
          const staged = yield* Staging.stage(url)
          const opened = yield* staged.sink("", { encoder, partMaxRows: 10 }).open(Done)
          assert.isTrue(Option.isSome(opened.finished))
        }))
        assert.deepStrictEqual(yield* keysOf(url), keys)
      }), { timeout: 30_000 })
  }

  it.scoped("a restore cuts the bucket back to its checkpoint: uncommitted parts, log bytes past it, strays", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "tampered/" }
      const encoder = encoderOf("ndjson")
      const journal = Dataset.openJournalName(encoder, 1)
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        const opened = yield* staged.sink("", { encoder, partMaxRows: 5 }).open(Done)
        yield* opened.append(batch(0, 6), [])
        yield* opened.commit({ done: 6 })
        for (let i = 6; i < 9; i++) {
          yield* opened.append(batch(i, 1), [])
          yield* opened.commit({ done: i + 1 })
        }
      }))
      const checkpoint = yield* remoteCheckpoint(url)
      const committed = checkpoint.dataset.open.journalBytes
      const segmentKey = (name: string, offset: number) =>
        `${url.prefix}.logs/${name}/${String(offset).padStart(15, "0")}`
      const segments = (yield* bucket.list(url.bucket, `${url.prefix}.logs/${journal}/`))
      assert.strictEqual(segments.length, 3)
      const last = segments.at(-1)!

      // What a run that stopped between its uploads and its checkpoint leaves, and what others might.
      yield* bucket.put(url.bucket, `${url.prefix}part-00001.ndjson`, text("{\"uncommitted\":true}\n"))
      const lastBytes = Option.getOrThrow(yield* bucket.get(url.bucket, last.key)).bytes
      yield* bucket.put(url.bucket, last.key, new Uint8Array([...lastBytes, ...text("{\"torn\":")]))
      yield* bucket.put(url.bucket, segmentKey(journal, committed + 8), text("{\"after\":1}\n"))
      yield* bucket.put(url.bucket, segmentKey(journal, 99_999), text("{\"off the chain\":1}\n"))
      yield* bucket.put(url.bucket, segmentKey(Dataset.openJournalName(encoder, 0), 0), text("{\"rolled\":1}\n"))
      yield* bucket.put(url.bucket, `${url.prefix}.logs/not-a-segment`, text("?"))

      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        const keys = yield* keysOf(url)
        assert.deepStrictEqual(keys.filter(isPartKey), ["part-00000.ndjson"])
        assert.notInclude(keys, ".logs/not-a-segment")
        const logs = yield* logsOf(url)
        assert.deepStrictEqual([...logs.keys()].sort(), [journal])
        assert.deepStrictEqual(logs.get(journal), { end: committed, chained: true })
        const cut = Option.getOrThrow(yield* bucket.get(url.bucket, last.key)).bytes
        assert.deepStrictEqual(cut, lastBytes)
        const fs = yield* FileSystem.FileSystem
        const local = yield* fs.readFile(path.join(staged.directory, journal))
        assert.strictEqual(local.length, committed)

        const opened = yield* staged.sink("", { encoder, partMaxRows: 5 }).open(Done)
        assert.deepStrictEqual(opened.resumed, Option.some({ done: 9 }))
        yield* opened.append(batch(9, 3), [])
        yield* opened.commit({ done: 12 })
        yield* opened.finish({ done: 12 }, facts)
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const replica = yield* Staging.download(url, { parts: true })
        const found = yield* readNdjson(path.join(replica, "part-*.ndjson"))
        assert.strictEqual(found.length, 12)
        assert.isTrue(sameRows(rows(0, 12), found))
      }))
    }), { timeout: 30_000 })

  it.scoped("several pairs under a root share its id journal, restored to its last whole line", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "nightly/2026-12-03/" }
      const encoder = encoderOf("ndjson")
      const pairs = ["contacts-companies", "contacts-deals"] as const
      const page1 = "{\"ids\":[\"1\",\"2\"],\"next\":\"a\"}\n"
      const page2 = "{\"ids\":[\"3\"],\"next\":\"b\"}\n"
      const torn = "{\"ids\":[\"4\""
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        const listed = path.join(staged.directory, ".listed-contacts")
        yield* fs.writeFileString(listed, page1)
        const [a, b] = yield* Effect.forEach(pairs, (pair) => staged.sink(pair, { encoder, partMaxRows: 4 }).open(Done))
        yield* a!.append(batch(0, 5), [])
        yield* a!.commit({ done: 5 })
        yield* fs.writeFileString(listed, page2 + torn, { flag: "a" })
        yield* b!.append(batch(100, 2), [])
        yield* b!.commit({ done: 2 })
      }))
      const logs = yield* logsOf(url)
      assert.deepStrictEqual(logs.get(".listed-contacts")?.chained, true)
      assert.strictEqual(logs.get(".listed-contacts")?.end, page1.length + page2.length + torn.length)

      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        // The torn line never went on: cut, locally and in the bucket.
        assert.strictEqual(yield* fs.readFileString(path.join(staged.directory, ".listed-contacts")), page1 + page2)
        assert.deepStrictEqual((yield* logsOf(url)).get(".listed-contacts"), {
          end: page1.length + page2.length,
          chained: true
        })
        const [a, b] = yield* Effect.forEach(pairs, (pair) => staged.sink(pair, { encoder, partMaxRows: 4 }).open(Done))
        assert.deepStrictEqual(a!.resumed, Option.some({ done: 5 }))
        assert.deepStrictEqual(b!.resumed, Option.some({ done: 2 }))
        assert.isTrue(yield* fs.exists(path.join(staged.directory, "contacts-companies", Dataset.checkpointName)))
        yield* a!.append(batch(5, 3), [])
        yield* a!.finish({ done: 8 }, facts)
        yield* b!.append(batch(102, 1), [])
        yield* b!.finish({ done: 3 }, facts)
      }))
      const keys = yield* keysOf(url)
      assert.include(keys, ".listed-contacts")
      for (const pair of pairs) {
        assert.include(keys, `${pair}/${Dataset.successName}`)
        assert.isFalse(keys.some((k) => k.startsWith(`.logs/${pair}/`)), `${pair}'s logs are gone`)
      }
      yield* Effect.scoped(Effect.gen(function*() {
        const replica = yield* Staging.download(url, { parts: false })
        assert.strictEqual(yield* fs.readFileString(path.join(replica, ".listed-contacts")), page1 + page2)
        const manifest = yield* Dataset.readManifest(path.join(replica, "contacts-companies"))
        assert.strictEqual(manifest.totals.rows, 8)
        const files = yield* fs.readDirectory(path.join(replica, "contacts-deals"))
        assert.isFalse(files.some(isPartKey), "no parts without `parts`")
        assert.isTrue(Option.isSome(yield* bucket.head(url.bucket, `${url.prefix}contacts-deals/part-00000.ndjson`)))
      }))
    }), { timeout: 30_000 })

  it.scoped("a second run on a prefix is refused while the first holds it, and goes once it has ended", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "locked/" }
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Staging.stage(url)
        const second = expectFailure(yield* Effect.either(Effect.scoped(Staging.stage(url))), "Locked")
        assert.include(second.message, `s3://${server.bucket}/locked/.lease is locked: another run holds its lease`)
        assert.include(second.message, `host ${os.hostname()}, pid ${process.pid}`)
        assert.isTrue(Option.isSome(yield* bucket.head(url.bucket, "locked/.lease")), "the first run's lease stays")
      }))
      assert.isTrue(Option.isNone(yield* bucket.head(url.bucket, "locked/.lease")))
      yield* Effect.scoped(Staging.stage(url))
    }))

  it.scoped("a lease that expired, or whose holder died on this host, is taken over; a live one is not", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "stale/" }
      const now = Date.now()
      const lease = (host: string, pid: number, expiresAt: number) =>
        bucket.put(url.bucket, "stale/.lease", text(JSON.stringify({
          token: "theirs",
          host,
          pid,
          acquiredAt: new Date(now - 60_000).toISOString(),
          expiresAt: new Date(expiresAt).toISOString()
        })))
      yield* lease("elsewhere.example", 4242, now - 1_000)
      yield* Effect.scoped(Staging.stage(url))
      const dead = child.spawnSync(process.execPath, ["-e", ""]).pid
      yield* lease(os.hostname(), dead, now + 60_000)
      yield* Effect.scoped(Staging.stage(url))
      yield* lease("elsewhere.example", 4242, now + 60_000)
      const refused = expectFailure(yield* Effect.either(Effect.scoped(Staging.stage(url))), "Locked")
      assert.include(refused.message, "host elsewhere.example, pid 4242, lease until")
    }))

  it.scoped("a lease is renewed, and once another run takes it the holder's checks fail and it is left alone", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const key = "renewed/.lease"
      const expiry = Effect.map(bucket.get(server.bucket, key), (found) =>
        Date.parse(JSON.parse(decoder.decode(Option.getOrThrow(found).bytes)).expiresAt))
      const theirs = text(JSON.stringify({
        token: "theirs",
        host: "elsewhere.example",
        pid: 7,
        acquiredAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString()
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const lease = yield* Lease.acquire({
          bucket,
          bucketName: server.bucket,
          prefix: "renewed/",
          ttl: "3 seconds",
          renewEvery: "500 millis"
        })
        yield* lease.check
        // Renewed: its expiry moves on. Right after a renewal, the next one is 500 ms away.
        const before = yield* expiry
        let after = before
        for (let i = 0; i < 40 && after === before; i++) {
          yield* Effect.sleep("50 millis")
          after = yield* expiry
        }
        assert.isAbove(after, before)
        yield* lease.check
        // Taken over, as a store that ignores conditional writes lets another run do. (Between a renewal's read
        // and its write, s3rver would let the renewal overwrite it again: that is the race s3rver leaves open.)
        yield* bucket.put(server.bucket, key, theirs)
        yield* Effect.sleep("1200 millis")
        const lost = expectFailure(yield* Effect.either(lease.check), "Locked")
        assert.include(lost.message, "this run lost its lease: another run took its lease (host elsewhere.example")
      }))
      assert.deepStrictEqual(Option.map(yield* bucket.get(server.bucket, key), (f) => f.bytes), Option.some(theirs))
    }))

  it.scoped("a prefix holding another's objects is refused before anything is written to it", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "foreign/" }
      yield* bucket.put(url.bucket, "foreign/notes.txt", text("mine"))
      yield* bucket.put(url.bucket, "foreign/part-00000.parquet", text("spark's"))
      yield* bucket.put(url.bucket, "foreign/zz/a", text("a"))
      yield* bucket.put(url.bucket, "foreign/zz/b", text("b"))
      const refused = expectFailure(yield* Effect.either(Effect.scoped(Staging.stage(url))), "NotEmpty")
      assert.strictEqual(
        refused.message,
        `s3://${server.bucket}/foreign is not empty and holds no export to resume (found notes.txt, `
          + "part-00000.parquet, zz/a and 1 more). Nothing was written to it: choose an empty prefix or a new one."
      )
      assert.deepStrictEqual(yield* keysOf(url), ["notes.txt", "part-00000.parquet", "zz/a", "zz/b"])
    }))

  it.scoped("a prefix holding only what a run leaves before its first checkpoint is taken, and cleaned", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "leftovers/" }
      const put = (key: string, body: string) => bucket.put(url.bucket, `leftovers/${key}`, text(body))
      const zero = "000000000000000"
      const relisted = "{\"ids\":[\"1\",\"2\",\"3\"],\"next\":\"p2\"}\n{\"ids\":[\"4\"],\"next\":null}\n"
      // A part uploaded by a first commit that stopped before its checkpoint, beside its `.staged` marker.
      yield* put(".staged", "")
      yield* put("part-00000.ndjson", "{\"a\":1}\n")
      yield* put(`.logs/_errors/errors.ndjson/${zero}`, "{\"e\":1}\n")
      yield* put(`.logs/.part-00000.ndjson.tmp/${zero}`, "{\"r\":1}\n")
      yield* put(`.logs/.listed-ids/${zero}`, "{\"ids\":[\"9\"],\"next\":null}\n")
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        assert.deepStrictEqual(yield* keysOf(url), [".lease", `.logs/.listed-ids/${zero}`])
        assert.strictEqual(
          yield* fs.readFileString(path.join(staged.directory, ".listed-ids")),
          "{\"ids\":[\"9\"],\"next\":null}\n"
        )
        // A source that resumes nothing lists afresh: its journal is removed and written again, longer.
        yield* fs.remove(path.join(staged.directory, ".listed-ids"))
        yield* fs.writeFileString(path.join(staged.directory, ".listed-ids"), relisted)
        // A first commit that rolls a part marks the prefix until its checkpoint is written.
        const opened = yield* staged.sink("", { encoder: encoderOf("ndjson"), partMaxRows: 2 }).open(Done)
        assert.isTrue(Option.isNone(opened.resumed))
        yield* opened.append(batch(0, 3), [])
        yield* opened.commit({ done: 3 })
        const keys = yield* keysOf(url)
        assert.include(keys, "part-00000.ndjson")
        assert.include(keys, Dataset.checkpointName)
        assert.notInclude(keys, ".staged")
        assert.deepStrictEqual((yield* logsOf(url)).get(".listed-ids"), { end: relisted.length, chained: true })
      }))
      // The new listing, not the old one's bytes extended by the new one's.
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        assert.strictEqual(yield* fs.readFileString(path.join(staged.directory, ".listed-ids")), relisted)
      }))
    }))

  it.scoped("an export with no rows ends with one empty part in the bucket", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const bucket = yield* Bucket.Bucket
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "no-rows/" }
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        const opened = yield* staged.sink("", { encoder: encoderOf("ndjson") }).open(Done)
        yield* opened.commit({ done: 0 })
        const manifest = yield* opened.finish({ done: 0 }, facts)
        assert.deepStrictEqual(manifest.parts.map((p) => [p.name, p.rows, p.bytes]), [["part-00000.ndjson", 0, 0]])
      }))
      assert.deepStrictEqual(yield* bucket.head(url.bucket, "no-rows/part-00000.ndjson"), Option.some({
        key: "no-rows/part-00000.ndjson",
        size: 0
      }))
      assert.include(yield* keysOf(url), Dataset.successName)
    }))

  it.scoped("download refuses a prefix with no finished export", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const empty = expectFailure(
        yield* Effect.either(
          Effect.scoped(Staging.download({ bucket: server.bucket, prefix: "nothing-here/" }, { parts: false }))
        ),
        "NotFinished"
      )
      assert.include(empty.message, "holds no export")
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "unfinished/" }
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url)
        const opened = yield* staged.sink("", { encoder: encoderOf("ndjson") }).open(Done)
        yield* opened.append(batch(0, 2), [])
        yield* opened.commit({ done: 2 })
      }))
      const running = expectFailure(
        yield* Effect.either(Effect.scoped(Staging.download(url, { parts: true }))),
        "NotFinished"
      )
      assert.include(running.message, `s3://${server.bucket}/unfinished/ is not a finished export: it has no _SUCCESS`)
    }))

  it.scoped("a missing bucket stops the stage with NoSuchBucket, naming it", () =>
    Effect.gen(function*() {
      const refused = expectFailure(
        yield* Effect.either(Effect.scoped(Staging.stage({ bucket: "no-such-bucket", prefix: "x/" }))),
        "NoSuchBucket"
      )
      assert.include(refused.message, "the bucket no-such-bucket does not exist")
    }))

  it.scoped("refused credentials stop the stage with AccessDenied, naming the bucket", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const stranger = yield* Bucket.make(S3.optionsFor(server, { accessKeyId: "AKIAWRONG", secretAccessKey: "nope" }))
      const refused = expectFailure(
        yield* Effect.either(Effect.scoped(Staging.stage({ bucket: server.bucket, prefix: "denied/" }).pipe(
          Effect.provideService(Bucket.Bucket, stranger)
        ))),
        "AccessDenied"
      )
      assert.include(refused.message, `for bucket ${server.bucket} (InvalidAccessKeyId)`)
    }))

  it.scoped("a staging directory given keeps the parts with keepParts, and is rebuilt on the next run", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const server = yield* S3.Server
      const url: BucketUrl.BucketUrl = { bucket: server.bucket, prefix: "kept/" }
      const encoder = encoderOf("ndjson")
      const base = yield* fs.makeTempDirectoryScoped()
      const directory = path.join(base, "staging")
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url, { directory, keepParts: true })
        assert.strictEqual(staged.directory, directory)
        const opened = yield* staged.sink("", { encoder, partMaxRows: 3 }).open(Done)
        yield* opened.append(batch(0, 4), [])
        yield* opened.commit({ done: 4 })
        yield* opened.append(batch(4, 1), [])
      }))
      assert.isTrue(yield* fs.exists(path.join(directory, "part-00000.ndjson")), "kept, and the directory too")
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* Staging.stage(url, { directory, keepParts: true })
        assert.isTrue(yield* fs.exists(path.join(directory, "part-00000.ndjson")))
        const opened = yield* staged.sink("", { encoder, partMaxRows: 3 }).open(Done)
        assert.deepStrictEqual(opened.resumed, Option.some({ done: 4 }))
        yield* opened.finish({ done: 4 }, facts)
      }))
      const found = yield* readNdjson(path.join(directory, "part-*.ndjson"))
      assert.isTrue(sameRows(rows(0, 4), found))

      const elsewhere = path.join(base, "home")
      yield* fs.makeDirectory(elsewhere)
      yield* fs.writeFileString(path.join(elsewhere, ".bashrc"), "mine")
      const refused = expectFailure(
        yield* Effect.either(
          Effect.scoped(Staging.stage({ bucket: server.bucket, prefix: "kept-2/" }, { directory: elsewhere }))
        ),
        "Io"
      )
      assert.include(refused.message, "holds files no staging leaves (.bashrc)")
      assert.strictEqual(yield* fs.readFileString(path.join(elsewhere, ".bashrc")), "mine")
    }))
})
