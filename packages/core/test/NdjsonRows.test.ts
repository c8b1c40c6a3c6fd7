import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { AssociationRow, NdjsonRows, RowBatch } from "../src/index.js"

type Row = AssociationRow.AssociationRow

const utf8 = new TextEncoder()
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** The reference: each row's JSON, the columns in order, a line each. */
const reference = (rows: ReadonlyArray<Row>): Uint8Array =>
  utf8.encode(
    rows.map((r) => `${JSON.stringify(Object.fromEntries(AssociationRow.columns.map((c) => [c.name, r[c.name]])))}\n`)
      .join("")
  )

const rowArb: fc.Arbitrary<Row> = fc.record({
  from_object_type: fc.constantFrom("contacts", "0-1", "2-12345"),
  // Ids of digits take a short cut in the encoder; any other text must still be escaped.
  from_object_id: fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.string({ unit: "grapheme" })),
  to_object_type: fc.constantFrom("companies", "deals"),
  to_object_id: fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.string({ unit: "grapheme" })),
  association_category: fc.oneof(fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"), fc.string({ unit: "grapheme" })),
  association_type_id: fc.integer({ min: -2147483648, max: 2147483647 }),
  association_label: fc.option(fc.string({ unit: "grapheme" }), { nil: null })
})

/** Rows whose to ids are all digits: the batch keeps them as bytes and the encoder copies them. */
const digitRowArb: fc.Arbitrary<Row> = fc.record({
  from_object_type: fc.constantFrom("contacts", "0-1"),
  from_object_id: fc.constantFrom("1", "22", "18446744073709551615"),
  to_object_type: fc.constantFrom("companies", "deals"),
  to_object_id: fc.stringMatching(/^[0-9]{1,20}$/),
  association_category: fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"),
  association_type_id: fc.integer({ min: 1, max: 4 }),
  association_label: fc.constantFrom(null, "Primary", "null")
})

const rowsArb = fc.oneof(fc.array(rowArb, { maxLength: 20 }), fc.array(digitRowArb, { maxLength: 40 }))

const example: Row = {
  from_object_type: "contacts",
  from_object_id: "1",
  to_object_type: "companies",
  to_object_id: "2",
  association_category: "USER_DEFINED",
  association_type_id: 1,
  association_label: null
}

describe("NdjsonRows", () => {
  it("writes DESIGN.md's line for a row", () => {
    assert.strictEqual(
      text(NdjsonRows.encodeRows([{ ...example, association_label: "Primary" }, example])),
      "{\"from_object_type\":\"contacts\",\"from_object_id\":\"1\",\"to_object_type\":\"companies\","
        + "\"to_object_id\":\"2\",\"association_category\":\"USER_DEFINED\",\"association_type_id\":1,"
        + "\"association_label\":\"Primary\"}\n"
        + "{\"from_object_type\":\"contacts\",\"from_object_id\":\"1\",\"to_object_type\":\"companies\","
        + "\"to_object_id\":\"2\",\"association_category\":\"USER_DEFINED\",\"association_type_id\":1,"
        + "\"association_label\":null}\n"
    )
    assert.strictEqual(NdjsonRows.encodeRows([]).length, 0)
  })

  it.prop("encodeRows round-trips through JSON.parse and decode, columns in order", [rowsArb], ([rows]) => {
    const ndjson = text(NdjsonRows.encodeRows(rows))
    const lines = ndjson.split("\n")
    assert.strictEqual(lines.pop(), "")
    assert.strictEqual(lines.length, rows.length)
    lines.forEach((line, i) => {
      const parsed = JSON.parse(line)
      assert.deepStrictEqual(parsed, rows[i])
      assert.deepStrictEqual(Object.keys(parsed), AssociationRow.columns.map((c) => c.name))
    })
    assert.deepStrictEqual(NdjsonRows.decode(ndjson), rows)
  })

  it.prop("encodeRows is the UTF-8 of each row's JSON text, long labels and all", [
    rowsArb,
    fc.array(fc.string({ unit: "grapheme", minLength: 200, maxLength: 900 }), { maxLength: 3 })
  ], ([rows, labels]) => {
    // Labels longer than the bytes a row the buffer starts with make it grow.
    const long = labels.map((label, i) => ({ ...rows[0] ?? example, association_label: label, association_type_id: i }))
    const all = [...rows, ...long]
    assert.deepStrictEqual(NdjsonRows.encodeRows(all), reference(all))
  })

  it.prop("encode of a batch is encodeRows of its rows", [rowsArb], ([rows]) => {
    const batch = RowBatch.fromRows(rows)
    assert.deepStrictEqual(NdjsonRows.encode(batch), NdjsonRows.encodeRows(rows))
    assert.deepStrictEqual(NdjsonRows.encode(batch), reference(rows))
  })

  it.prop("encoder gives each batch's bytes in the buffer it reuses", [
    fc.array(fc.oneof(fc.array(rowArb, { maxLength: 30 }), fc.array(digitRowArb, { maxLength: 60 })), { maxLength: 6 })
  ], ([chunks]) => {
    const encode = NdjsonRows.encoder()
    for (const rows of chunks) {
      // Copied before the next call, as a journal writer writes them.
      assert.deepStrictEqual(encode(RowBatch.fromRows(rows)).slice(), reference(rows))
    }
  })

  it("encoder's result is valid until the next call, which reuses its buffer", () => {
    const encode = NdjsonRows.encoder()
    const first = encode(RowBatch.fromRows([example]))
    assert.deepStrictEqual(first.slice(), reference([example]))
    const second = encode(RowBatch.fromRows([{ ...example, to_object_id: "3" }]))
    assert.strictEqual(second.buffer, first.buffer, "one buffer for both")
    assert.deepStrictEqual(first, second, "the first result now reads the second's bytes")
  })

  it.prop("keeps apart rows that share a type id but not its category or label", [
    fc.array(
      fc.record({
        from_object_type: fc.constantFrom("contacts", "2-1"),
        from_object_id: fc.constantFrom("1", "22", "x\"y"),
        to_object_type: fc.constantFrom("companies", "deals"),
        to_object_id: fc.constantFrom("3", "", "4 5"),
        association_category: fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"),
        association_type_id: fc.constantFrom(1, 2),
        association_label: fc.constantFrom(null, "", "null", "Café ☕")
      }),
      { maxLength: 40 }
    )
  ], ([rows]) => {
    assert.deepStrictEqual(NdjsonRows.encodeRows(rows), reference(rows))
  })

  it("decode skips blank lines and throws on a line that is not a row", () => {
    const line = text(NdjsonRows.encodeRows([example]))
    assert.deepStrictEqual(NdjsonRows.decode(`\n${line}\n${line}`), [example, example])
    assert.throws(() => NdjsonRows.decode(`${line}{"from_object_type":"contacts"}\n`))
    assert.throws(() => NdjsonRows.decode(`${line}{"torn":`))
  })
})
