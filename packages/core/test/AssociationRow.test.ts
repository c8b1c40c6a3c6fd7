import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { Api } from "../src/index.js"
import { AssociationRow, ObjectId, ObjectType } from "../src/index.js"

const pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }

const idArb = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String), fc.stringMatching(/^[0-9]{1,20}$/)).map(
  (s) => s as ObjectId.ObjectId
)
const typeArb = fc.record({
  category: fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"),
  typeId: fc.integer({ min: 1, max: 500 }),
  label: fc.option(fc.string({ unit: "grapheme" }), { nil: null })
})
const toArb = fc.record({ toObjectId: idArb, associationTypes: fc.array(typeArb, { maxLength: 3 }) })
const resultArb = fc.record({ from: fc.record({ id: idArb }), to: fc.array(toArb, { maxLength: 6 }) })
// Few ids and types, many types a to-object: repeated to-objects and repeated types within one (both paths of
// flatten's dedupe, the second past 16 types).
const crowdedTypeArb = fc.record({
  category: fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"),
  typeId: fc.integer({ min: 1, max: 3 }),
  label: fc.constantFrom(null, "a", "b")
})
const crowdedIdArb = fc.constantFrom("1", "2", "3") as fc.Arbitrary<ObjectId.ObjectId>
const crowdedResultArb = fc.record({
  from: fc.record({ id: crowdedIdArb }),
  to: fc.array(fc.record({ toObjectId: crowdedIdArb, associationTypes: fc.array(crowdedTypeArb, { maxLength: 20 }) }), {
    maxLength: 4
  })
})
const responseArb = fc.record({
  results: fc.oneof(fc.array(resultArb, { maxLength: 6 }), fc.array(crowdedResultArb, { maxLength: 4 }))
}) satisfies fc.Arbitrary<Pick<Api.BatchReadResponse, "results">>

const key = (r: AssociationRow.AssociationRow) =>
  JSON.stringify([r.from_object_id, r.to_object_id, r.association_category, r.association_type_id])

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

  it("flattens DESIGN.md's answer to one row per association type", () => {
    const rows = AssociationRow.flatten(pair, {
      results: [{
        from: { id: ObjectId.unsafeMake("123") },
        to: [{
          toObjectId: ObjectId.unsafeMake("9001"),
          associationTypes: [
            { category: "HUBSPOT_DEFINED", typeId: 1, label: "Primary" },
            { category: "HUBSPOT_DEFINED", typeId: 279, label: null }
          ]
        }]
      }]
    })
    assert.deepStrictEqual(rows, [
      {
        from_object_type: "contacts",
        from_object_id: "123",
        to_object_type: "companies",
        to_object_id: "9001",
        association_category: "HUBSPOT_DEFINED",
        association_type_id: 1,
        association_label: "Primary"
      },
      {
        from_object_type: "contacts",
        from_object_id: "123",
        to_object_type: "companies",
        to_object_id: "9001",
        association_category: "HUBSPOT_DEFINED",
        association_type_id: 279,
        association_label: null
      }
    ])
  })

  it.prop("never yields a row twice", [responseArb], ([response]) => {
    const rows = AssociationRow.flatten(pair, response)
    assert.strictEqual(new Set(rows.map(key)).size, rows.length)
  })

  it.prop("every distinct association type of every first-met from id becomes exactly one row", [responseArb], ([response]) => {
    const expected = new Set<string>()
    const seenFrom = new Set<string>()
    for (const r of response.results) {
      if (seenFrom.has(r.from.id)) continue
      seenFrom.add(r.from.id)
      for (const to of r.to) {
        for (const t of to.associationTypes) {
          expected.add(JSON.stringify([r.from.id, to.toObjectId, t.category, t.typeId]))
        }
      }
    }
    const rows = AssociationRow.flatten(pair, response)
    assert.deepStrictEqual(new Set(rows.map(key)), expected)
    assert.strictEqual(rows.length, expected.size)
  })

  it.prop("each row keeps the label of its type's first mention; null labels stay null", [responseArb], ([response]) => {
    const labels = new Map<string, string | null>()
    for (const r of response.results) {
      for (const to of r.to) {
        for (const t of to.associationTypes) {
          const k = JSON.stringify([r.from.id, to.toObjectId, t.category, t.typeId])
          if (!labels.has(k)) labels.set(k, t.label)
        }
      }
    }
    for (const row of AssociationRow.flatten(pair, response)) {
      assert.strictEqual(row.association_label, labels.get(key(row)))
    }
  })

  it.prop("an id with no associations yields no rows", [fc.array(idArb, { maxLength: 10 })], ([ids]) => {
    const rows = AssociationRow.flatten(pair, { results: ids.map((id) => ({ from: { id }, to: [] })) })
    assert.strictEqual(rows.length, 0)
  })

  it.prop("rows come in input order, then page order", [responseArb, fc.integer()], ([response, seed]) => {
    const ids = [...new Set(response.results.map((r) => r.from.id))]
    const order = fc.sample(fc.shuffledSubarray(ids, { minLength: ids.length }), { seed, numRuns: 1 })[0] ?? []
    const rows = AssociationRow.flatten(pair, response, order)
    const fromSequence = rows.map((r) => r.from_object_id).filter((id, i, all) => i === 0 || all[i - 1] !== id)
    const expected = order.filter((id) => fromSequence.includes(id))
    assert.deepStrictEqual(fromSequence, expected)
  })
})

