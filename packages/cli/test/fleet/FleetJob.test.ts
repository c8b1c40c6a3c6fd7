import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FleetJob from "../../src/fleet/FleetJob.js"

const entry = (more: Record<string, unknown> = {}) => ({
  portal: "acme",
  tokenEnv: "ACME_HUBSPOT_TOKEN",
  pairs: ["contacts:companies", "deals:contacts"],
  out: "/data/acme",
  ...more
})

/** `FleetJob.read` of a file holding `content` (JSON of it unless a string). */
const readJob = (content: unknown) =>
  Effect.gen(function*() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-job-"))
    const file = path.join(dir, "job.json")
    fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content))
    return yield* Effect.either(FleetJob.read(file)).pipe(
      Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    )
  }).pipe(Effect.provide(NodeContext.layer))

/** The message of the refusal of `content`, after the file's name. */
const refusal = (content: unknown) =>
  Effect.map(readJob(content), (result) => {
    assert.isTrue(Either.isLeft(result), `refused: ${JSON.stringify(content)}`)
    const error = Either.flip(result).pipe(Either.getOrThrow)
    assert.isTrue(error.flag.endsWith("job.json"), error.flag)
    return error.detail
  })

describe("FleetJob", () => {
  it.effect("a job: each entry the nightly job's settings, decoded as export --job decodes them", () =>
    Effect.gen(function*() {
      const result = yield* readJob({
        id: "nightly-2026-12-02",
        exports: [
          entry({ format: "parquet", rateLimit: "190/10s", memory: "64MiB", batchSize: 500 }),
          entry({ portal: "globex", tokenEnv: "GLOBEX_TOKEN", pairs: "contacts:companies", out: "s3://lake/globex" })
        ]
      })
      const job = Either.getOrThrow(result)
      assert.strictEqual(job.id, "nightly-2026-12-02")
      const acme = job.exports[0]!
      const globex = job.exports[1]!
      const pairs = acme.pairs.map((p) => `${p.fromType}:${p.toType}`)
      assert.deepStrictEqual(pairs, ["contacts:companies", "deals:contacts"])
      assert.deepStrictEqual(acme.rateLimit, { max: 190, windowMillis: 10_000 })
      assert.strictEqual(acme.memory, 64 * 2 ** 20)
      assert.strictEqual(globex.out, "s3://lake/globex")
      // What `export --job` reads: the entry without its portal and token variable.
      assert.deepStrictEqual(Object.keys(FleetJob.jobFileOf(acme)).sort(), [
        "batchSize",
        "format",
        "memory",
        "out",
        "pairs",
        "rateLimit"
      ])
      // Its JSON (the workflow's payload, the status table's copy) decodes to the same job.
      const again = Schema.decodeUnknownSync(Schema.parseJson(FleetJob.FleetJob))(FleetJob.encodeJson(job))
      assert.deepStrictEqual(again, job)
    }))

  it.effect("local paths are made absolute where submit runs; buckets and dates stay as written", () =>
    Effect.gen(function*() {
      const job = Either.getOrThrow(
        yield* readJob({
          id: "j",
          exports: [
            entry({ out: "out/acme", ids: "ids.txt", since: "2026-11-30T00:00:00Z", diffAgainst: "s3://lake/old" }),
            entry({ portal: "b", out: "out/b", since: "out/b-yesterday" })
          ]
        })
      )
      const a = job.exports[0]!
      const b = job.exports[1]!
      assert.strictEqual(a.out, path.resolve("out/acme"))
      assert.strictEqual(a.ids, path.resolve("ids.txt"))
      assert.strictEqual(a.since, "2026-11-30T00:00:00Z")
      assert.strictEqual(a.diffAgainst, "s3://lake/old")
      assert.strictEqual(b.since, path.resolve("out/b-yesterday"))
    }))

  it.effect("every refusal names its field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        ["{", "not a fleet job file: "],
        [[], "not a fleet job file: "],
        [{ exports: [entry()] }, "id: is missing"],
        [{ id: "a b", exports: [entry()] }, "id: expected letters, digits"],
        [{ id: "j", exports: [] }, "exports: expected at least one portal's export"],
        [{ id: "j", exports: [entry({ bogus: 1 })] }, "exports[0].bogus: is unexpected"],
        [{ id: "j", exports: [entry({ from: "contacts" })] }, "exports[0].from: is unexpected"],
        [{ id: "j", exports: [entry({ tokenEnv: undefined })] }, "exports[0].tokenEnv: is missing"],
        [
          { id: "j", exports: [entry({ tokenEnv: "pat-na1-123" })] },
          "exports[0].tokenEnv: expected the name of an environment variable"
        ],
        [{ id: "j", exports: [entry({ out: undefined })] }, "exports[0].out: is missing"],
        [{ id: "j", exports: [entry({ pairs: ["contacts:nope!"] })] }, "exports[0].pairs[0]"],
        [{ id: "j", exports: [entry({ rateLimit: "fast" })] }, "exports[0].rateLimit: a rate limit is"],
        [{ id: "j", exports: [entry({ batchSize: 5000 })] }, "exports[0].batchSize: "],
        [{ id: "j", exports: [entry({ ids: "-" })] }, "exports[0].ids: ids from stdin (-) cannot reach a worker"],
        [
          { id: "j", exports: [entry(), entry({ out: "/data/other" })] },
          `exports[1].portal: "acme" is exports[0]'s portal too`
        ],
        [
          { id: "j", exports: [entry(), entry({ portal: "b" })] },
          `exports[1].out: "/data/acme" is exports[0]'s out too`
        ],
        // The same directory, written two ways.
        [
          { id: "j", exports: [entry({ out: "./x/acme" }), entry({ portal: "b", out: "x/acme" })] },
          `exports[1].out: "${path.resolve("x/acme")}" is exports[0]'s out too`
        ]
      ]
      for (const [content, expected] of cases) {
        const detail = yield* refusal(content)
        assert.isTrue(detail.startsWith(expected), `${JSON.stringify(content)}: ${detail}`)
      }
    }))

  it.effect("a missing file is said so", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(FleetJob.read("/nonexistent/job.json"))
      assert.strictEqual(error.message, "/nonexistent/job.json: no such file")
    }).pipe(Effect.provide(NodeContext.layer)))
})
