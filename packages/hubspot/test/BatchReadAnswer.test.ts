import { type AssociationRow, NdjsonRows, ObjectId, ObjectType } from "@assoc-etl/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc } from "effect"
import * as AnswerBody from "../src/internal/answerBody.js"
import * as Scan from "../src/internal/batchReadScan.js"
import { AssociationsApi, BatchReadAnswer } from "../src/index.js"

const pair: AssociationRow.Pair = { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") }
const utf8 = new TextEncoder()

/** The reference: the body parsed whole and decoded by the schema, as the client did before `fromBody`. */
const reference = (bytes: Uint8Array): BatchReadAnswer.BatchReadAnswer | "not JSON" | "refused" => {
  let json: unknown
  try {
    json = JSON.parse(AssociationsApi.quoteBareIds(AssociationsApi.utf8Text(bytes)))
  } catch {
    return "not JSON"
  }
  const decoded = Effect.runSync(Effect.either(AssociationsApi.decodeBatchReadResponse(json)))
  return Either.isLeft(decoded) ? "refused" : BatchReadAnswer.fromResponse(decoded.right)
}

/** `fromBody` declines, or reads what the reference reads: status, errors, results, rows and their NDJSON. */
const agrees = (bytes: Uint8Array, inputOrder?: ReadonlyArray<string>): boolean => {
  const fast = BatchReadAnswer.fromBody(bytes)
  if (fast === undefined) return false
  const ref = reference(bytes)
  assert.isObject(ref, `fromBody read a body the reference calls ${String(ref)}: ${new TextDecoder().decode(bytes)}`)
  if (typeof ref !== "object") return true
  assert.strictEqual(fast.status, ref.status)
  assert.deepStrictEqual(fast.errors, ref.errors)
  assert.deepStrictEqual(fast.results, ref.results)
  const order = inputOrder?.map(ObjectId.unsafeMake)
  const rows = fast.rows(pair, order)
  const refRows = ref.rows(pair, order)
  assert.strictEqual(rows.length, refRows.length)
  assert.deepStrictEqual(rows.toArray(), refRows.toArray())
  assert.deepStrictEqual(NdjsonRows.encode(rows), NdjsonRows.encode(refRows))
  return true
}

// ---------------------------------------------------------------------------
// Answers as values, and a serializer that writes them the many ways JSON allows
// ---------------------------------------------------------------------------

/** Ids from a small alphabet now and then, so that repeats (which the reference dedupes) happen. */
const idArb = fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.constantFrom("1", "2", "3"), fc.stringMatching(/^[0-9]{30,34}$/))
const labelArb = fc.oneof(
  fc.constant(null),
  fc.constantFrom("Primary", "Billing contact", "Décideur", "负责人", "emoji 🎉", "quote \" and \\ and \n"),
  fc.string({ unit: "binary", maxLength: 12 })
)
const typeArb = fc.record({
  category: fc.oneof(
    { arbitrary: fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED", "WORK"), weight: 40 },
    fc.constantFrom("", "X\u00e9", 7)
  ),
  typeId: fc.oneof(
    { arbitrary: fc.constantFrom(1, 279, 449, 1001), weight: 30 },
    fc.integer({ min: -2147483648, max: 2147483647 }),
    fc.constantFrom(1.5, 2 ** 31, "1", -0, 1e2)
  ),
  label: labelArb,
  extra: fc.constantFrom(1, "x", [1, { id: 2 }], { toObjectId: "5" })
}, { requiredKeys: ["category", "typeId"] })
const toArb = fc.record({
  toObjectId: fc.oneof({ arbitrary: idArb, weight: 40 }, fc.constantFrom(12, -1, "12a", "", null, 2 ** 60)),
  associationTypes: fc.oneof({ arbitrary: fc.array(typeArb, { maxLength: 3 }), weight: 40 }, fc.constant(null)),
  // The spec allows it, or not: a string, or anything, is left unread.
  toObjectTypeId: fc.oneof({ arbitrary: fc.constantFrom("0-2", "2-12345"), weight: 10 }, fc.constantFrom(2, null)),
  extra: fc.constant({ id: "7" })
}, { requiredKeys: ["toObjectId", "associationTypes"] })
const pagingArb = fc.oneof(
  { arbitrary: fc.record({ next: fc.record({ after: fc.string(), link: fc.webUrl(), more: fc.constant(true) }, { requiredKeys: ["after"] }) }, { requiredKeys: [] }), weight: 40 },
  fc.constantFrom(null, { next: { after: 1 } }, { next: null }, { next: { link: "x" } }, { next: { after: "a", link: null } })
)
const resultArb = fc.record({
  from: fc.record({ id: fc.oneof({ arbitrary: idArb, weight: 40 }, fc.constantFrom(7, "x", null)), name: fc.constant("n") }, { requiredKeys: ["id"] }),
  to: fc.oneof({ arbitrary: fc.array(toArb, { maxLength: 5 }), weight: 40 }, fc.constant({})),
  paging: pagingArb,
  fromObjectTypeId: fc.oneof({ arbitrary: fc.constantFrom("0-1", "2-12345"), weight: 10 }, fc.constantFrom(1, null))
}, { requiredKeys: ["from", "to"] })
const errorArb = fc.record({
  status: fc.constant("error"),
  category: fc.constant("OBJECT_NOT_FOUND"),
  message: fc.string(),
  context: fc.record({ fromObjectId: fc.array(fc.stringMatching(/^[0-9]{1,5}$/), { maxLength: 2 }) }),
  id: fc.oneof(fc.constant("a"), fc.nat())
}, { requiredKeys: ["category", "message"] })
const statusArb = fc.oneof(
  { arbitrary: fc.constant("COMPLETE"), weight: 30 },
  { arbitrary: fc.constantFrom("PENDING", "PROCESSING", "CANCELED"), weight: 10 },
  fc.constantFrom("complete", "FAILED", 1, null)
)
const answerArb = fc.record({
  status: statusArb,
  results: fc.array(resultArb, { maxLength: 5 }),
  numErrors: fc.nat(),
  errors: fc.array(errorArb, { maxLength: 2 }),
  startedAt: fc.constant("2026-11-29T00:00:00.000Z"),
  links: fc.constant({ self: "https://x" })
}, { requiredKeys: ["results"] })

// The common shape (distinct ids, distinct types, plain cursors, compact JSON) must take the byte path:
// the export's speed depends on it.
const commonArb = fc.record({
  status: fc.constantFrom("COMPLETE", "PENDING", "PROCESSING", "CANCELED"),
  results: fc.uniqueArray(
    fc.record({
      from: fc.record({ id: fc.stringMatching(/^[0-9]{1,20}$/) }),
      to: fc.uniqueArray(
        fc.record({
          toObjectId: fc.stringMatching(/^[0-9]{1,20}$/),
          toObjectTypeId: fc.constantFrom("0-2", "2-12345"),
          associationTypes: fc.uniqueArray(
            fc.record({
              category: fc.constantFrom("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED", "WORK"),
              typeId: fc.integer({ min: 1, max: 2000 }),
              label: fc.option(fc.string({ unit: "binary" }), { nil: null })
            }),
            { selector: (t) => `${t.category}/${t.typeId}`, maxLength: 4 }
          )
        }, { requiredKeys: ["toObjectId", "associationTypes"] }),
        { selector: (t) => t.toObjectId, maxLength: 6 }
      ),
      fromObjectTypeId: fc.constantFrom("0-1", "2-12345"),
      paging: fc.option(fc.record({ next: fc.record({ after: fc.stringMatching(/^[A-Za-z0-9%=_-]{1,40}$/), link: fc.webUrl() }) }), { nil: undefined })
    }, { requiredKeys: ["from", "to"] }),
    { selector: (r) => r.from.id, maxLength: 8 }
  ),
  startedAt: fc.constant("2026-11-29T00:00:00.000Z")
}, { requiredKeys: ["results"] })


interface Style {
  /** Whitespace to put between tokens, drawn in turn. */
  readonly ws: ReadonlyArray<string>
  /** Write digit ids under `id`/`toObjectId` as bare numbers. */
  readonly bareIds: boolean
  /** Write these characters of strings as `\u` escapes. */
  readonly escape: ReadonlyArray<string>
  /** Write the first key of every object twice, the first time with this value. */
  readonly duplicateFirst: unknown
  /** Reverse the keys of every object. */
  readonly reverse: boolean
}

const styleArb: fc.Arbitrary<Style> = fc.record({
  ws: fc.oneof({ arbitrary: fc.constant([""]), weight: 3 }, fc.array(fc.constantFrom("", " ", "\n", "\t", "\r\n", "  "), { minLength: 1, maxLength: 5 })),
  bareIds: fc.boolean(),
  escape: fc.oneof({ arbitrary: fc.constant([]), weight: 3 }, fc.subarray(["i", "d", "a", "1", "/", "é"])),
  duplicateFirst: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.constantFrom("x", "7", 1, null, [])),
  reverse: fc.boolean()
})

