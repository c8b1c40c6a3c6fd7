import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { ObjectId } from "../src/index.js"

describe("ObjectId", () => {
  it("keeps ids beyond 2^53 as exact strings", () => {
    const big = "18446744073709551615"
    const result = ObjectId.decodeEither(big)
    assert.deepStrictEqual(result, Either.right(big as ObjectId.ObjectId))
    assert.notStrictEqual(String(Number(big)), big)
  })

  it("refuses numbers, signs, spaces and empty strings", () => {
    for (const v of [123, "", " 1", "1 ", "-1", "1e3", "12a", "1.0"]) {
      assert.isTrue(Either.isLeft(ObjectId.decodeEither(v)), String(v))
    }
  })

  it("isObjectId agrees with the schema", () => {
    for (const v of ["0", "123", "", "a1", "99999999999999999999"]) {
      assert.strictEqual(ObjectId.isObjectId(v), Either.isRight(ObjectId.decodeEither(v)), v)
    }
  })
})
