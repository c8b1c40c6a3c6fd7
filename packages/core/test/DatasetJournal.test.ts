import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { AssociationRow, NdjsonRows, RowBatch } from "../src/index.js"
import * as Journal from "../src/internal/dataset/journal.js"

type Row = AssociationRow.AssociationRow

const utf8 = new TextEncoder()
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

const anyText = fc.string({ unit: "grapheme" })
/** Text a JSON string escapes: quotes, backslashes, control characters, and what is not ASCII. */
const awkward = fc.constantFrom("say \"hi\"", "back\\slash", "tab\tnew\nline", "\u0000\u001f", "中文 🚀", "\u2028")

const rowArb: fc.Arbitrary<Row> = fc.record({
  from_object_type: fc.oneof(fc.constantFrom("contacts", "0-1", "2-12345"), awkward),
  from_object_id: fc.oneof(fc.constantFrom("1", "22", "18446744073709551615"), anyText, awkward),
  to_object_type: fc.oneof(fc.constantFrom("companies", "deals"), awkward),
  to_object_id: fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), anyText, awkward),
  association_category: fc.oneof(fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"), anyText),
  association_type_id: fc.oneof(
    fc.integer({ min: 1, max: 4 }),
    fc.constantFrom(0, -1, 2147483647, -2147483648),
    fc.integer({ min: -2147483648, max: 2147483647 })
  ),
  association_label: fc.oneof(fc.constantFrom(null, "Primary", "null", ""), fc.option(anyText, { nil: null }), awkward)
})

/** Rows as an export writes them: runs of one from object, a few association types. */
const toArb = fc.tuple(fc.stringMatching(/^[0-9]{1,12}$/), fc.integer({ min: 0, max: 2 }))
const runsArb: fc.Arbitrary<Array<Row>> = fc.array(
  fc.tuple(rowArb, fc.array(toArb, { maxLength: 6 }))
    // A run: one from object's rows, to several objects, of its type or of one or two others.
    .map(([row, tos]) =>
      tos.map(([to, kind]) => ({
        ...row,
        to_object_id: to,
        association_type_id: kind === 0 ? row.association_type_id : kind,
        association_label: kind === 2 ? null : row.association_label
      }))
    ),
  { maxLength: 8 }
).map((runs) => runs.flat())

const rowsArb = fc.oneof(fc.array(rowArb, { maxLength: 20 }), runsArb)

const decodeAll = (bytes: Uint8Array) => Journal.decode(bytes, 0, bytes.length)

describe("Dataset journal", () => {
  it.prop("reads back the rows NdjsonRows wrote, in order, and writes back the same bytes", [rowsArb], ([rows]) => {
    const bytes = NdjsonRows.encodeRows(rows)
    const batch = decodeAll(bytes)
    assert.deepStrictEqual(batch.toArray(), rows)
    assert.strictEqual(batch.length, rows.length)
    assert.deepStrictEqual(NdjsonRows.encode(batch), bytes)
  })

  it.prop("makes one group a run of one from object, as fromRows does", [runsArb], ([rows]) => {
    const batch = decodeAll(NdjsonRows.encodeRows(rows))
    const reference = RowBatch.fromRows(rows)
    assert.deepStrictEqual(batch.groups, reference.groups)
    assert.strictEqual(batch.digitIds, reference.digitIds)
    assert.deepStrictEqual(batch.types, reference.types)
  })

  it.prop("reads lines of any other shape as NdjsonRows.decode does", [
    fc.array(fc.tuple(rowArb, fc.integer({ min: 0, max: 3 })), { maxLength: 12 })
  ], ([rows]) => {
    // Keys in another order, spaces, escapes where none are needed: a line read in full, then the next by its shape.
    const lines = rows.map(([row, shape]) => {
      const columns = AssociationRow.columns.map((c) => c.name)
      switch (shape) {
        case 0:
          return JSON.stringify(Object.fromEntries(columns.reverse().map((c) => [c, row[c]])))
        case 1:
          return JSON.stringify(row, null, 1).replaceAll("\n", "")
        case 2:
          return JSON.stringify(row).replace(/"association_type_id":(-?\d+)/, "\"association_type_id\":$1.0")
        default:
          return text(NdjsonRows.encodeRows([row])).trimEnd()
      }
    })
    const source = lines.join("\n") + "\n\n"
    assert.deepStrictEqual(decodeAll(utf8.encode(source)).toArray(), NdjsonRows.decode(source))
    assert.deepStrictEqual(decodeAll(utf8.encode(source)).toArray(), rows.map(([row]) => row))
  })

  it("reads the lines of a range only, the last one without its newline", () => {
    const rows = Array.from({ length: 5 }, (_, n): Row => ({
      from_object_type: "contacts",
      from_object_id: String(1 + (n >> 1)),
      to_object_type: "companies",
      to_object_id: String(100 + n),
      association_category: "HUBSPOT_DEFINED",
      association_type_id: 1,
      association_label: null
    }))
    const bytes = NdjsonRows.encodeRows(rows)
    const lineEnds = [...bytes.entries()].filter(([, b]) => b === 0x0a).map(([i]) => i)
    assert.deepStrictEqual(Journal.decode(bytes, 0, lineEnds[2]! + 1).toArray(), rows.slice(0, 3))
    assert.deepStrictEqual(Journal.decode(bytes, lineEnds[0]! + 1, lineEnds[2]!).toArray(), rows.slice(1, 3))
    // A range that ends inside a line: that line is cut, not a row, though the bytes after the range complete it.
    assert.throws(() => Journal.decode(bytes, 0, lineEnds[3]! - 4))
  })

  it("throws on a line that is not a row", () => {
    const good = text(NdjsonRows.encodeRows([{
      from_object_type: "contacts",
      from_object_id: "1",
      to_object_type: "companies",
      to_object_id: "2",
      association_category: "HUBSPOT_DEFINED",
      association_type_id: 1,
      association_label: null
    }]))
    for (
      const bad of [
        "{\"torn",
        good.replace("\"association_type_id\":1", "\"association_type_id\":2147483648"),
        good.replace("\"association_type_id\":1", "\"association_type_id\":1.5"),
        good.replace("\"to_object_id\":\"2\"", "\"to_object_id\":2"),
        good.replace(",\"association_label\":null", ""),
        good.replace("\"1\"", "\"\u0001\""),
        good.trimEnd() + "x"
      ]
    ) {
      const source = good + bad + "\n" + good
      assert.throws(() => decodeAll(utf8.encode(source)), undefined, undefined, bad)
      assert.throws(() => NdjsonRows.decode(source), undefined, undefined, bad)
    }
  })
})
