import { assert, describe, it } from "@effect/vitest"
import { SimulatedPortal } from "../src/index.js"

const types = ["contacts", "companies", "deals", "tickets"]
const big = 2n ** 53n

describe("Dataset", () => {
  const dataset = SimulatedPortal.make({ seed: 7, objects: 2000, types })

  it("is deterministic for a seed and differs between seeds", () => {
    const again = SimulatedPortal.make({ seed: 7, objects: 2000, types })
    const other = SimulatedPortal.make({ seed: 8, objects: 2000, types })
    assert.deepStrictEqual(again.ids("contacts"), dataset.ids("contacts"))
    const ids = dataset.ids("contacts").slice(0, 200)
    for (const id of ids) {
      assert.deepStrictEqual(again.associations("contacts", "companies", id), dataset.associations("contacts", "companies", id))
    }
    assert.notDeepEqual(other.ids("contacts"), dataset.ids("contacts"))
  })

  it("draws the same dataset for a seed as before: a fingerprint of its rows", () => {
    // Pinned: tests, demos and benchmarks compare exports against this data; a change of the draw is a change here.
    let hash = 0x811c9dc5
    let rows = 0
    for (const [from, to] of [["contacts", "companies"], ["deals", "tickets"]] as const) {
      for (const r of SimulatedPortal.groundTruth(dataset, from, to).rows) {
        rows++
        const line = `${r.from_object_id}|${r.to_object_id}|${r.association_type_id}\n`
        for (let i = 0; i < line.length; i++) hash = Math.imul(hash ^ line.charCodeAt(i), 0x01000193)
      }
    }
    assert.deepStrictEqual([rows, hash >>> 0], [138437, 4143324745])
  })

  it("gives the associations as positions: the same objects and types, without an object each", () => {
    const pool = dataset.associationTypes("contacts", "companies")
    const toIds = dataset.ids("companies")
    for (const id of dataset.ids("contacts").slice(0, 500)) {
      const positions = dataset.associationPositions("contacts", "companies", id)
      const fromPositions: ReadonlyArray<SimulatedPortal.AssociatedObject> = Array.from({ length: positions.length }, (_, k) => {
        const set = positions.typeSet[k]!
        return {
          toObjectId: toIds[positions.toIndex[k]!]! as SimulatedPortal.AssociatedObject["toObjectId"],
          associationTypes: Array.from({ length: SimulatedPortal.typeCount(set) }, (_, t) => pool[SimulatedPortal.typeAt(set, t)]!)
        }
      })
      assert.deepStrictEqual(fromPositions, dataset.associations("contacts", "companies", id))
    }
    assert.strictEqual(dataset.associationPositions("contacts", "companies", "1").length, 0)
    assert.deepStrictEqual(dataset.associationTypes("contacts", "widgets"), [])
  })

  it("has ids as strings of digits, ascending as BigInt, unique, some beyond 2^53", () => {
    for (const type of types) {
      const ids = dataset.ids(type)
      assert.strictEqual(ids.length, 2000)
      assert.strictEqual(dataset.size(type), 2000)
      for (let i = 0; i < ids.length; i++) {
        assert.match(ids[i]!, /^[1-9][0-9]*$/)
        assert.strictEqual(dataset.idAt(type, i), ids[i])
        if (i > 0) assert.isTrue(BigInt(ids[i - 1]!) < BigInt(ids[i]!))
      }
      const beyond = ids.filter((id) => BigInt(id) > big)
      assert.isAtLeast(beyond.length, 1)
      assert.isTrue(ids.some((id) => BigInt(id) < 1_000_000_000n))
    }
    assert.deepStrictEqual(dataset.ids("widgets"), [])
    assert.strictEqual(dataset.idAt("contacts", 2000), undefined)
  })

  it("knows its ids and nothing else", () => {
    const ids = dataset.ids("deals")
    for (const id of ids) assert.isTrue(dataset.has("deals", id))
    const known = new Set(ids)
    let refused = 0
    for (const id of ids.slice(0, 300)) {
      for (const probe of [String(BigInt(id) + 1n), String(BigInt(id) - 1n), `0${id}`]) {
        if (!known.has(probe)) {
          assert.isFalse(dataset.has("deals", probe), probe)
          refused++
        }
      }
    }
    assert.isAbove(refused, 500)
    assert.isFalse(dataset.has("deals", "abc"))
    assert.isFalse(dataset.has("widgets", ids[0]!))
    assert.deepStrictEqual(dataset.associations("deals", "contacts", "1"), [])
  })

  it("draws a heavy tail of associations to existing objects, without repeats", () => {
    const counts = dataset.ids("contacts").map((id) => {
      const assocs = dataset.associations("contacts", "companies", id)
      const to = assocs.map((a) => a.toObjectId)
      assert.strictEqual(new Set(to).size, to.length)
      for (let i = 1; i < to.length; i++) assert.isTrue(BigInt(to[i - 1]!) < BigInt(to[i]!))
      for (const a of assocs) {
        assert.isTrue(dataset.has("companies", a.toObjectId))
        assert.isAtLeast(a.associationTypes.length, 1)
        assert.isAtMost(a.associationTypes.length, 3)
        const typeIds = a.associationTypes.map((t) => t.typeId)
        assert.strictEqual(new Set(typeIds).size, typeIds.length)
        for (const t of a.associationTypes) assert.include(["HUBSPOT_DEFINED", "USER_DEFINED"], t.category)
      }
      return assocs.length
    })
    const none = counts.filter((c) => c === 0).length / counts.length
    assert.isAtLeast(none, 0.1)
    assert.isAtMost(none, 0.2)
    assert.isAbove(counts.filter((c) => c >= 1 && c <= 5).length / counts.length, 0.5)
    assert.isAtLeast(counts.filter((c) => c > 1000).length, 2)
    assert.isAtLeast(counts.filter((c) => c > 100 && c <= 1000).length, 10)
  })

  it("is \"typical\" unless told: the same draw with the shape given or not", () => {
    const typical = SimulatedPortal.make({ seed: 7, objects: 2000, types, shape: "typical" })
    assert.strictEqual(dataset.shape, "typical")
    for (const id of dataset.ids("contacts")) {
      assert.deepStrictEqual(
        typical.associationPositions("contacts", "companies", id),
        dataset.associationPositions("contacts", "companies", id)
      )
    }
  })

  it("with shape heavyTail, gives 2% of objects 1000 to 3000 associations, the others typical counts", () => {
    const heavy = SimulatedPortal.make({ seed: 7, objects: 5000, types, shape: "heavyTail" })
    assert.strictEqual(heavy.shape, "heavyTail")
    const counts = heavy.ids("contacts").map((id) => heavy.associationPositions("contacts", "companies", id).length)
    const share = (f: (n: number) => boolean) => counts.filter(f).length / counts.length
    // 2% drawn heavy, plus typical's own 0.5% over 1000 among the other 98%.
    assert.isAtLeast(share((n) => n >= 1000), 0.018)
    assert.isAtMost(share((n) => n >= 1000), 0.032)
    // Typical never passes 2500: what is above came from the heavy draw, uniform over 1000-3000 (about a sixth).
    assert.isAbove(share((n) => n > 2500), 0.001)
    assert.isAtMost(Math.max(...counts), 3000)
    assert.isAbove(share((n) => n >= 1 && n <= 5), 0.6)
    assert.isAtLeast(share((n) => n === 0), 0.1)
    // The same rows through `associations` and the ground truth, which read the same portal.
    const id = heavy.ids("contacts")[counts.findIndex((n) => n > 2500)]!
    const truth = SimulatedPortal.groundTruth(heavy, "contacts", "companies", [id])
    const assocs = heavy.associations("contacts", "companies", id)
    assert.isAbove(assocs.length, 2500)
    assert.strictEqual(truth.rows.length, assocs.reduce((n, a) => n + a.associationTypes.length, 0))
    assert.deepStrictEqual([...new Set(truth.rows.map((r) => r.to_object_id))], assocs.map((a) => a.toObjectId))
  })

  it("with shape heavy, gives every object 480 to 600 associations, most with a second page of 500", () => {
    const heavy = SimulatedPortal.make({ seed: 7, objects: 3000, types, shape: "heavy" })
    assert.strictEqual(heavy.shape, "heavy")
    const counts = heavy.ids("contacts").map((id) => heavy.associationPositions("contacts", "companies", id).length)
    assert.strictEqual(Math.min(...counts), 480)
    assert.strictEqual(Math.max(...counts), 600)
    // Uniform: 100 of the 121 counts pass a page of 500.
    const paged = counts.filter((n) => n > 500).length / counts.length
    assert.isAbove(paged, 0.78)
    assert.isBelow(paged, 0.87)
    // The rows are the portal's, through `associations` and the ground truth alike.
    const id = heavy.ids("contacts")[0]!
    const assocs = heavy.associations("contacts", "companies", id)
    assert.strictEqual(assocs.length, counts[0])
    const truth = SimulatedPortal.groundTruth(heavy, "contacts", "companies", [id])
    assert.strictEqual(truth.rows.length, assocs.reduce((n, a) => n + a.associationTypes.length, 0))
  })

  it("caps a count at the objects of the `to` type: distinct, ascending, every object at most", () => {
    const small = SimulatedPortal.make({ seed: 9, objects: 1200, types, shape: "heavyTail" })
    const counts = small.ids("deals").map((id) => {
      const positions = small.associationPositions("deals", "tickets", id)
      for (let k = 0; k < positions.length; k++) {
        assert.isAtLeast(positions.toIndex[k]!, 0)
        assert.isBelow(positions.toIndex[k]!, 1200)
        if (k > 0) assert.isAbove(positions.toIndex[k]!, positions.toIndex[k - 1]!)
      }
      return positions.length
    })
    assert.isAtMost(Math.max(...counts), 1200)
    // About 2% of 1200 draw 1000-3000: most of those are capped, and then hold every ticket.
    assert.isAbove(counts.filter((n) => n === 1200).length, 5)
    const full = small.ids("deals")[counts.indexOf(1200)]!
    assert.deepStrictEqual(small.associations("deals", "tickets", full).map((a) => a.toObjectId), small.ids("tickets"))
  })

  it("labels associations with null, quotes, commas, newlines and unicode", () => {
    const labels = new Set<string | null>()
    for (const id of dataset.ids("contacts").slice(0, 500)) {
      for (const a of dataset.associations("contacts", "companies", id)) {
        for (const t of a.associationTypes) labels.add(t.label)
      }
    }
    const all = [...labels]
    assert.isTrue(labels.has(null))
    assert.isTrue(all.some((l) => l !== null && l.includes("\n")))
    assert.isTrue(all.some((l) => l !== null && l.includes("\"") && l.includes(",")))
    assert.isTrue(all.some((l) => l !== null && /[^ -~\n\t]/.test(l)))
  })

  it("gives every object a last modification in 2025", () => {
    for (const id of dataset.ids("tickets").slice(0, 100)) {
      const m = dataset.lastModified("tickets", id)
      assert.strictEqual(m, dataset.lastModified("tickets", id))
      assert.isAtLeast(m, Date.UTC(2025, 0, 1))
      assert.isBelow(m, Date.UTC(2026, 0, 1))
      assert.isAtMost(dataset.createdAt("tickets", id), m)
    }
  })

  it("creates a 1,000,000-object dataset lazily", () => {
    const huge = SimulatedPortal.make({ seed: 3, objects: 1_000_000, types })
    assert.strictEqual(huge.size("contacts"), 1_000_000)
    const last = huge.idAt("contacts", 999_999)!
    const first = huge.idAt("contacts", 0)!
    assert.isTrue(BigInt(last) > big)
    assert.isTrue(huge.has("contacts", last))
    assert.isTrue(huge.has("contacts", first))
    for (const id of [first, last, huge.idAt("contacts", 500_000)!]) {
      for (const a of huge.associations("contacts", "deals", id)) assert.isTrue(huge.has("deals", a.toObjectId))
    }
    const ids = huge.ids("tickets")
    assert.strictEqual(ids.length, 1_000_000)
    assert.isTrue(BigInt(ids[999_998]!) < BigInt(ids[999_999]!))
  })

  it("gives the ground truth of an export: canonical order, no repeats, unknown ids apart", () => {
    const ids = dataset.ids("contacts")
    const chosen = [ids[5]!, "42", ids[3]!, ids[5]!, ids[1999]!]
    const truth = SimulatedPortal.groundTruth(dataset, "contacts", "companies", chosen)
    assert.deepStrictEqual(truth.unknownIds, ["42"])
    const expected = [ids[5]!, ids[3]!, ids[1999]!].flatMap((id) =>
      dataset.associations("contacts", "companies", id).flatMap((a) =>
        a.associationTypes.map((t) => ({
          from_object_type: "contacts",
          from_object_id: id,
          to_object_type: "companies",
          to_object_id: a.toObjectId,
          association_category: t.category,
          association_type_id: t.typeId,
          association_label: t.label
        }))
      )
    )
    assert.deepStrictEqual(truth.rows, expected)
    const all = SimulatedPortal.groundTruth(dataset, "contacts", "companies")
    assert.deepStrictEqual(all.unknownIds, [])
    const keys = all.rows.map((r) => `${r.from_object_id}|${r.to_object_id}|${r.association_type_id}`)
    assert.strictEqual(new Set(keys).size, keys.length)
  })
})
