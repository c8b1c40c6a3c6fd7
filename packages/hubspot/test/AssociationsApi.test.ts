import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Schema } from "effect"
import { AssociationsApi } from "../src/index.js"

const decodeResponse = Schema.decodeUnknownEither(AssociationsApi.BatchReadResponse)

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

describe("AssociationsApi", () => {
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
    const parsed = JSON.parse(AssociationsApi.quoteBareIds(text))
    const decoded = Schema.decodeUnknownSync(AssociationsApi.BatchReadResponse)(parsed)
    assert.strictEqual(decoded.results[0]?.to[0]?.toObjectId, "18446744073709551615")
    assert.strictEqual(decoded.results[0]?.to[0]?.associationTypes[0]?.label, "say \"toObjectId\":5")
    assert.strictEqual(decoded.results[0]?.to[0]?.associationTypes[0]?.typeId, 1)
    // Pretty-printed, with whitespace about the colon (as JSON allows), and the same label escaped so.
    const pretty = `{ "results" : [ { "from" : { "id" : 9007199254740993 }, "to" : [ { "toObjectId"\n:\t18446744073709551615,`
      + ` "associationTypes" : [ { "category" : "WORK", "typeId" : 1, "label" : "say \\"id\\" : 5" } ] } ] } ] }`
    const decode = Schema.decodeUnknownSync(AssociationsApi.BatchReadResponse)
    const again = decode(JSON.parse(AssociationsApi.quoteBareIds(pretty)))
    assert.strictEqual(again.results[0]?.from.id, "9007199254740993")
    assert.strictEqual(again.results[0]?.to[0]?.toObjectId, "18446744073709551615")
    assert.strictEqual(again.results[0]?.to[0]?.associationTypes[0]?.label, "say \"id\" : 5")
  })

  it("missingScopes names the scopes of a 403", () => {
    const body = Schema.decodeUnknownSync(AssociationsApi.ErrorBody)({
      status: "error",
      message: "This app hasn't been granted all required scopes to make this call.",
      correlationId: "c",
      errors: [{ message: "One or more of the following scopes are required.", context: { requiredGranularScopes: ["crm.objects.contacts.read", "crm.objects.companies.read"] } }],
      category: "MISSING_SCOPES"
    })
    assert.deepStrictEqual(AssociationsApi.missingScopes(body), ["crm.objects.contacts.read", "crm.objects.companies.read"])
  })

  describe("decodeBatchReadResponse", () => {
    const decode = (u: unknown) => Effect.runSync(Effect.either(AssociationsApi.decodeBatchReadResponse(u)))

    it("refuses a bare-number id past 2^53, as JSON.parse has lost its digits", () => {
      assert.isTrue(Either.isLeft(decode({ status: "COMPLETE", results: [{ from: { id: 2 ** 60 }, to: [] }] })))
      assert.isTrue(Either.isRight(decode({ status: "COMPLETE", results: [{ from: { id: 2 ** 53 - 1 }, to: [] }] })))
    })
  })

  describe("utf8Text", () => {
    const utf8 = new TextEncoder()
    const bom = [0xef, 0xbb, 0xbf]
    const bytesOf = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Uint8Array =>
      new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...utf8.encode(p)] : p)))

    it("drops a BOM at the start only, and reads bad bytes as U+FFFD", () => {
      assert.strictEqual(AssociationsApi.utf8Text(bytesOf(bom, "{\"a\":\"é\"}")), "{\"a\":\"é\"}")
      assert.strictEqual(AssociationsApi.utf8Text(bytesOf(bom, bom, "{}")), "\ufeff{}")
      assert.strictEqual(AssociationsApi.utf8Text(bytesOf("[\"", bom, "\"]")), "[\"\ufeff\"]")
      assert.strictEqual(AssociationsApi.utf8Text(bytesOf(bom)), "")
      assert.strictEqual(AssociationsApi.utf8Text(bytesOf([0xef, 0xbb])), "\ufffd")
      assert.strictEqual(AssociationsApi.utf8Text(bytesOf("[\"caf", [0xff], "\"]")), "[\"caf\ufffd\"]")
      const text = "Café ☕ – 日本語 👍"
      assert.strictEqual(AssociationsApi.utf8Text(bytesOf(text)), text)
    })

    it("reads a view into a larger buffer from its own offset", () => {
      const buffer = bytesOf("xx", bom, "{\"id\":1}", "yy")
      assert.strictEqual(AssociationsApi.utf8Text(buffer.subarray(2, buffer.length - 2)), "{\"id\":1}")
    })

    it.prop(
      "is what TextDecoder gives, less a leading BOM",
      [fc.boolean(), fc.uint8Array({ maxLength: 64 }), fc.string({ unit: "binary", maxLength: 16 }), fc.nat(7)],
      ([withBom, noise, text, offset]) => {
        const body = bytesOf(withBom ? bom : [], text, [...noise])
        const buffer = new Uint8Array(offset + body.length + 3).fill(0xe9)
        buffer.set(body, offset)
        const bytes = buffer.subarray(offset, offset + body.length)
        // TextDecoder drops a leading BOM by default, as undici does.
        assert.strictEqual(AssociationsApi.utf8Text(bytes), new TextDecoder().decode(bytes))
        const kept = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)
        assert.strictEqual(AssociationsApi.utf8Text(bytes), withBom ? kept.slice(1) : kept.replace(/^\ufeff/, ""))
      },
      { fastCheck: { numRuns: 2000 } }
    )
  })
})
