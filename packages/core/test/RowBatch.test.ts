import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { AssociationRow } from "../src/index.js"
import { NdjsonRows, RowBatch } from "../src/index.js"

type Row = AssociationRow.AssociationRow

const utf8 = new TextEncoder()

/** Each row's JSON, the columns in order, a line each: what the NDJSON of a batch must be. */
const ndjsonOf = (rows: ReadonlyArray<Row>): Uint8Array =>
  utf8.encode(rows.map((r) =>
    `${
      JSON.stringify({
        from_object_type: r.from_object_type,
        from_object_id: r.from_object_id,
        to_object_type: r.to_object_type,
        to_object_id: r.to_object_id,
        association_category: r.association_category,
        association_type_id: r.association_type_id,
        association_label: r.association_label
      })
    }\n`
  ).join(""))

const digitsArb = fc.stringMatching(/^[0-9]{1,20}$/)
const idArb = fc.oneof(
  digitsArb,
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", "x\"y", "Café ☕", "🚀👩‍💻")
)

/** Few from ids and types, so that rows of one from object come in runs and type ids repeat. */
const rowArb = (toId: fc.Arbitrary<string>): fc.Arbitrary<Row> =>
  fc.record({
    from_object_type: fc.constantFrom("contacts", "2-12345"),
    from_object_id: fc.oneof(fc.constantFrom("1", "2", "é"), idArb),
    to_object_type: fc.constantFrom("companies", "deals"),
    to_object_id: toId,
    // The same type id with another category or label is another type.
    association_category: fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"),
    association_type_id: fc.oneof(fc.constantFrom(1, 2), fc.integer({ min: -2147483648, max: 2147483647 })),
    association_label: fc.oneof(fc.constantFrom(null, "null", "", "Primary"), fc.string({ unit: "grapheme" }))
  })

const rowsArb = fc.oneof(
  fc.array(rowArb(digitsArb), { maxLength: 40 }),
  fc.array(rowArb(idArb), { maxLength: 40 })
)

const typeKey = (r: Row) => JSON.stringify([r.association_category, r.association_type_id, r.association_label])
const runs = (rows: ReadonlyArray<Row>) =>
  rows.filter((r, i) => {
    const p = rows[i - 1]
    return p === undefined || p.from_object_type !== r.from_object_type || p.from_object_id !== r.from_object_id
      || p.to_object_type !== r.to_object_type
  }).length

