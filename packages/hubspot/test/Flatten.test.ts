import { type AssociationRow, ObjectId, ObjectType } from "@assoc-etl/core"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { type AssociationsApi, BatchRead, BatchReadAnswer, Flatten } from "../src/index.js"

const pair: AssociationRow.Pair = {
  fromType: ObjectType.unsafeMake("contacts"),
  toType: ObjectType.unsafeMake("companies")
}

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
// the dedupe, the second past 16 types).
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
}) satisfies fc.Arbitrary<Pick<AssociationsApi.BatchReadResponse, "results">>

const key = (r: AssociationRow.AssociationRow) =>
  JSON.stringify([r.from_object_id, r.to_object_id, r.association_category, r.association_type_id])

describe("Flatten.rows", () => {
  it("flattens DESIGN.md's answer to one row per association type", () => {
    const rows = Flatten.rows(pair, {
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
    const rows = Flatten.rows(pair, response)
    assert.strictEqual(new Set(rows.map(key)).size, rows.length)
  })

  it.prop("each distinct association type of a first-met from id is one row", [responseArb], ([response]) => {
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
    const rows = Flatten.rows(pair, response)
    assert.deepStrictEqual(new Set(rows.map(key)), expected)
    assert.strictEqual(rows.length, expected.size)
  })

  it.prop("a row keeps the label of its type's first mention; null labels stay null", [responseArb], ([response]) => {
    const labels = new Map<string, string | null>()
    for (const r of response.results) {
      for (const to of r.to) {
        for (const t of to.associationTypes) {
          const k = JSON.stringify([r.from.id, to.toObjectId, t.category, t.typeId])
          if (!labels.has(k)) labels.set(k, t.label)
        }
      }
    }
    for (const row of Flatten.rows(pair, response)) {
      assert.strictEqual(row.association_label, labels.get(key(row)))
    }
  })

  it.prop("an id with no associations yields no rows", [fc.array(idArb, { maxLength: 10 })], ([ids]) => {
    const rows = Flatten.rows(pair, { results: ids.map((id) => ({ from: { id }, to: [] })) })
    assert.strictEqual(rows.length, 0)
  })

  it.prop("rows come in input order, then page order", [responseArb, fc.integer()], ([response, seed]) => {
    const ids = [...new Set(response.results.map((r) => r.from.id))]
    const order = fc.sample(fc.shuffledSubarray(ids, { minLength: ids.length }), { seed, numRuns: 1 })[0] ?? []
    const rows = Flatten.rows(pair, response, order)
    const fromSequence = rows.map((r) => r.from_object_id).filter((id, i, all) => i === 0 || all[i - 1] !== id)
    const expected = order.filter((id) => fromSequence.includes(id))
    assert.deepStrictEqual(fromSequence, expected)
    // Within one from id, page order: the rows are those of its first result, in the order they came.
    for (const id of ids) {
      const first = response.results.find((r) => r.from.id === id)!
      const pageOrder = first.to.flatMap((to) =>
        to.associationTypes.map((t) => JSON.stringify([id, to.toObjectId, t.category, t.typeId]))
      )
      const got = rows.filter((r) => r.from_object_id === id).map(key)
      assert.deepStrictEqual(got, pageOrder.filter((k, i) => pageOrder.indexOf(k) === i))
    }
  })

  it.prop("ids missing from the input order come last, in answer order", [responseArb], ([response]) => {
    const ids = [...new Set(response.results.map((r) => r.from.id))]
    const listed = ids.filter((_, i) => i % 2 === 1)
    const rows = Flatten.rows(pair, response, listed)
    const fromSequence = rows.map((r) => r.from_object_id).filter((id, i, all) => i === 0 || all[i - 1] !== id)
    const expected = [...listed, ...ids.filter((_, i) => i % 2 === 0)]
    assert.deepStrictEqual(fromSequence, expected.filter((id) => fromSequence.includes(id)))
  })
})

describe("Flatten.errorRows", () => {
  it("one row per id an error names, with category, sub-category and message", () => {
    const rows = Flatten.errorRows(pair, {
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
      assert.strictEqual(r.message, "Could not find 456, 789")
      assert.strictEqual(r.from_object_type, "contacts")
      assert.strictEqual(r.to_object_type, "companies")
    }
  })

  it("an error that names no id is kept with a null id", () => {
    const rows = Flatten.errorRows(pair, { category: "VALIDATION_ERROR", message: "bad" })
    assert.strictEqual(rows.length, 1)
    assert.isNull(rows[0]?.object_id)
    assert.isNull(rows[0]?.sub_category)
  })

  it("a sub-category that is not a string is kept as its JSON", () => {
    const rows = Flatten.errorRows(pair, { category: "X", message: "m", subCategory: { code: 7 } })
    assert.strictEqual(rows[0]?.sub_category, "{\"code\":7}")
  })

  it("an input with no associations, said as a 207 item, is zero rows and no refusal", () => {
    const noAssociations = {
      status: "error",
      category: "OBJECT_NOT_FOUND",
      message: "No associations found for 456",
      subCategory: Flatten.noAssociationsFound,
      context: { fromObjectId: ["456"] }
    }
    assert.deepStrictEqual(Flatten.errorRows(pair, noAssociations), [])
    // The stage's page of such an answer: 456 is done, with no row and no refusal; 789 is refused.
    const body = new TextEncoder().encode(JSON.stringify({
      status: "COMPLETE",
      results: [{ from: { id: "123" }, to: [{ toObjectId: "9", associationTypes: [{ category: "HUBSPOT_DEFINED", typeId: 1 }] }] }],
      numErrors: 2,
      errors: [noAssociations, { status: "error", category: "OBJECT_NOT_FOUND", message: "no 789", context: { fromObjectId: ["789"] } }]
    }))
    const items = ["123", "456", "789"].map((id, key) => ({ key, id: ObjectId.unsafeMake(id) }))
    const page = BatchRead.toPage(pair, items, BatchReadAnswer.fromBody(body)!)
    assert.strictEqual(page.rows.length, 1)
    assert.deepStrictEqual(page.errors.map((e) => e.object_id), ["789"])
    assert.deepStrictEqual(page.done.map((i) => i.id), ["123", "456", "789"])
  })

  it("idsOf names each id of the context once, in order", () => {
    assert.deepStrictEqual(
      Flatten.idsOf({ category: "X", message: "m", context: { fromObjectId: ["1", "2"], ids: ["2", "3"] } }),
      ["1", "2", "3"]
    )
    assert.deepStrictEqual(Flatten.idsOf({ category: "X", message: "m" }), [])
  })
})