const serialize = (value: unknown, style: Style): string => {
  let turn = 0
  const ws = () => style.ws[turn++ % style.ws.length]!
  const str = (s: string) =>
    JSON.stringify(s).replace(/./gu, (c) =>
      style.escape.includes(c) && c !== "\"" && c !== "\\"
        ? [...c].map((_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`).join("")
        : c)
  const go = (v: unknown, key?: string): string => {
    if (typeof v === "string") {
      if (style.bareIds && (key === "id" || key === "toObjectId") && /^[0-9]+$/.test(v)) return v
      return str(v)
    }
    if (Array.isArray(v)) return `[${ws()}${v.map((e) => go(e)).join(`${ws()},${ws()}`)}${ws()}]`
    if (typeof v === "object" && v !== null) {
      let entries = Object.entries(v).filter(([, e]) => e !== undefined)
      if (style.reverse) entries = entries.reverse()
      if (style.duplicateFirst !== undefined && entries.length > 0) entries = [[entries[0]![0], style.duplicateFirst], ...entries]
      const member = ([k, e]: [string, unknown]) => `${str(k)}${ws()}:${ws()}${go(e, k)}`
      return `{${ws()}${entries.map(member).join(`${ws()},${ws()}`)}${ws()}}`
    }
    return JSON.stringify(v)
  }
  return `${ws()}${go(value)}${ws()}`
}

const fromIdsOf = (answer: { readonly results: ReadonlyArray<{ readonly from: { readonly id?: unknown } }> }): ReadonlyArray<string> =>
  answer.results.flatMap((r) => (typeof r.from.id === "string" && ObjectId.isObjectId(r.from.id) ? [r.from.id] : []))

describe("BatchReadAnswer.fromBody", () => {
  it.prop("declines, or reads what JSON.parse and the schema read", [answerArb, styleArb, fc.boolean()], ([answer, style, reorder]) => {
    const ids = fromIdsOf(answer)
    // Reordered, with an id not answered and ids repeated (a result goes where its id is first met).
    agrees(utf8.encode(serialize(answer, style)), reorder ? [...ids].reverse().concat(["42"], ids) : undefined)
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("declines, or agrees, on any byte of a body changed, cut or inserted", [
    fc.oneof(answerArb, commonArb),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "cut", "insert")), { minLength: 1, maxLength: 3 })
  ], ([answer, edits]) => {
    const bytes = [...utf8.encode(JSON.stringify(answer))]
    for (const [at, byte, kind] of edits) {
      const i = at % (bytes.length + 1)
      if (kind === "set" && i < bytes.length) bytes[i] = byte
      else if (kind === "cut") bytes.splice(i, 1)
      else bytes.splice(i, 0, byte)
    }
    agrees(new Uint8Array(bytes), fromIdsOf(answer))
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("reads every answer of the common shape, bare ids and whitespace included", [commonArb, fc.boolean(), fc.boolean()], ([answer, bare, spaced]) => {
    const style: Style = { ws: spaced ? [" ", "\n"] : [""], bareIds: bare, escape: [], duplicateFirst: undefined, reverse: false }
    assert.isTrue(agrees(utf8.encode(serialize(answer, style)), fromIdsOf(answer)), "declined a common answer")
  }, { fastCheck: { numRuns: 1000 } })

  it("declines what it leaves to the reference: repeats, escaped keys, bare ids it cannot be sure of", () => {
    const body = (results: string) => utf8.encode(`{"status":"COMPLETE","results":[${results}]}`)
    const t = (id: string, typeId = 1) => `{"toObjectId":${id},"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":${typeId},"label":null}]}`
    // Each with what the reference makes of it.
    const declined: ReadonlyArray<readonly [string, "read" | "not JSON"]> = [
      [`{"from":{"id":"1"},"to":[${t("\"5\"")},${t("\"5\"", 2)}]}`, "read"], // a to-object twice
      [`{"from":{"id":"1"},"to":[{"toObjectId":"5","associationTypes":[{"category":"A","typeId":1},{"category":"A","typeId":1,"label":"x"}]}]}`, "read"],
      [`{"from":{"id":"1"},"to":[]},{"from":{"id":"1"},"to":[]}`, "read"], // a from id twice
      [`{"from":{"\\u0069d":"1"},"to":[]}`, "read"],
      [`{"from":{"id":"1"},"to":[${t("5.0")}]}`, "not JSON"], // quoteBareIds makes "5".0 of it
      [`{"from":{"id":"1"},"to":[],"x":{"id":5}}`, "read"],
      [`{"from":{"id":"1"},"to":[],"paging":{"next":{"after":"caf\\u00e9"}}}`, "read"]
    ]
    for (const [results, outcome] of declined) {
      assert.isUndefined(BatchReadAnswer.fromBody(body(results)), results)
      const ref = reference(body(results))
      assert.strictEqual(typeof ref === "object" ? "read" : ref, outcome, results)
    }
    assert.isUndefined(BatchReadAnswer.fromBody(utf8.encode(`\ufeff{"status":"COMPLETE","results":[]}`)), "a BOM")
    assert.isUndefined(BatchReadAnswer.fromBody(utf8.encode(`{"status":"COMPLETE","results":[]} x`)))
    assert.isUndefined(BatchReadAnswer.fromBody(utf8.encode(`{"status":"COMPLETE"}`)))
  })

  /** Results of 500 associations each, as many as make `Scan.compactFrom` bytes or more. */
  const largeResults = (): ReadonlyArray<string> => {
    const t = (id: number, typeId: number) =>
      `{"toObjectId":"${id}","associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null}`
      + `${typeId === 1 ? "" : `,{"category":"USER_DEFINED","typeId":${typeId},"label":"Décideur"}`}]}`
    const results: Array<string> = []
    for (let from = 1; results.join(",").length < Scan.compactFrom; from++) {
      const to = Array.from({ length: 500 }, (_, k) => t(1_000_000 + from * 1000 + k, k % 3 === 0 ? 1001 : 1))
      results.push(`{"from":{"id":"${from}"},"to":[${to.join(",")}]}`)
    }
    return results
  }

  it("keeps only the to ids' digits of a large answer, and no view of its body", () => {
    const results = largeResults()
    const bytes = utf8.encode(`{"status":"COMPLETE","results":[${results.join(",")}]}`)
    const ids = results.map((_, i) => String(i + 1))
    assert.isTrue(agrees(bytes, ids))
    const scanned = Scan.scan(bytes)!
    // Seven digits a to-object, whatever its rows; three numbers a row, no more.
    assert.strictEqual(scanned.body.length, 7 * 500 * ids.length)
    assert.strictEqual(scanned.rows.length, 3 * scanned.rowCount)
    const answer = BatchReadAnswer.fromBody(bytes)!
    const before = NdjsonRows.encode(answer.rows(pair, ids.map(ObjectId.unsafeMake)))
    bytes.fill(0x7b)
    assert.deepStrictEqual(NdjsonRows.encode(answer.rows(pair, ids.map(ObjectId.unsafeMake))), before)
  })

  it.scoped("gives the buffer of a large body back once read, for the next body; keeps one it declines", () =>
    Effect.gen(function*() {
    yield* AnswerBody.keepFreeBuffers
    const results = largeResults()
    const ids = results.map((_, i) => ObjectId.unsafeMake(String(i + 1)))
    const text = `{"status":"COMPLETE","results":[${results.join(",")}]}`
    const plain = utf8.encode(text)
    /** The text in a lent buffer, as the client reads a large body. */
    const lent = (bytes: Uint8Array) => {
      const body = AnswerBody.take(bytes.length)
      body.set(bytes)
      return body
    }
    const ref = reference(plain)
    assert.isObject(ref)
    if (typeof ref !== "object") return
    const expected = NdjsonRows.encode(ref.rows(pair, ids))
    const first = lent(plain)
    const answer = BatchReadAnswer.fromBody(first)!
    // Given back: the next body of about its size is read into the same buffer, and the answer keeps none of it.
    const second = lent(plain)
    assert.strictEqual(second.buffer, first.buffer)
    second.fill(0x7b)
    assert.deepStrictEqual(NdjsonRows.encode(answer.rows(pair, ids)), expected)
    // A body the scan declines is the caller's still, to parse whole: not given back.
    const declined = lent(utf8.encode(`${text} x`))
    assert.isUndefined(BatchReadAnswer.fromBody(declined))
    assert.notStrictEqual(AnswerBody.take(declined.length).buffer, declined.buffer)
    assert.strictEqual(AssociationsApi.utf8Text(declined), `${text} x`)
    }))

  it("reads two to ids whose hashes collide as two, and declines the same id twice, bare or quoted", () => {
    // 1388934 and 1778010 have one hash (FNV-1a, 30 bits): the scan tells them apart by their digits.
    const t = (id: string) =>
      `{"toObjectId":${id},"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null}]}`
    const body = (...ids: ReadonlyArray<string>) =>
      utf8.encode(`{"status":"COMPLETE","results":[{"from":{"id":"1"},"to":[${ids.map(t).join(",")}]}]}`)
    const two = body("\"1388934\"", "1778010", "\"13889345\"")
    assert.isTrue(agrees(two, ["1"]))
    assert.deepStrictEqual(
      BatchReadAnswer.fromBody(two)!.rows(pair).toArray().map((r) => r.to_object_id),
      ["1388934", "1778010", "13889345"]
    )
    assert.isUndefined(BatchReadAnswer.fromBody(body("\"1388934\"", "1778010", "1388934")))
    assert.isUndefined(BatchReadAnswer.fromBody(body("\"1388934\"", "1778010", "\"1778010\"")))
  })

  it("reads ids beyond 2^53, bare or quoted, digit for digit, and keeps canonical order", () => {
    const bytes = utf8.encode(
      `{"status":"COMPLETE","results":[{"from":{"id":2},"to":[{"toObjectId":1152921504606846977,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null}]}]},`
        + `{"from":{"id":"1"},"to":[{"toObjectId":"99999999999999999999","associationTypes":[{"category":"USER_DEFINED","typeId":1001,"label":"Décideur"}]}]}]}`
    )
    const answer = BatchReadAnswer.fromBody(bytes)!
    assert.isDefined(answer)
    const rows = answer.rows(pair, ["1", "2"].map(ObjectId.unsafeMake)).toArray()
    assert.deepStrictEqual(rows.map((r) => [r.from_object_id, r.to_object_id, r.association_label]), [
      ["1", "99999999999999999999", "Décideur"],
      ["2", "1152921504606846977", null]
    ])
    assert.isTrue(agrees(bytes, ["1", "2"]))
    // A repeated input id: its result goes where the id is first met.
    const order = ["2", "1", "2"].map(ObjectId.unsafeMake)
    assert.deepStrictEqual(answer.rows(pair, order).toArray().map((r) => r.from_object_id), ["2", "1"])
    assert.isTrue(agrees(bytes, ["2", "1", "2"]))
  })

  it("reads the spec's variants from the bytes as the reference does: bare ids past 2^53, WORK, type ids", () => {
    const big = "1152921504606846977" // 2^60 + 1: a double would make it ...976
    assert.notStrictEqual(String(Number(big)), big)
    const text = `{"status":"COMPLETE","results":[{"fromObjectTypeId":"0-1","from":{"id":"7"},"to":[`
      + `{"toObjectId":${big},"toObjectTypeId":"0-2","associationTypes":[{"category":"WORK","typeId":1007,"label":"Manager"}]},`
      + `{"toObjectId":9007199254740993,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null}]}]}],`
      + `"numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND","message":"No contacts found with ids: 8",`
      + `"context":{"fromObjectId":["8"]},"fromObjectTypeId":"0-1"}]}`
    const bytes = utf8.encode(text)
    // The scanner: each to id is the digits of the body where it stands, not a number.
    const scanned = Scan.scan(bytes)!
    assert.isDefined(scanned)
    assert.strictEqual(scanned.rowCount, 2)
    assert.strictEqual(scanned.body, bytes)
    const digits = (r: number) =>
      new TextDecoder().decode(scanned.body.subarray(scanned.rows[3 * r]!, scanned.rows[3 * r + 1]!))
    assert.deepStrictEqual([digits(0), digits(1)], [big, "9007199254740993"])
    assert.deepStrictEqual(scanned.types.map((t) => t.category), ["WORK", "HUBSPOT_DEFINED"])
    // The reference: the body parsed whole, bare ids quoted first.
    const ref = reference(bytes)
    assert.isObject(ref)
    const expected = [[big, "WORK", 1007, "Manager"], ["9007199254740993", "HUBSPOT_DEFINED", 1, null]]
    const columns = (r: AssociationRow.AssociationRow) =>
      [r.to_object_id, r.association_category, r.association_type_id, r.association_label]
    if (typeof ref === "object") assert.deepStrictEqual(ref.rows(pair).toArray().map(columns), expected)
    assert.deepStrictEqual(BatchReadAnswer.fromBody(bytes)!.rows(pair).toArray().map(columns), expected)
    assert.isTrue(agrees(bytes, ["7", "8"]))
    // Without the object type ids, the same.
    const without = text.replace(/"(from|to)ObjectTypeId":"0-[12]",/g, "").replace(/,"fromObjectTypeId":"0-1"/g, "")
    assert.notInclude(without, "ObjectTypeId")
    assert.isTrue(agrees(utf8.encode(without), ["7", "8"]))
    // Pretty-printed, whitespace about the colon of a bare id: read from the bytes all the same, digit for digit.
    const pretty = utf8.encode(text.replace(/"toObjectId":/g, "\"toObjectId\" : ").replace(/"id":/g, "\"id\"\n:"))
    assert.isTrue(agrees(pretty, ["7", "8"]))
    assert.deepStrictEqual(BatchReadAnswer.fromBody(pretty)!.rows(pair).toArray().map(columns), expected)
  })
})