describe("RowBatch", () => {
  it.prop("fromRows keeps every row, in order: toArray, iteration and length", [rowsArb], ([rows]) => {
    const batch = RowBatch.fromRows(rows)
    assert.deepStrictEqual(batch.toArray(), rows)
    assert.deepStrictEqual([...batch], rows)
    assert.strictEqual(batch.length, rows.length)
    for (let r = 0; r < rows.length; r++) assert.strictEqual(batch.toId(r), rows[r]!.to_object_id)
  })

  it.prop("fromRows makes one group a run of one from object, and one type a category, type id and label", [
    rowsArb
  ], ([rows]) => {
    const batch = RowBatch.fromRows(rows)
    assert.strictEqual(batch.groups.length, runs(rows))
    assert.strictEqual(batch.types.length, new Set(rows.map(typeKey)).size)
    assert.strictEqual(batch.digitIds, rows.every((r) => /^[0-9]*$/.test(r.to_object_id)))
  })

  it.prop("a batch's NDJSON is its rows' NDJSON", [rowsArb], ([rows]) => {
    const batch = RowBatch.fromRows(rows)
    assert.deepStrictEqual(NdjsonRows.encode(batch), NdjsonRows.encodeRows(rows))
    assert.deepStrictEqual(NdjsonRows.encode(batch), ndjsonOf(rows))
  })

  it.prop("fromRows reads any iterable as the array of its rows", [rowsArb], ([rows]) => {
    const batch = RowBatch.fromRows(new Set(rows))
    assert.deepStrictEqual(batch.toArray(), [...new Set(rows)])
  })

  it("null labels stay null, and the label \"null\" stays a string", () => {
    const row: Row = {
      from_object_type: "contacts",
      from_object_id: "1",
      to_object_type: "companies",
      to_object_id: "2",
      association_category: "USER_DEFINED",
      association_type_id: 7,
      association_label: null
    }
    const batch = RowBatch.fromRows([row, { ...row, association_label: "null" }, { ...row, to_object_id: "3" }])
    assert.deepStrictEqual(batch.toArray().map((r) => r.association_label), [null, "null", null])
    assert.strictEqual(batch.types.length, 2)
    assert.strictEqual(batch.groups.length, 1)
  })

  it("the empty batch has no rows", () => {
    assert.strictEqual(RowBatch.empty.length, 0)
    assert.deepStrictEqual(RowBatch.empty.toArray(), [])
    assert.strictEqual(RowBatch.fromRows([]).length, 0)
    assert.strictEqual(NdjsonRows.encode(RowBatch.empty).length, 0)
  })

  it("latin1 reads bytes as one character each", () => {
    assert.strictEqual(RowBatch.latin1(utf8.encode("x18446744073709551615y"), 1, 21), "18446744073709551615")
    assert.strictEqual(RowBatch.latin1(new Uint8Array([0x31, 0xe9]), 0, 2), "1\u00e9")
  })

  /** Row `r` of a hand-built batch: where its to id is in the bytes, and its type. */
  const at = (entries: ReadonlyArray<readonly [start: number, end: number, type: number]>) =>
    Int32Array.from(entries.flat())

  const types: ReadonlyArray<AssociationRow.AssociationType> = [
    { category: "HUBSPOT_DEFINED", typeId: 1, label: "Primary" },
    { category: "USER_DEFINED", typeId: 1, label: null }
  ]

  const expected = (from: string, to: string, type: AssociationRow.AssociationType): Row => ({
    from_object_type: "contacts",
    from_object_id: from,
    to_object_type: "companies",
    to_object_id: to,
    association_category: type.category,
    association_type_id: type.typeId,
    association_label: type.label
  })

  it("a batch whose groups are out of order and apart in its rows yields them in group order", () => {
    // Rows 0-1 belong to the second group, rows 3-4 to the first; row 2 belongs to none.
    const bytes = utf8.encode("2021999910112")
    const rows = at([[0, 2, 0], [2, 4, 1], [4, 8, 0], [8, 10, 1], [10, 13, 0]])
    const groups: ReadonlyArray<RowBatch.Group> = [
      { fromType: "contacts", fromId: "1", toType: "companies", start: 3, end: 5 },
      { fromType: "contacts", fromId: "2", toType: "companies", start: 0, end: 2 }
    ]
    const batch = new RowBatch.RowBatch(bytes, groups, rows, types, true)
    const want = [
      expected("1", "10", types[1]!),
      expected("1", "112", types[0]!),
      expected("2", "20", types[0]!),
      expected("2", "21", types[1]!)
    ]
    assert.strictEqual(batch.length, 4)
    assert.deepStrictEqual(batch.toArray(), want)
    assert.deepStrictEqual([...batch], want)
    assert.deepStrictEqual(NdjsonRows.encode(batch), ndjsonOf(want))
    assert.deepStrictEqual(NdjsonRows.encoder()(batch).slice(), ndjsonOf(want))
  })

  it("a batch of UTF-8 to ids (not digits) reads them as text, in group order", () => {
    const bytes = utf8.encode("é\"x🚀a")
    const rows = at([[0, 2, 0], [2, 4, 1], [4, 8, 0], [8, 9, 1]])
    const groups: ReadonlyArray<RowBatch.Group> = [
      { fromType: "contacts", fromId: "7", toType: "companies", start: 2, end: 4 },
      { fromType: "contacts", fromId: "8", toType: "companies", start: 0, end: 2 }
    ]
    const batch = new RowBatch.RowBatch(bytes, groups, rows, types, false)
    const want = [
      expected("7", "🚀", types[0]!),
      expected("7", "a", types[1]!),
      expected("8", "é", types[0]!),
      expected("8", "\"x", types[1]!)
    ]
    assert.deepStrictEqual(batch.toArray(), want)
    assert.deepStrictEqual(NdjsonRows.encode(batch), ndjsonOf(want))
  })
})
