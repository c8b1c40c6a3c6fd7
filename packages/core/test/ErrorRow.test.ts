import { assert, describe, it } from "@effect/vitest"
import { ErrorRow, ObjectType } from "../src/index.js"

const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }

describe("ErrorRow", () => {
  it("one row per id an error names, with category, sub-category and message", () => {
    const rows = ErrorRow.fromError(pair, {
      status: "error",
      category: "OBJECT_NOT_FOUND",
      message: "Could not find 456, 789",
      subCategory: "crm.associations.FROM_OBJECT_NOT_FOUND",
      context: { fromObjectId: ["456", "789"] }
    })
    assert.deepStrictEqual(rows.map((r) => r.object_id), ["456", "789"])
    for (const r of rows) {
      assert.strictEqual(r.category, "OBJECT_NOT_FOUND")
      assert.strictEqual(r.sub_category, "crm.associations.FROM_OBJECT_NOT_FOUND")
      assert.strictEqual(r.from_object_type, "contacts")
    }
  })

  it("an error that names no id is kept with a null id", () => {
    const rows = ErrorRow.fromError(pair, { category: "VALIDATION_ERROR", message: "bad" })
    assert.strictEqual(rows.length, 1)
    assert.isNull(rows[0]?.object_id)
    assert.isNull(rows[0]?.sub_category)
  })
})