describe("BatchReadAnswer.flawOf", () => {
  const answer = (status: string | undefined, results: string) =>
    `{${status === undefined ? "" : `"status":${JSON.stringify(status)},`}"results":[${results}]}`
  const to = `[{"toObjectId":"9","associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":null}]}]`
  const result = (id: string, after?: string) =>
    `{"from":{"id":"${id}"},"to":${to}${after === undefined ? "" : `,"paging":{"next":{"after":"${after}"}}`}}`
  const inputs = (...ids: ReadonlyArray<string>) => ids.map((id) => ({ id }))
  /** The flaw both readings find (they must agree), for the body `text` answering `asked`. */
  const flaw = (text: string, asked: ReadonlyArray<{ readonly id: string; readonly after?: string }>) => {
    const bytes = utf8.encode(text)
    const ref = reference(bytes)
    assert.isObject(ref, text)
    if (typeof ref !== "object") return undefined
    const found = BatchReadAnswer.flawOf(ref, asked)
    const fast = BatchReadAnswer.fromBody(bytes)
    if (fast !== undefined) assert.deepStrictEqual(BatchReadAnswer.flawOf(fast, asked), found, text)
    return found
  }

  it("takes a COMPLETE answer, and one with no status (older versions), of the ids asked", () => {
    assert.isUndefined(flaw(answer("COMPLETE", `${result("1", "c")},${result("2")}`), inputs("1", "2", "3")))
    assert.isUndefined(flaw(answer(undefined, result("1")), inputs("1")))
    assert.isUndefined(flaw(answer("COMPLETE", ""), inputs("1")))
    // Read by the bytes too: the status costs nothing a row.
    assert.isDefined(BatchReadAnswer.fromBody(utf8.encode(answer(undefined, result("1")))))
    assert.isUndefined(BatchReadAnswer.fromBody(utf8.encode(answer(undefined, result("1"))))!.status)
  })

  it("refuses PENDING, PROCESSING, CANCELED and any other status, naming it, whatever the results", () => {
    for (const status of ["PENDING", "PROCESSING", "CANCELED"] as const) {
      const found = flaw(answer(status, result("1")), inputs("1", "2"))
      assert.strictEqual(found?.kind, status)
      assert.include(found!.detail, `status is ${status}, not COMPLETE`)
      assert.include(found!.detail, "1 result for 2 inputs")
      // Empty results too: the ids left out are not ids without associations.
      assert.strictEqual(flaw(answer(status, ""), inputs("1"))?.kind, status)
    }
    for (const status of ["FAILED", "complete", ""]) {
      const found = flaw(answer(status, result("1")), inputs("1"))
      assert.strictEqual(found?.kind, "OTHER_STATUS", status)
      assert.include(found!.detail, `status is ${JSON.stringify(status)}`)
    }
    // The status is what is said first, before the ids.
    assert.strictEqual(flaw(answer("CANCELED", result("7")), inputs("1"))?.kind, "CANCELED")
  })

  it("refuses results naming an id not asked, or a from id more often than it was asked", () => {
    const unasked = flaw(answer("COMPLETE", `${result("1")},${result("7")}`), inputs("1", "2"))
    assert.strictEqual(unasked?.kind, "UNASKED_ID")
    assert.include(unasked!.detail, "id 7, which was not asked")
    const twice = flaw(answer("COMPLETE", `${result("1", "a")},${result("2")},${result("1", "b")}`), inputs("1", "2"))
    assert.strictEqual(twice?.kind, "REPEATED_ID")
    assert.include(twice!.detail, "id 1 2 times, asked once")
    // An id asked with two cursors may come twice, not three times; asked twice with the same cursor, once.
    const both = [{ id: "1" }, { id: "1", after: "x" }]
    assert.isUndefined(flaw(answer("COMPLETE", `${result("1", "x")},${result("1", "y")}`), both))
    const thrice = flaw(answer("COMPLETE", `${result("1")},${result("1")},${result("1")}`), both)
    assert.strictEqual(thrice?.kind, "REPEATED_ID")
    assert.include(thrice!.detail, "id 1 3 times, asked 2 times")
    const same = flaw(answer("COMPLETE", `${result("1")},${result("1")}`), [{ id: "1", after: "x" }, { id: "1", after: "x" }])
    assert.include(same!.detail, "id 1 2 times, asked once")
    // Bare numeric ids are the digits asked.
    assert.isUndefined(flaw(`{"status":"COMPLETE","results":[{"from":{"id":12},"to":[]}]}`, inputs("12")))
  })
})
