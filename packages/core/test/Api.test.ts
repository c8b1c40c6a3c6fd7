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
        label: sometimes(fc.option(fc.string(), { nil: null }), fc.constantFrom(undefined, 0, false)),
        extra: fc.constant("ignored")
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

  describe("jsonText", () => {
    const utf8 = new TextEncoder()
    const bom = [0xef, 0xbb, 0xbf]
    const bytesOf = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Uint8Array =>
      new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...utf8.encode(p)] : p)))
    // The reference: what `response.text` gave (undici drops a leading BOM and reads bad bytes as U+FFFD).
    const decoded = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
    const outcome = (text: string): { readonly value: unknown } | "SyntaxError" => {
      try {
        return { value: JSON.parse(text) }
      } catch (e) {
        assert.instanceOf(e, SyntaxError)
        return "SyntaxError"
      }
    }
    // What the text is for a body that is UTF-8: each UTF-16 code unit past U+007F as its escape.
    const escaped = (text: string) =>
      text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    const isUtf8 = (bytes: Uint8Array) => {
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes)
        return true
      } catch {
        return false
      }
    }
    // The bytes as a view at `offset` into a larger buffer whose other bytes are not ASCII, as a body may be.
    const viewAt = (bytes: Uint8Array, offset: number): Uint8Array => {
      const buffer = new Uint8Array(offset + bytes.length + 5).fill(0xe9)
      buffer.set(bytes, offset)
      return buffer.subarray(offset, offset + bytes.length)
    }

    // Mostly ASCII, as our bodies are, so that most bodies are within `jsonText`'s room for escapes.
    const unit = fc.oneof(
      { arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }), weight: 8 },
      { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 1 },
      {
        arbitrary: fc.constantFrom("\\", "\"", "\u0000", "\u001f", "\u007f", "\u0080", "é", "\u2028", "\ufeff", "\uffff", "👍"),
        weight: 2
      },
      { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)), weight: 1 }
    )
    // `jsonText` escapes where the escaped text fits in half as much again as the body (past 6 characters short
    // of that, it may give either), and gives the decoded text where it does not.
    const expected = (bytes: Uint8Array, reference: string): ReadonlyArray<string> => {
      const room = bytes.length + (bytes.length >>> 1)
      const text = escaped(reference)
      return text.length + 6 <= room ? [text] : text.length > room ? [reference] : [text, reference]
    }
    const jsonValues = fc.jsonValue({ stringUnit: unit })

    it.prop(
      "JSON.parse of it gives what JSON.parse of the decoded body gives, for any JSON of any strings",
      [jsonValues, fc.boolean(), fc.constantFrom(undefined, 2), fc.nat(7)],
      ([value, withBom, indent, offset]) => {
        const bytes = viewAt(bytesOf(withBom ? bom : [], JSON.stringify(value, null, indent)), offset)
        const text = Api.jsonText(bytes)
        const reference = decoded(bytes)
        assert.include(expected(bytes, reference), text)
        assert.deepStrictEqual(JSON.parse(text), JSON.parse(decoded(bytes)))
        assert.deepStrictEqual(JSON.parse(Api.quoteBareIds(text)), JSON.parse(Api.quoteBareIds(decoded(bytes))))
      },
      { fastCheck: { numRuns: 2000 } }
    )

    // Bodies near JSON: a JSON text with snippets spliced in at random places, some of them not UTF-8,
    // some non-ASCII outside strings or right after a backslash.
    const snippets = fc.constantFrom<ReadonlyArray<number>>(
      [0x5c], [0x22], [0x20], [0x3a], [0x5c, 0x5c], [0x5c, 0x75, 0x31, 0x32], bom, [...utf8.encode("é")],
      [...utf8.encode("☕ – 日本語")], [...utf8.encode("👍")], [...utf8.encode("\u00a0")], [...utf8.encode("\u2028")],
      [0x80], [0xff], [0xc0, 0x80], [0xc3], [0xe2, 0x98], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
      [0xf0, 0x9f, 0x91]
    )
    const bodies = fc.tuple(
      fc.jsonValue({ stringUnit: unit }).map((v) => JSON.stringify(v)),
      fc.array(fc.tuple(fc.nat(), snippets), { maxLength: 4 }),
      fc.boolean(),
      fc.nat(7)
    ).map(([json, splices, withBom, offset]) => {
      const bytes: Array<number> = [...utf8.encode(json)]
      for (const [at, snippet] of splices) bytes.splice(at % (bytes.length + 1), 0, ...snippet)
      return viewAt(new Uint8Array(withBom ? [...bom, ...bytes] : bytes), offset)
    })

    it.prop(
      "is the decoded body (always where it is not UTF-8) or its escaped form, which JSON.parse reads alike",
      [fc.oneof(bodies, fc.uint8Array({ maxLength: 40 }))],
      ([bytes]) => {
        const text = Api.jsonText(bytes)
        const reference = decoded(bytes)
        assert.strictEqual(Api.utf8Text(bytes), reference)
        if (!isUtf8(bytes)) assert.strictEqual(text, reference)
        if (text !== reference) assert.include(expected(bytes, reference), text)
        assert.deepStrictEqual(outcome(text), outcome(reference))
        assert.deepStrictEqual(outcome(Api.quoteBareIds(text)), outcome(Api.quoteBareIds(reference)))
      },
      { fastCheck: { numRuns: 5000 } }
    )

    it("is the body itself where it is all ASCII, or not UTF-8", () => {
      const ascii = bytesOf("{\"id\":12,\"label\":\"caf\\u00e9\"}")
      assert.strictEqual(Api.jsonText(ascii), "{\"id\":12,\"label\":\"caf\\u00e9\"}")
      for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x98], [0xf4, 0x90, 0x80, 0x80]]) {
        const bytes = bytesOf("{\"label\":\"é", bad, "\"}")
        assert.strictEqual(Api.jsonText(bytes), decoded(bytes))
        assert.include(Api.jsonText(bytes), "\ufffd")
      }
    })

    it("writes non-ASCII characters as escapes, past U+FFFF as a surrogate pair", () => {
      const ids = "{\"from\":{\"id\":\"1\"},\"to\":[]},".repeat(3)
      const bytes = bytesOf(`[${ids}"Café ☕ – 日本語 👍","\u0080\uffff"]`)
      assert.strictEqual(
        Api.jsonText(bytes),
        `[${ids}"Caf\\u00e9 \\u2615 \\u2013 \\u65e5\\u672c\\u8a9e \\ud83d\\udc4d","\\u0080\\uffff"]`
      )
      assert.deepStrictEqual(JSON.parse(Api.jsonText(bytes)).slice(3), ["Café ☕ – 日本語 👍", "\u0080\uffff"])
    })

    it("is the decoded body where escapes would make it more than half as long again", () => {
      for (const body of ["[\"日本語\"]", "[\"👍👍\",1]", "{\"label\":\"Café ☕ – 日本語 👍\"}"]) {
        assert.strictEqual(Api.jsonText(bytesOf(body)), body)
      }
    })

    it("finds non-ASCII characters at every alignment of the body and of its bytes", () => {
      for (let offset = 0; offset < 8; offset++) {
        for (let p = 0; p < 10; p++) {
          for (let q = 0; q < 10; q++) {
            const pad = "z".repeat(40)
            for (const body of [`${"x".repeat(p)}é${"y".repeat(q)}👍${pad}`, `é${"y".repeat(q)}☕${pad}${"x".repeat(p)}é`]) {
              const bytes = viewAt(bytesOf(body), offset)
              assert.strictEqual(Api.jsonText(bytes), escaped(body), `${offset} ${body}`)
            }
          }
        }
      }
    })

    it("drops a leading BOM, as undici's text() does, and no other", () => {
      assert.strictEqual(Api.jsonText(bytesOf(bom, "{\"a\":1}")), "{\"a\":1}")
      assert.deepStrictEqual(JSON.parse(Api.jsonText(bytesOf(bom, "{\"a\":\"é\"}"))), { a: "é" })
      assert.strictEqual(Api.jsonText(bytesOf(bom)), "")
      assert.strictEqual(Api.jsonText(bytesOf([0xef, 0xbb])), decoded(bytesOf([0xef, 0xbb])))
      assert.throws(() => JSON.parse(Api.jsonText(bytesOf(bom, bom, "{}"))), SyntaxError)
      assert.deepStrictEqual(JSON.parse(Api.jsonText(bytesOf(bom, "[\"\ufeff\"]"))), ["\ufeff"])
    })

    it("keeps a non-ASCII character outside a string, or right after a backslash, a syntax error", () => {
      const invalid = [
        "{\"a\":1}é", "é{\"a\":1}", "{\"a\":é1}", "{é\"a\":1}", "[1,\u00a02]", "{\"a\":\u20281}", "\"a\"é\"b\"",
        "[\"\\é\"]", "[\"\\\\\\é\"]", "[\"\\u12é4\"]", "[\"\\uééé\"]", "[1\u00a0]"
      ]
      for (const body of invalid) {
        assert.throws(() => JSON.parse(decoded(bytesOf(body))), SyntaxError, undefined, body)
        assert.throws(() => JSON.parse(Api.jsonText(bytesOf(body))), SyntaxError, undefined, body)
      }
      assert.deepStrictEqual(JSON.parse(Api.jsonText(bytesOf("[\"\\\\é\"]"))), ["\\é"])
    })

    it("reads a long body with a few non-ASCII labels to the same value", () => {
      const value = {
        status: "COMPLETE",
        results: Array.from({ length: 2000 }, (_, i) => ({
          from: { id: String(i) },
          to: [{ toObjectId: 9000 + i, associationTypes: [{ typeId: i, label: i % 97 === 0 ? "Café ☕ – 日本語 👍" : "Primary" }] }]
        }))
      }
      for (const offset of [0, 1, 2, 3]) {
        const bytes = viewAt(bytesOf(JSON.stringify(value)), offset)
        assert.deepStrictEqual(JSON.parse(Api.quoteBareIds(Api.jsonText(bytes))), JSON.parse(Api.quoteBareIds(decoded(bytes))))
      }
    })
  })
})
