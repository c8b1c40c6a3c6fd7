import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { IdSet } from "../src/IdSet.js"

// Ids as HubSpot sends them (small, large, beyond 2^53) and texts that only look alike ("007", "7").
const idArb = fc.oneof(
  fc.nat({ max: 5000 }).map(String),
  fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
  fc.constantFrom("0", "00", "007", "7", String(2 ** 53 - 2), String(2 ** 53 - 1), String(2 ** 53), "9007199254740993"),
  fc.stringMatching(/^[0-9]{1,20}$/)
)

describe("IdSet", () => {
  it.prop("holds exactly the ids added, by their text", [fc.array(idArb, { maxLength: 3000 }), fc.array(idArb, { maxLength: 200 })], ([added, probes]) => {
    const set = IdSet.empty()
    const oracle = new Set<string>()
    for (const id of added) assert.strictEqual(set.add(id), !oracle.has(id) && oracle.add(id) !== undefined, id)
    assert.strictEqual(set.size, oracle.size)
    for (const id of [...added, ...probes]) assert.strictEqual(set.has(id), oracle.has(id), id)
  })

  it("keeps every one of a million ids through its growth", () => {
    const set = IdSet.empty()
    for (let i = 0; i < 1_000_000; i++) set.add(String(1000 + i * 97))
    assert.strictEqual(set.size, 1_000_000)
    for (let i = 0; i < 1_000_000; i += 997) assert.isTrue(set.has(String(1000 + i * 97)))
    assert.isFalse(set.has(String(1001)))
    assert.isFalse(set.add(String(1000)))
  })
})