const rowArbExample: AssociationRow.AssociationRow = {
  from_object_type: "contacts",
  from_object_id: "1",
  to_object_type: "companies",
  to_object_id: "2",
  association_category: "USER_DEFINED",
  association_type_id: 1,
  association_label: null
}

describe("AssociationRow NDJSON", () => {
  const rowArb = fc.record({
    from_object_type: fc.constantFrom("contacts", "0-1", "2-12345"),
    // Ids of digits take a short cut in encodeNdjson; any other text must still be escaped.
    from_object_id: fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.string({ unit: "grapheme" })),
    to_object_type: fc.constantFrom("companies", "deals"),
    to_object_id: fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.string({ unit: "grapheme" })),
    association_category: fc.oneof(fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"), fc.string({ unit: "grapheme" })),
    association_type_id: fc.integer({ min: -2147483648, max: 2147483647 }),
    association_label: fc.option(fc.string({ unit: "grapheme" }), { nil: null })
  })

  it.prop("encodeNdjson round-trips through JSON.parse, columns in order", [fc.array(rowArb, { maxLength: 20 })], ([rows]) => {
    const text = AssociationRow.encodeNdjson(rows)
    const lines = text.split("\n")
    assert.strictEqual(lines.pop(), "")
    assert.strictEqual(lines.length, rows.length)
    lines.forEach((line, i) => {
      const parsed = JSON.parse(line)
      assert.deepStrictEqual(parsed, rows[i])
      assert.deepStrictEqual(Object.keys(parsed), AssociationRow.columns.map((c) => c.name))
    })
    assert.deepStrictEqual(AssociationRow.decodeNdjson(text), rows)
  })

  it.prop("encodeNdjsonBytes is the UTF-8 of encodeNdjson, long labels and all", [
    fc.array(rowArb, { maxLength: 20 }),
    fc.array(fc.string({ unit: "grapheme", minLength: 200, maxLength: 900 }), { maxLength: 3 })
  ], ([rows, labels]) => {
    // Labels longer than the 256 bytes a row the buffer starts with make it grow.
    const all = [...rows, ...labels.map((label, i) => ({ ...rows[0] ?? rowArbExample, association_label: label, association_type_id: i }))]
    assert.deepStrictEqual(AssociationRow.encodeNdjsonBytes(all), new TextEncoder().encode(AssociationRow.encodeNdjson(all)))
  })

  it.prop("ndjsonEncoder gives each chunk's bytes in the buffer it reuses", [
    fc.array(fc.array(rowArb, { maxLength: 30 }), { maxLength: 6 })
  ], ([chunks]) => {
    const encode = AssociationRow.ndjsonEncoder()
    for (const rows of chunks) {
      // Copied before the next call, as a journal writer writes them.
      assert.deepStrictEqual(encode(rows).slice(), AssociationRow.encodeNdjsonBytes(rows))
    }
  })

  it.prop("encodeNdjsonBytes keeps apart rows that share a type id but not its category or label", [
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
    assert.deepStrictEqual(AssociationRow.encodeNdjsonBytes(rows), new TextEncoder().encode(AssociationRow.encodeNdjson(rows)))
  })
})
