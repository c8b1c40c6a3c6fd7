/**
 * A set of object ids in 8-byte slots, at most half full (16-32 bytes an id;
 * 1M nine-digit ids measured 10 bytes an id of heap and array buffers, a
 * `Set<string>` of them 53): an export remembers every id it met (duplicates
 * are asked once, across resumes too), and a portal holds millions of objects.
 *
 * Ids of digits below 2^53 without leading zeros (nearly all of a CRM's)
 * are kept as numbers in an open-addressing table of float64s; any other id
 * (beyond 2^53, or written "007") goes to a `Set<string>`. Membership is by the
 * id's text: "7" and "007" are different ids, as they are to the source system.
 */

const canonical = /^(0|[1-9][0-9]{0,15})$/

/** The id as a table key (the number plus one, so 0 means an empty slot), or `undefined` for the fallback set. */
const keyOf = (id: string): number | undefined => {
  if (!canonical.test(id)) return undefined
  const n = Number(id)
  return n < Number.MAX_SAFE_INTEGER ? n + 1 : undefined
}

const slotOf = (key: number, mask: number): number => {
  const lo = key >>> 0
  const hi = (key / 4294967296) >>> 0
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h & mask
}

export class IdSet {
  static empty(): IdSet {
    return new IdSet()
  }

  private table = new Float64Array(1024)
  private count = 0
  private readonly others = new Set<string>()

  /** How many distinct ids were added. */
  get size(): number {
    return this.count + this.others.size
  }

  has(id: string): boolean {
    const key = keyOf(id)
    if (key === undefined) return this.others.has(id)
    const mask = this.table.length - 1
    for (let i = slotOf(key, mask);; i = (i + 1) & mask) {
      const k = this.table[i]!
      if (k === key) return true
      if (k === 0) return false
    }
  }

  /** Adds `id`; `true` when it was not there before. */
  add(id: string): boolean {
    const key = keyOf(id)
    if (key === undefined) {
      if (this.others.has(id)) return false
      this.others.add(id)
      return true
    }
    if (!this.insert(this.table, key)) return false
    this.count++
    // Linear probing stays short below half full.
    if (this.count * 2 > this.table.length) this.grow()
    return true
  }

  private insert(table: Float64Array, key: number): boolean {
    const mask = table.length - 1
    for (let i = slotOf(key, mask);; i = (i + 1) & mask) {
      const k = table[i]!
      if (k === key) return false
      if (k === 0) {
        table[i] = key
        return true
      }
    }
  }

  private grow(): void {
    const larger = new Float64Array(this.table.length * 2)
    for (const k of this.table) if (k !== 0) this.insert(larger, k)
    this.table = larger
  }
}
