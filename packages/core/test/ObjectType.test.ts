import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { ObjectType } from "../src/index.js"

describe("ObjectType", () => {
  it("accepts names and object type ids", () => {
    for (const s of ["contacts", "companies", "line_items", "p_custom_2", "0-1", "2-12345"]) {
      assert.isTrue(Either.isRight(ObjectType.decodeEither(s)), s)
    }
  })

  it("refuses anything that could change a URL, naming the value", () => {
    for (const s of ["", "Contacts", "contacts/../x", "0-", "-1", "a b", "contacts?x=1", "2-1-1", "%2e%2e", "x".repeat(65)]) {
      const result = ObjectType.decodeEither(s)
      assert.isTrue(Either.isLeft(result), s)
      if (Either.isLeft(result)) assert.include(String(result.left), "object type must be a name like")
    }
  })
})
