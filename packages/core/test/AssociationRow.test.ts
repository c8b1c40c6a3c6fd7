import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { AssociationRow } from "../src/index.js"

const decodeRow = Schema.decodeUnknownEither(AssociationRow.AssociationRow)

const row: AssociationRow.AssociationRow = {
  from_object_type: "contacts",
  from_object_id: "123",
  to_object_type: "companies",
  to_object_id: "9001",
  association_category: "HUBSPOT_DEFINED",
  association_type_id: 279,
  association_label: null
}

describe("AssociationRow", () => {
  it("columns are DESIGN.md's, in order", () => {
    assert.deepStrictEqual(AssociationRow.columns.map((c) => c.name), [
      "from_object_type",
      "from_object_id",
      "to_object_type",
      "to_object_id",
      "association_category",
      "association_type_id",
      "association_label"
    ])
    assert.deepStrictEqual(Object.keys(AssociationRow.AssociationRow.fields), AssociationRow.columns.map((c) => c.name))
  })

  it("only the label is nullable, and the type id is the one int32 column", () => {
    assert.deepStrictEqual(AssociationRow.columns.filter((c) => c.nullable).map((c) => c.name), ["association_label"])
    assert.deepStrictEqual(AssociationRow.columns.filter((c) => c.type === "int32").map((c) => c.name), [
      "association_type_id"
    ])
  })

  it("the schema keeps a null label null and refuses a type id outside int32", () => {
    assert.deepStrictEqual(decodeRow(row), Either.right(row))
    const labelled = { ...row, association_label: "null" }
    assert.deepStrictEqual(decodeRow(labelled), Either.right(labelled))
    for (const typeId of [2 ** 31, -(2 ** 31) - 1, 1.5]) {
      assert.isTrue(Either.isLeft(decodeRow({ ...row, association_type_id: typeId })), String(typeId))
    }
    assert.isTrue(Either.isRight(decodeRow({ ...row, association_type_id: -(2 ** 31) })))
    assert.isTrue(Either.isRight(decodeRow({ ...row, association_type_id: 2 ** 31 - 1 })))
  })
})
