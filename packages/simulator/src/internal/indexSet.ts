/**
 * A set of at most `capacity` non-negative integers (below 2^31), for drawing distinct indices: a scan of an
 * array while small, else open addressing in an `Int32Array`. Cheaper than a `Set` of numbers made per object.
 */
export interface IndexSet {
  readonly has: (n: number) => boolean
  /** Adds n; at most `capacity` adds in all, of numbers not in the set. */
  readonly add: (n: number) => void
}

const scanBelow = 16

export const make = (capacity: number): IndexSet => {
  if (capacity <= scanBelow) {
    const items = new Int32Array(capacity)
    let size = 0
    return {
      has: (n) => {
        for (let i = 0; i < size; i++) if (items[i] === n) return true
        return false
      },
      add: (n) => {
        items[size++] = n
      }
    }
  }
  let slots = 32
  while (slots < capacity * 2) slots *= 2
  const mask = slots - 1
  const table = new Int32Array(slots).fill(-1)
  const slotOf = (n: number): number => {
    let i = Math.imul(n, 0x9e3779b1) >>> 0 & mask
    while (table[i] !== -1 && table[i] !== n) i = (i + 1) & mask
    return i
  }
  return {
    has: (n) => table[slotOf(n)] === n,
    add: (n) => {
      table[slotOf(n)] = n
    }
  }
}
