import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { tempDir } from "../support/Parts.js"
import * as path from "node:path"
import { bin, run } from "./support.js"

const dist = path.dirname(bin)
const files = ["assoc-etl.mjs", "assoc-etl.cjs", "assoc-etl.cjs.cache"] as const
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest()
/** The version the CLI states: its package's. */
const cliVersion = (JSON.parse(fs.readFileSync(path.join(dist, "..", "package.json"), "utf8")) as { version: string })
  .version

describe("the assoc-etl launcher (dist/assoc-etl.mjs)", () => {
  it.scoped("runs the bundle with its code cache, and compiles it when the cache is missing, another bundle's, damaged or refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const f of files) fs.copyFileSync(path.join(dist, f), path.join(dir, f))
      const bundle = path.join(dir, "assoc-etl.cjs")
      const cache = path.join(dir, "assoc-etl.cjs.cache")
      const version = (mode: "check" | "write") =>
        run(process.execPath, [path.join(dir, "assoc-etl.mjs"), "--version"], { env: { ASSOC_ETL_CODE_CACHE: mode } })
      const expect = (label: string) =>
        Effect.gen(function*() {
          const ran = yield* version("check")
          assert.strictEqual(ran.code, 0, ran.stderr)
          assert.strictEqual(ran.stdout.trim(), cliVersion)
          assert.include(ran.stderr, `code cache: ${label}`)
        })

      // As built: bundle.mjs made the cache (the bundle's SHA-256, the data's SHA-256, the data).
      yield* expect("used")
      const made = fs.readFileSync(cache)
      const data = made.subarray(64)
      assert.deepStrictEqual(made.subarray(0, 32), sha256(fs.readFileSync(bundle)))
      assert.deepStrictEqual(made.subarray(32, 64), sha256(data))

      // Data damaged past V8's header (V8 crashed on such data): not given to V8.
      const damaged = Buffer.from(made)
      for (const at of [5000, Math.floor(damaged.length / 2), damaged.length - 100]) damaged[at] = damaged[at]! ^ 0xff
      fs.writeFileSync(cache, damaged)
      yield* expect("not used")

      // Whole, but not V8's (its header zeroed): V8 refuses it and the bundle is compiled.
      const zeroed = Buffer.alloc(data.length)
      fs.writeFileSync(cache, Buffer.concat([made.subarray(0, 32), sha256(zeroed), zeroed]))
      yield* expect("refused by V8")

      // A bundle changed after its cache, to the same length (V8's own check): the cache is not given to V8.
      fs.writeFileSync(cache, made)
      const source = fs.readFileSync(bundle, "utf8")
      assert.isTrue(source.startsWith("\"use strict\";"))
      fs.writeFileSync(bundle, "'use strict';" + source.slice("\"use strict\";".length))
      yield* expect("not used")

      // No cache: compiled; `write` makes one that the next run uses.
      fs.rmSync(cache)
      yield* expect("none")
      assert.strictEqual((yield* version("write")).code, 0)
      yield* expect("used")

      // A cache that cannot be written is said, and the run's exit code stands.
      fs.rmSync(cache)
      fs.mkdirSync(cache)
      const unwritable = yield* version("write")
      assert.strictEqual(unwritable.code, 0, unwritable.stderr)
      assert.include(unwritable.stderr, "no code cache written")
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [...files].sort())
    }).pipe(Effect.scoped), 60_000)
})
