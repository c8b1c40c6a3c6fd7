import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Api } from "../src/index.js"

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
})
