/**
 * A set of non-negative integers kept as sorted, disjoint, half-open ranges
 * `[start, end)`. Work finishing out of order leaves a few holes; the set
 * stays as small as the number of holes, not the number of members.
 */
export class IntervalSet {
  /** Flat pairs: starts at even indexes, ends at odd ones. */
  private readonly bounds: Array<number>

  private constructor(bounds: Array<number>) {
    this.bounds = bounds
  }

  static empty(): IntervalSet {
    return new IntervalSet([])
  }

  /** From ranges as a checkpoint stores them; overlapping or unsorted ranges are merged. */
  static fromRanges(ranges: ReadonlyArray<readonly [number, number]>): IntervalSet {
    const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0])
    const bounds: Array<number> = []
    for (const [start, end] of sorted) {
      const last = bounds.length - 1
      if (last > 0 && start <= bounds[last]!) bounds[last] = Math.max(bounds[last]!, end)
      else bounds.push(start, end)
    }
    return new IntervalSet(bounds)
  }

  get ranges(): ReadonlyArray<readonly [number, number]> {
    const out: Array<readonly [number, number]> = []
    for (let i = 0; i < this.bounds.length; i += 2) out.push([this.bounds[i]!, this.bounds[i + 1]!])
    return out
  }

  get size(): number {
    let n = 0
    for (let i = 0; i < this.bounds.length; i += 2) n += this.bounds[i + 1]! - this.bounds[i]!
    return n
  }

  /** Index of the first range whose end is greater than k (the range that holds k, or the one after it). */
  private find(k: number): number {
    let lo = 0
    let hi = this.bounds.length / 2
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.bounds[mid * 2 + 1]! > k) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  has(k: number): boolean {
    const i = this.find(k)
    return i * 2 < this.bounds.length && this.bounds[i * 2]! <= k
  }

  add(k: number): void {
    const b = this.bounds
    const i = this.find(k)
    if (i * 2 < b.length && b[i * 2]! <= k) return
    const joinsPrevious = i > 0 && b[i * 2 - 1] === k
    const joinsNext = i * 2 < b.length && b[i * 2] === k + 1
    if (joinsPrevious && joinsNext) {
      b[i * 2 - 1] = b[i * 2 + 1]!
      b.splice(i * 2, 2)
    } else if (joinsPrevious) {
      b[i * 2 - 1] = k + 1
    } else if (joinsNext) {
      b[i * 2] = k
    } else {
      b.splice(i * 2, 0, k, k + 1)
    }
  }

  /** The smallest non-negative integer not in the set. */
  get firstMissing(): number {
    return this.bounds.length > 0 && this.bounds[0] === 0 ? this.bounds[1]! : 0
  }
}
