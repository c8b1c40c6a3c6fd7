import { S3ServiceException } from "@aws-sdk/client-s3"
import { FileSystem } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Either, Layer, Option, Redacted } from "effect"
import * as child from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Bucket } from "../src/index.js"
import { fromSdk } from "../src/internal/client.js"
import * as S3 from "./s3.js"

const text = (s: string) => new TextEncoder().encode(s)
const packageDirectory = fileURLToPath(new URL("..", import.meta.url))

/** Runs `script` (an ES module) in a child Node process in this package's directory; gives its output. */
const node = (script: string, env: Record<string, string>) =>
  Effect.async<{ readonly stdout: string; readonly stderr: string; readonly code: number | null }>((resume) => {
    const proc = child.spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: packageDirectory,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env }
    })
    let stdout = ""
    let stderr = ""
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    proc.on("close", (code) => resume(Effect.succeed({ stdout, stderr, code })))
  })

layer(S3.layer, { excludeTestServices: true })("Bucket", (it) => {
  it.scoped("puts, gets, heads, lists and deletes objects", () =>
    Effect.gen(function*() {
      const bucket = yield* Bucket.Bucket
      const { bucket: name } = yield* S3.Server
      const etag = yield* bucket.put(name, "ops/a.txt", text("hello"))
      assert.isTrue(etag.length > 0)
      yield* bucket.put(name, "ops/sub/b.txt", text("bye!"))
      yield* bucket.put(name, "opsx/c.txt", text("elsewhere"))
      const got = yield* bucket.get(name, "ops/a.txt")
      assert.isTrue(Option.isSome(got))
      assert.strictEqual(new TextDecoder().decode(Option.getOrThrow(got).bytes), "hello")
      assert.strictEqual(Option.getOrThrow(got).etag, etag)
      assert.deepStrictEqual(yield* bucket.head(name, "ops/sub/b.txt"), Option.some({ key: "ops/sub/b.txt", size: 4 }))
      assert.isTrue(Option.isNone(yield* bucket.get(name, "ops/missing")))
      assert.isTrue(Option.isNone(yield* bucket.head(name, "ops/missing")))
      assert.deepStrictEqual(yield* bucket.list(name, "ops/"), [
        { key: "ops/a.txt", size: 5 },
        { key: "ops/sub/b.txt", size: 4 }
      ])
      yield* bucket.remove(name, ["ops/a.txt", "ops/never-there"])
      assert.deepStrictEqual((yield* bucket.list(name, "ops/")).map((o) => o.key), ["ops/sub/b.txt"])
      yield* bucket.remove(name, [])
    }))

  it.scoped("streams files up and down, whole or a range, in multipart uploads past 8 MiB", () =>
    Effect.gen(function*() {
      const bucket = yield* Bucket.Bucket
      const fs = yield* FileSystem.FileSystem
      const { bucket: name } = yield* S3.Server
      const dir = yield* fs.makeTempDirectoryScoped()
      const big = new Uint8Array(20 * 1024 * 1024 + 123)
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff
      yield* fs.writeFile(path.join(dir, "big.bin"), big)
      yield* bucket.upload(name, "files/big.bin", path.join(dir, "big.bin"))
      const size = Option.map(yield* bucket.head(name, "files/big.bin"), (o) => o.size)
      assert.deepStrictEqual(size, Option.some(big.length))
      yield* bucket.download(name, "files/big.bin", path.join(dir, "back.bin"))
      assert.deepStrictEqual(yield* fs.readFile(path.join(dir, "back.bin")), big)

      yield* bucket.upload(name, "files/range", path.join(dir, "big.bin"), { start: 1000, end: 1100 })
      const range = Option.map(yield* bucket.get(name, "files/range"), (f) => f.bytes)
      assert.deepStrictEqual(range, Option.some(big.subarray(1000, 1100)))
      yield* bucket.upload(name, "files/empty", path.join(dir, "big.bin"), { start: 5, end: 5 })
      assert.deepStrictEqual(yield* bucket.head(name, "files/empty"), Option.some({ key: "files/empty", size: 0 }))

      // Appended, and cut: the first 10 bytes of the range after what the file held.
      yield* fs.writeFile(path.join(dir, "log"), text("head:"))
      yield* bucket.download(name, "files/range", path.join(dir, "log"), { append: true, bytes: 10 })
      const log = yield* fs.readFile(path.join(dir, "log"))
      assert.deepStrictEqual(log, new Uint8Array([...text("head:"), ...big.subarray(1000, 1010)]))

      const missing = yield* Effect.either(bucket.upload(name, "files/none", path.join(dir, "no-such-file")))
      assert.isTrue(Either.isLeft(missing))
      if (Either.isLeft(missing)) {
        assert.strictEqual(missing.left.reason, "Io")
        assert.include(missing.left.message, "no-such-file")
      }
    }))

  it.scoped("lists past a page of 1,000 keys and deletes in batches of 1,000", () =>
    Effect.gen(function*() {
      const bucket = yield* Bucket.Bucket
      const { bucket: name } = yield* S3.Server
      const keys = Array.from({ length: 1001 }, (_, i) => `many/${String(i).padStart(4, "0")}`)
      yield* Effect.forEach(keys, (key) => bucket.put(name, key, text(key)), { concurrency: 32, discard: true })
      const listed = yield* bucket.list(name, "many/")
      assert.deepStrictEqual(listed.map((o) => o.key), keys)
      yield* bucket.remove(name, keys)
      assert.deepStrictEqual(yield* bucket.list(name, "many/"), [])
    }), { timeout: 30_000 })

  it.scoped("s3rver ignores conditional writes (If-None-Match, If-Match): both are written", () =>
    Effect.gen(function*() {
      const bucket = yield* Bucket.Bucket
      const { bucket: name } = yield* S3.Server
      const first = yield* bucket.putIf(name, "cond/lease", text("one"), { ifNoneMatch: "*" })
      assert.isTrue(Option.isSome(first))
      // On S3 both would be refused (412) and give none; s3rver writes them.
      const second = yield* bucket.putIf(name, "cond/lease", text("two"), { ifNoneMatch: "*" })
      const third = yield* bucket.putIf(name, "cond/lease", text("three"), { ifMatch: "\"0123456789abcdef\"" })
      assert.isTrue(Option.isSome(second) && Option.isSome(third))
      const got = yield* bucket.get(name, "cond/lease")
      assert.strictEqual(new TextDecoder().decode(Option.getOrThrow(got).bytes), "three")
    }))

  it.scoped("a missing bucket is NoSuchBucket, naming it and the endpoint", () =>
    Effect.gen(function*() {
      const bucket = yield* Bucket.Bucket
      const server = yield* S3.Server
      const result = yield* Effect.either(bucket.list("no-such-bucket", "x/"))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "NoSuchBucket")
        assert.include(result.left.message, "the bucket no-such-bucket does not exist")
        assert.include(result.left.message, server.endpoint)
      }
    }))

  it.scoped("refused credentials are AccessDenied, naming the bucket and never the secret", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      // s3rver checks that the key id exists, not SigV4 signatures: a wrong secret alone would be accepted.
      const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
      const stranger = yield* Bucket.make(
        S3.optionsFor(server, { accessKeyId: "AKIANOSUCHKEY", secretAccessKey: secret })
      )
      const result = yield* Effect.either(stranger.list(server.bucket, "x/"))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "AccessDenied")
        assert.include(
          result.left.message,
          `the credentials were refused by ${server.endpoint} for bucket ${server.bucket} (InvalidAccessKeyId)`
        )
        assert.include(result.left.message, "AWS_ACCESS_KEY_ID")
        assert.notInclude(result.left.message, secret)
        assert.notInclude(JSON.stringify(result.left), secret)
      }
    }))

  it.scoped("an endpoint that does not answer is Io, naming it", () =>
    Effect.gen(function*() {
      const { bucket: name } = yield* S3.Server
      const nowhere = yield* Bucket.make({
        endpoint: "http://127.0.0.1:1",
        region: "us-east-1",
        credentials: { accessKeyId: "S3RVER", secretAccessKey: Redacted.make("S3RVER") }
      })
      const result = yield* Effect.either(nowhere.get(name, "x"))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "Io")
        assert.include(result.left.message, "cannot reach http://127.0.0.1:1 (ECONNREFUSED)")
      }
    }))

  it("classifies the store's refusals by name and status", () => {
    const refusal = (name: string, status: number) =>
      fromSdk(
        new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message: "no" }),
        "s3://b1/k",
        undefined
      )
    assert.strictEqual(refusal("SignatureDoesNotMatch", 403).reason, "AccessDenied")
    assert.include(refusal("SignatureDoesNotMatch", 403).message, "the credentials were refused by AWS for bucket b1")
    assert.strictEqual(refusal("AccessDenied", 403).reason, "AccessDenied")
    assert.include(refusal("AccessDenied", 403).message, "lack a permission on bucket b1")
    assert.strictEqual(refusal("Forbidden", 403).reason, "AccessDenied")
    assert.strictEqual(refusal("NoSuchBucket", 404).reason, "NoSuchBucket")
    assert.strictEqual(refusal("InternalError", 500).reason, "Io")
    assert.include(refusal("InternalError", 500).message, "AWS S3 answered InternalError (HTTP 500)")
    const none = fromSdk(Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError"
    }), "s3://b1/k", undefined)
    assert.strictEqual(none.reason, "AccessDenied")
    assert.include(none.message, "no AWS credentials were found for bucket b1")
  })

  it.scoped("Bucket.layer takes the endpoint and the credentials from the environment", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const names = Object.keys(server.env)
      const saved = names.map((n) => [n, process.env[n]] as const)
      yield* Effect.acquireRelease(
        Effect.sync(() => Object.assign(process.env, server.env)),
        () =>
          Effect.sync(() => {
            for (const [n, v] of saved) {
              if (v === undefined) delete process.env[n]
              else process.env[n] = v
            }
          })
      )
      const bucket = yield* Effect.provide(Bucket.Bucket, Layer.orDie(Bucket.layer))
      assert.strictEqual(bucket.endpoint, server.endpoint)
      yield* bucket.put(server.bucket, "env/x", text("from the environment"))
      assert.deepStrictEqual(yield* bucket.head(server.bucket, "env/x"), Option.some({ key: "env/x", size: 20 }))
    }))

  it.scoped("keeps the SDK's NodeVersionSupportWarning out of the output, and only that warning", () =>
    Effect.gen(function*() {
      const server = yield* S3.Server
      const env = { ...server.env }
      // The SDK alone prints it on this Node (20): the check below can see it.
      const bare = yield* node(
        `import { S3Client } from "@aws-sdk/client-s3"; new S3Client({ region: "us-east-1" }); console.log("built")`,
        env
      )
      const major = Number(process.versions.node.split(".")[0])
      if (major < 22) assert.include(bare.stderr, "NodeVersionSupportWarning")
      const ours = yield* node(
        `import { Effect } from "effect"
        import { Bucket } from "./dist/index.js"
        process.emitWarning("a warning of the user's")
        const program = Effect.scoped(Effect.flatMap(Bucket.make({ endpoint: process.env.AWS_ENDPOINT_URL_S3 }),
          (bucket) => bucket.list(${JSON.stringify(server.bucket)}, "warn/")))
        Effect.runPromise(program).then((keys) => console.log("listed", keys.length))`,
        env
      )
      assert.strictEqual(ours.code, 0, ours.stderr)
      assert.include(ours.stdout, "listed 0")
      assert.notInclude(ours.stderr, "NodeVersionSupportWarning")
      assert.include(ours.stderr, "a warning of the user's")
    }), { timeout: 30_000 })
})
