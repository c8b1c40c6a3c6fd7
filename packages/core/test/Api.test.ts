import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Schema } from "effect"
import { Api } from "../src/index.js"
import * as BatchReadResults from "../src/internal/batchReadResults.js"

const decodeResponse = Schema.decodeUnknownEither(Api.BatchReadResponse)

const answer = {
  status: "COMPLETE",
  startedAt: "2026-11-29T00:00:00.000Z",
  completedAt: "2026-11-29T00:00:00.100Z",
  requestedAt: "2026-11-29T00:00:00.000Z",
  results: [
    {
      from: { id: "123" },
      to: [
        {
          toObjectId: "9001",
          associationTypes: [
            { category: "HUBSPOT_DEFINED", typeId: 1, label: "Primary" },
            { category: "HUBSPOT_DEFINED", typeId: 279, label: null }
          ]
        }
      ],
      paging: { next: { after: "MTIz%3D", link: "https://api.hubapi.com/x" } }
    }
  ],
  numErrors: 1,
  errors: [
    {
      status: "error",
      category: "OBJECT_NOT_FOUND",
      message: "Could not find object 456",
      context: { fromObjectId: ["456"] },
      subCategory: "crm.associations.FROM_OBJECT_NOT_FOUND"
    }
  ],
  links: { self: "https://api.hubapi.com/x" }
}

