import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { chunksOf, edgeRows, syntheticRows, tempDir, writePart } from "../../../test/support/Parts.js"
import { ParquetEncoder, ParquetReader } from "../src/index.js"

describe("ParquetReader", () => {
  it.scopedLive("reads back exactly the rows the encoder wrote, across row groups, and honours a limit", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      const rows = [...edgeRows, ...syntheticRows(300, 7)]
      yield* writePart(ParquetEncoder.make({ rowGroupRows: 64 }), file, chunksOf(rows, 50))
      assert.deepStrictEqual(yield* ParquetReader.readRows(file), rows)
      assert.deepStrictEqual(yield* ParquetReader.readRows(file, { limit: 3 }), rows.slice(0, 3))
    }))

  it.scoped("a file that is not Parquet fails with a message naming it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "part-00000.parquet")
      yield* Effect.sync(() => fs.writeFileSync(file, "not parquet at all"))
      const error = yield* Effect.flip(ParquetReader.readRows(file))
      assert.include(error.message, file)
    }))
})
