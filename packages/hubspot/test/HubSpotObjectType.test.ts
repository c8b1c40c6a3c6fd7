import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { HubSpotObjectType } from "../src/index.js"

describe("HubSpotObjectType", () => {
  it("takes what a portal can have: standard names (plural or singular), type ids, prefixed custom objects", () => {
    for (const t of ["contacts", "contact", "companies", "company", "line_items", "taxes", "tax", "0-1", "2-12345", "p_cars", "p12345_cars"]) {
      assert.isTrue(Either.isRight(HubSpotObjectType.check(t)), t)
    }
  })

  it("refuses a name no portal can have, saying which forms work", () => {
    for (const t of ["foo", "contactz", "cars", "2_12345"]) {
      const checked = HubSpotObjectType.check(t)
      assert.isTrue(Either.isLeft(checked), t)
      if (Either.isLeft(checked)) {
        assert.include(checked.left, JSON.stringify(t))
        assert.include(checked.left, "2-12345")
      }
    }
  })
})