describe("Api", () => {
  it("decodes DESIGN.md's batch-read answer", () => {
    const result = decodeResponse(answer)
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) {
      const r = result.right
      assert.strictEqual(r.results[0]?.paging?.next?.after, "MTIz%3D")
      assert.strictEqual(r.results[0]?.to[0]?.associationTypes[1]?.label, null)
      assert.strictEqual(r.errors?.[0]?.category, "OBJECT_NOT_FOUND")
    }
  })

  it("tolerates fields HubSpot adds later", () => {
    const later = {
      ...answer,
      newTopLevel: { x: 1 },
      results: answer.results.map((r) => ({ ...r, extra: true, to: r.to.map((t) => ({ ...t, sortKey: 5 })) }))
    }
    assert.isTrue(Either.isRight(decodeResponse(later)))
  })

  it("reads a missing label as null and a numeric toObjectId as its digits", () => {
    const result = decodeResponse({
      status: "COMPLETE",
      results: [{ from: { id: "1" }, to: [{ toObjectId: 42, associationTypes: [{ category: "USER_DEFINED", typeId: 7 }] }] }]
    })
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) {
      assert.strictEqual(result.right.results[0]?.to[0]?.toObjectId, "42")
      assert.strictEqual(result.right.results[0]?.to[0]?.associationTypes[0]?.label, null)
    }
  })

  it("is strict on the fields it uses", () => {
    const bad = [
      { status: "COMPLETE" },
      { status: "COMPLETE", results: [{ from: { id: "abc" }, to: [] }] },
      { status: "COMPLETE", results: [{ from: { id: "1" }, to: [{ toObjectId: "2", associationTypes: [{ category: "X", typeId: 1.5 }] }] }] },
      { status: "COMPLETE", results: [{ from: { id: "1" }, to: [{ toObjectId: 2 ** 60, associationTypes: [] }] }] },
      { status: "COMPLETE", results: [{ from: { id: "1" }, to: [{ toObjectId: "2" }] }] }
    ]
    for (const b of bad) assert.isTrue(Either.isLeft(decodeResponse(b)), JSON.stringify(b))
  })

  it("quoteBareIds keeps every digit of ids past 2^53", () => {
    const text = `{"results":[{"from":{"id":"1"},"to":[{"toObjectId":18446744073709551615,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":"say \\"toObjectId\\":5"}]}]}],"status":"COMPLETE"}`
    const parsed = JSON.parse(Api.quoteBareIds(text))
    const decoded = Schema.decodeUnknownSync(Api.BatchReadResponse)(parsed)
    assert.strictEqual(decoded.results[0]?.to[0]?.toObjectId, "18446744073709551615")
    assert.strictEqual(decoded.results[0]?.to[0]?.associationTypes[0]?.label, "say \"toObjectId\":5")
    assert.strictEqual(decoded.results[0]?.to[0]?.associationTypes[0]?.typeId, 1)
  })

  it("missingScopes names the scopes of a 403", () => {
    const body = Schema.decodeUnknownSync(Api.ErrorBody)({
      status: "error",
      message: "This app hasn't been granted all required scopes to make this call.",
      correlationId: "c",
      errors: [{ message: "One or more of the following scopes are required.", context: { requiredGranularScopes: ["crm.objects.contacts.read", "crm.objects.companies.read"] } }],
      category: "MISSING_SCOPES"
    })
    assert.deepStrictEqual(Api.missingScopes(body), ["crm.objects.contacts.read", "crm.objects.companies.read"])
  })

  describe("decodeBatchReadResponse", () => {
    // Wire values near the schema's edges: the common shape, and with `odd` now and then a field the schema
    // refuses or handles another way (bare number ids, absent labels, extra keys, null paging).
    const answers = (odd: boolean) => {
      const sometimes = <A, B>(usual: fc.Arbitrary<A>, other: fc.Arbitrary<B>): fc.Arbitrary<A | B> =>
        odd ? fc.oneof({ arbitrary: usual, weight: 12 }, { arbitrary: other, weight: 1 }) : usual
      const wireId = sometimes(
        fc.stringMatching(/^[0-9]{1,20}$/),
        fc.oneof(fc.nat(), fc.constant(-1), fc.constant("12a"), fc.constant(""), fc.constant(null))
      )
      const typeArb = fc.record({
        category: sometimes(fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED"), fc.constantFrom("", 7)),
        typeId: sometimes(fc.integer({ min: -2147483648, max: 2147483647 }), fc.constantFrom(1.5, 2 ** 31, "1")),
        label: sometimes(fc.option(fc.string(), { nil: null }), fc.constantFrom(undefined, 0, false))
      }, { requiredKeys: ["category", "typeId"] })
      const toArb = fc.record({
        toObjectId: wireId,
        associationTypes: sometimes(fc.array(typeArb, { maxLength: 3 }), fc.constant(null)),
        extra: fc.constant("ignored")
      }, { requiredKeys: ["toObjectId", "associationTypes"] })
      const pagingArb = sometimes(
        fc.record({ next: fc.record({ after: fc.string(), link: fc.webUrl() }, { requiredKeys: ["after"] }) }, {
          requiredKeys: []
        }),
        fc.constantFrom(null, { next: { after: 1 } }, { next: null })
      )
      const resultArb = fc.record({
        from: fc.record({ id: wireId }),
        to: sometimes(fc.array(toArb, { maxLength: 4 }), fc.constant({})),
        paging: pagingArb
      }, { requiredKeys: ["from", "to"] })
      return fc.record({
        status: sometimes(fc.constant("COMPLETE"), fc.constant(1)),
        results: fc.array(resultArb, { maxLength: 4 }),
        numErrors: fc.nat()
      }, { requiredKeys: ["status", "results"] })
    }
    const decodeFully = Schema.decodeUnknownEither(Api.BatchReadResponse)
    const decodeFast = (u: unknown) => Effect.runSync(Effect.either(Api.decodeBatchReadResponse(u)))

    it.prop("decodes to what the schema decodes, and fails where it fails", [answers(true)], ([answer]) => {
      const fully = decodeFully(answer)
      const fast = decodeFast(answer)
      if (Either.isRight(fully)) assert.deepStrictEqual(fast, fully)
      else assert.isTrue(Either.isLeft(fast) && fast.left.message === fully.left.message)
    }, { fastCheck: { numRuns: 2000 } })

    it.prop("takes the hand-written path for every answer of the common shape", [answers(false)], ([answer]) => {
      const fully = decodeFully(answer)
      assert.isTrue(Either.isRight(fully))
      if (Either.isRight(fully)) assert.deepStrictEqual(BatchReadResults.decode(answer.results), fully.right.results)
    })

    it("refuses a bare-number id past 2^53, as the schema does", () => {
      const answer = { status: "COMPLETE", results: [{ from: { id: 2 ** 60 }, to: [] }] }
      assert.isTrue(Either.isLeft(decodeFast(answer)))
    })
  })
})
