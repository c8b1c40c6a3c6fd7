import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import { ErrorRow, ObjectType } from "../src/index.js"

const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }

const errorArb: fc.Arbitrary<ErrorRow.ErrorRow> = fc.record({
  from_object_type: fc.constantFrom("contacts", "2-12345"),
  to_object_type: fc.constantFrom("companies", "deals"),
  object_id: fc.option(fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.string({ unit: "grapheme" })), { nil: null }),
  category: fc.constantFrom("OBJECT_NOT_FOUND", "INVALID_INPUT", "VALIDATION_ERROR"),
  sub_category: fc.option(fc.string({ unit: "grapheme" }), { nil: null }),
  message: fc.string({ unit: "grapheme" })
})

describe("ErrorRow", () => {
  it("an input refused before it was sent is an INVALID_INPUT row of the pair", () => {
    const row = ErrorRow.invalidInput(pair, "12x", "line 3: \"12x\" is not an object id")
    assert.deepStrictEqual(row, {
      from_object_type: "contacts",
      to_object_type: "companies",
      object_id: "12x",
      category: "INVALID_INPUT",
      sub_category: null,
      message: "line 3: \"12x\" is not an object id"
    })
    assert.isNull(ErrorRow.invalidInput(pair, null, "bad").object_id)
  })

  it.prop("encodeNdjson writes a line a row, fields in the schema's order, that reads back", [
    fc.array(errorArb, { maxLength: 20 })
  ], ([errors]) => {
    const text = ErrorRow.encodeNdjson(errors)
    const lines = text.split("\n")
    assert.strictEqual(lines.pop(), "")
    assert.strictEqual(lines.length, errors.length)
    lines.forEach((line, i) => {
      const parsed = JSON.parse(line)
      assert.deepStrictEqual(Object.keys(parsed), Object.keys(ErrorRow.ErrorRow.fields))
      assert.deepStrictEqual(Schema.decodeUnknownSync(ErrorRow.ErrorRow)(parsed), errors[i])
    })
  })

  it("encodeNdjson writes the fields in the schema's order whatever the object's order, and nothing else", () => {
    const shuffled = {
      message: "m",
      extra: "not a field",
      category: "OBJECT_NOT_FOUND",
      object_id: "1",
      sub_category: null,
      to_object_type: "companies",
      from_object_type: "contacts"
    } as ErrorRow.ErrorRow
    assert.strictEqual(
      ErrorRow.encodeNdjson([shuffled]),
      "{\"from_object_type\":\"contacts\",\"to_object_type\":\"companies\",\"object_id\":\"1\","
        + "\"category\":\"OBJECT_NOT_FOUND\",\"sub_category\":null,\"message\":\"m\"}\n"
    )
    assert.strictEqual(ErrorRow.encodeNdjson([]), "")
  })
})
