import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { bin, run } from "./support.js"

const dist = path.dirname(bin)
const files = ["assoc-etl.mjs", "assoc-etl.cjs", "assoc-etl.cjs.cache"] as const

describe("the assoc-etl launcher (dist/assoc-etl.mjs)", () => {
  it.effect("runs the bundle with its code cache; without it when the cache is missing, another bundle's, or refused", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launcher-"))
      for (const f of files) fs.copyFileSync(path.join(dist, f), path.join(dir, f))
      const bundle = path.join(dir, "assoc-etl.cjs")
      const cache = path.join(dir, "assoc-etl.cjs.cache")
      const version = (mode: "check" | "write") =>
        run(process.execPath, [path.join(dir, "assoc-etl.mjs"), "--version"], { env: { ASSOC_ETL_CODE_CACHE: mode } })
      const expect = (label: string) =>
        Effect.gen(function*() {
          const ran = yield* version("check")
          assert.strictEqual(ran.code, 0, ran.stderr)
          assert.strictEqual(ran.stdout.trim(), "0.1.0")
          assert.include(ran.stderr, `code cache: ${label}`)
        })

      // As built: bundle.mjs made the cache.
      yield* expect("used")

      // V8 refuses data it did not make (here, a cache whose V8 part is zeroed); the bundle is compiled.
      const made = fs.readFileSync(cache)
      fs.writeFileSync(cache, Buffer.concat([made.subarray(0, 32), Buffer.alloc(made.length - 32)]))
      yield* expect("refused by V8")

      // A bundle changed after its cache, to the same length (V8's own check): the cache is not given to V8.
      fs.writeFileSync(cache, made)
      const source = fs.readFileSync(bundle, "utf8")
      assert.isTrue(source.startsWith("\"use strict\";"))
      fs.writeFileSync(bundle, "'use strict';" + source.slice("\"use strict\";".length))
      yield* expect("none")

      // No cache: compiled; `write` makes one that the next run uses.
      fs.rmSync(cache)
      yield* expect("none")
      assert.strictEqual((yield* version("write")).code, 0)
      yield* expect("used")
      fs.rmSync(dir, { recursive: true, force: true })
    }), 60_000)
})
