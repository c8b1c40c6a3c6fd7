import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { IntervalSet } from "../src/IntervalSet.js"

describe("IntervalSet", () => {
  it.prop("holds exactly what was added, as few disjoint sorted ranges", [fc.array(fc.nat({ max: 200 }))], ([ks]) => {
    const set = IntervalSet.empty()
    for (const k of ks) set.add(k)
    const expected = new Set(ks)
    for (let k = 0; k <= 201; k++) assert.strictEqual(set.has(k), expected.has(k), String(k))
    assert.strictEqual(set.size, expected.size)
    const ranges = set.ranges
    for (let i = 1; i < ranges.length; i++) assert.isTrue(ranges[i]![0] > ranges[i - 1]![1], "disjoint, not touching")
    assert.deepStrictEqual(IntervalSet.fromRanges(ranges).ranges, ranges)
    let firstMissing = 0
    while (expected.has(firstMissing)) firstMissing++
    assert.strictEqual(set.firstMissing, firstMissing)
  })

  it("merges overlapping ranges read from a checkpoint", () => {
    assert.deepStrictEqual(IntervalSet.fromRanges([[5, 8], [0, 2], [1, 3], [3, 4]]).ranges, [[0, 4], [5, 8]])
  })
})
