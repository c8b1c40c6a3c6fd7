/**
 * Version 1 of a simulated portal: version 0 with edits drawn from the seed, for snapshot diffs and chained runs.
 * Each object of version 0 has a fate, one hash of its type and position (no table):
 * - about 1% are archived: gone from the ids, the listing and search, unknown to batch read, and so are the
 *   associations pointing to them;
 * - about 2% have their associations edited, in every pair from their type: 1 to 3 edits, each on an association
 *   of its own (one removed, one relabelled: the same object with other association types, or one added), so an
 *   edited object always differs. Half of them are modified visibly (`lastModified` moved into the change window),
 *   the other half silently: HubSpot does not promise that an association change moves `lastmodifieddate`, and a
 *   modified-since export must be shown what it then misses;
 * - every other object and its associations (but those to archived objects) are version 0's, to the bit.
 * `ceil(1%)` objects are added, with ids past version 0's ordinary ids (and below its big ones), created and
 * modified in the window, with associations of their own; an edit that adds an association picks one of them 30%
 * of the time. The change window is `[changedAt - 1 hour, changedAt)`.
 *
 * Positions (`AssociationPositions.toIndex`, `idAt`) are those of version 1's ids: version 0's without the
 * archived, the added between the ordinary and the big ones. The one table a type gets is the sorted version-0
 * positions of its archived objects (1%), made on first need; a position is mapped either way by a binary search
 * in it.
 */
import type { AssociationPositions, Change, Changes } from "../SimulatedPortal.js"
import { hash2, hashString, mulberry32 } from "./prng.js"

/** What version 1 is drawn from: version 0 of the same portal (see `SimulatedPortal.make`). */
export interface Base {
  readonly seed: number
  /** A type's objects in version 0, the first `ordinary` with ids below 2^53; undefined for an unknown type. */
  readonly space: (type: string) => { readonly size: number; readonly ordinary: number } | undefined
  /** The position of an id among version 0's ids of a type (undefined when it is not one). */
  readonly indexOf: (type: string, id: string) => number | undefined
  /** The id at a position (in range) of version 0's ids of a type. */
  readonly idAt: (type: string, index: number) => string
  /** The id of the m-th added object: ascending in m, above every ordinary id of version 0, below its big ones. */
  readonly addedIdAt: (type: string, m: number) => string
  /** The m of the id of an added object (m < count), or undefined. */
  readonly addedIndexOf: (type: string, id: string, count: number) => number | undefined
  /** Version 0's associations of an object. */
  readonly associationPositions: (from: string, to: string, id: string) => AssociationPositions
  /** The associations of one object drawn from `rng` as version 0 draws them, to positions below `toSize`. */
  readonly drawPositions: (rng: () => number, toSize: number, poolSize: number) => AssociationPositions
  /** The association types of one association, packed, drawn as version 0 draws them. */
  readonly drawTypeSet: (rng: () => number, poolSize: number) => number
  /** The number of association types of a pair. */
  readonly poolSize: (from: string, to: string) => number
  readonly lastModified: (type: string, id: string) => number
  readonly createdAt: (type: string, id: string) => number
}

/** The parts of a portal that a version changes (the same names and meanings as in `SimulatedPortal`). */
export interface Version {
  readonly ids: (type: string) => ReadonlyArray<string>
  readonly size: (type: string) => number
  readonly idAt: (type: string, index: number) => string | undefined
  readonly has: (type: string, id: string) => boolean
  readonly associationPositions: (from: string, to: string, id: string) => AssociationPositions
  readonly lastModified: (type: string, id: string) => number
  readonly createdAt: (type: string, id: string) => number
  readonly changeOf: (type: string, id: string) => Change | undefined
  readonly changes: (type: string) => Changes
}

/** A fate is a hash mod 10,000: below 100 archived, then 100 edited visibly, then 100 edited silently. */
const fates = 10_000
const archivedBelow = 100
const visibleBelow = 200
const silentBelow = 300
/** The share of an edit's added associations that go to added objects. */
const toAddedShare = 0.3
const hour = 3_600_000

/** The packing of `AssociationPositions.typeSet` (the same as `SimulatedPortal.typeCount` and `typeAt`). */
const typeCount = (typeSet: number): number => typeSet & 0xff
const typeAt = (typeSet: number, t: number): number => (typeSet >>> (8 * (t + 1))) & 0xff

/** The same association types, in whatever order (the rows of an association do not tell the order apart). */
const sameTypes = (a: number, b: number): boolean => {
  if (typeCount(a) !== typeCount(b)) return false
  for (let t = 0; t < typeCount(a); t++) {
    let found = false
    for (let u = 0; u < typeCount(b); u++) found ||= typeAt(a, t) === typeAt(b, u)
    if (!found) return false
  }
  return true
}

/** The number of entries below x in ascending `sorted`. */
const countBelow = (sorted: Int32Array, x: number): number => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

const includes = (sorted: Int32Array, x: number): boolean => {
  const i = countBelow(sorted, x)
  return i < sorted.length && sorted[i] === x
}

const noPositions: AssociationPositions = { length: 0, toIndex: new Int32Array(0), typeSet: new Int32Array(0) }

interface Layout {
  readonly size0: number
  readonly ordinary: number
  readonly salt: number
  readonly added: number
}

/** Where the archived objects of a type are: what maps positions of version 0 to those of version 1 and back. */
interface Holes {
  /** The version-0 positions of the archived objects, ascending. */
  readonly archived: Int32Array
  /** The ordinary ids left: the added ones start at this position. */
  readonly liveOrdinary: number
  readonly size: number
}

export const make = (base: Base, changedAt: number): Version => {
  const { seed } = base
  if (!Number.isSafeInteger(changedAt)) throw new RangeError(`changedAt must be epoch millis, got ${changedAt}`)
  const windowStart = changedAt - hour

  const layouts = new Map<string, Layout | undefined>()
  const layoutOf = (type: string): Layout | undefined => {
    if (layouts.has(type)) return layouts.get(type)
    const space = base.space(type)
    const layout = space === undefined ? undefined : {
      size0: space.size,
      ordinary: space.ordinary,
      salt: hashString(seed, `version 1\u0000${type}`),
      added: Math.ceil(space.size / 100)
    }
    layouts.set(type, layout)
    return layout
  }

  const fateOf = (layout: Layout, index: number): number => hash2(layout.salt, index) % fates

  const holesCache = new Map<Layout, Holes>()
  const holesOf = (layout: Layout): Holes => {
    let holes = holesCache.get(layout)
    if (holes === undefined) {
      const found: Array<number> = []
      for (let i = 0; i < layout.size0; i++) if (fateOf(layout, i) < archivedBelow) found.push(i)
      const archived = Int32Array.from(found)
      holes = {
        archived,
        liveOrdinary: layout.ordinary - countBelow(archived, layout.ordinary),
        size: layout.size0 - archived.length + layout.added
      }
      holesCache.set(layout, holes)
    }
    return holes
  }

  /** The version-1 position of a version-0 position that is not archived. */
  const positionOf = (layout: Layout, holes: Holes, index: number): number =>
    index - countBelow(holes.archived, index) + (index >= layout.ordinary ? layout.added : 0)

  /** The q-th version-0 position that is not archived: q plus the archived ones before it. */
  const liveAt = (holes: Holes, q: number): number => {
    // `archived[j] - j` (the live positions before the j-th archived one) is ascending: count those <= q.
    const a = holes.archived
    let lo = 0
    let hi = a.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (a[mid]! - mid <= q) lo = mid + 1
      else hi = mid
    }
    return q + lo
  }

  const idAtPosition = (type: string, layout: Layout, holes: Holes, p: number): string => {
    if (p < holes.liveOrdinary) return base.idAt(type, liveAt(holes, p))
    if (p < holes.liveOrdinary + layout.added) return base.addedIdAt(type, p - holes.liveOrdinary)
    return base.idAt(type, liveAt(holes, p - layout.added))
  }

  /** A version-0 position with its fate (>= 0, not archived), `-2 - m` for the m-th added object, -1 for neither. */
  const locate = (layout: Layout, type: string, id: string): number => {
    const index = base.indexOf(type, id)
    if (index !== undefined) return fateOf(layout, index) < archivedBelow ? -1 : index
    const m = base.addedIndexOf(type, id, layout.added)
    return m === undefined ? -1 : -2 - m
  }

  const idsCache = new Map<string, ReadonlyArray<string>>()
  const ids = (type: string): ReadonlyArray<string> => {
    const cached = idsCache.get(type)
    if (cached !== undefined) return cached
    const layout = layoutOf(type)
    if (layout === undefined) return []
    const out = new Array<string>(holesOf(layout).size)
    let p = 0
    const pushAdded = () => {
      for (let m = 0; m < layout.added; m++) out[p++] = base.addedIdAt(type, m)
    }
    for (let i = 0; i < layout.size0; i++) {
      if (i === layout.ordinary) pushAdded()
      if (fateOf(layout, i) >= archivedBelow) out[p++] = base.idAt(type, i)
    }
    if (layout.ordinary >= layout.size0) pushAdded()
    idsCache.set(type, out)
    return out
  }

  const relabel = (rng: () => number, old: number, poolSize: number): number => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const next = base.drawTypeSet(rng, poolSize)
      if (!sameTypes(next, old)) return next
    }
    // Draws keep the default type most of the time: after 8 alike, the type after the first one, alone.
    return 1 | (((typeAt(old, 0) + 1) % poolSize) << 8)
  }

  /**
   * Edits an object's associations (version-1 positions): 1 to 3 edits, each on an association of its own, so
   * that none undoes another. Removes and relabels touch associations it had, adds pick objects it had not.
   */
  const edit = (
    rng: () => number,
    had: AssociationPositions,
    to: { readonly size: number; readonly addedFrom: number; readonly added: number },
    poolSize: number
  ): AssociationPositions => {
    const n = had.length
    // Per association it had: 0 kept, -1 removed, else its new association types (a packed set is never 0).
    const state = new Int32Array(n)
    let untouched = n
    const addedTo: Array<number> = []
    const addedSets: Array<number> = []
    const edits = 1 + Math.floor(rng() * 3)
    for (let e = 0; e < edits; e++) {
      const r = rng()
      const canAdd = n + addedTo.length < to.size
      if (untouched > 0 && (r < 2 / 3 || !canAdd)) {
        let k = Math.floor(rng() * n)
        while (state[k] !== 0) k = (k + 1) % n
        state[k] = r < 1 / 3 || poolSize < 2 ? -1 : relabel(rng, had.typeSet[k]!, poolSize)
        untouched--
      } else if (canAdd) {
        let p = to.added > 0 && rng() < toAddedShare
          ? to.addedFrom + Math.floor(rng() * to.added)
          : Math.floor(rng() * to.size)
        while (includes(had.toIndex, p) || addedTo.includes(p)) p = (p + 1) % to.size
        let at = addedTo.length
        while (at > 0 && addedTo[at - 1]! > p) at--
        addedTo.splice(at, 0, p)
        addedSets.splice(at, 0, base.drawTypeSet(rng, poolSize))
      }
    }
    let removed = 0
    for (let k = 0; k < n; k++) if (state[k] === -1) removed++
    const length = n - removed + addedTo.length
    const toIndex = new Int32Array(length)
    const typeSet = new Int32Array(length)
    let out = 0
    let a = 0
    for (let k = 0; k <= n; k++) {
      const next = k < n ? had.toIndex[k]! : Infinity
      for (; a < addedTo.length && addedTo[a]! < next; a++, out++) {
        toIndex[out] = addedTo[a]!
        typeSet[out] = addedSets[a]!
      }
      if (k === n || state[k] === -1) continue
      toIndex[out] = next
      typeSet[out] = state[k] === 0 ? had.typeSet[k]! : state[k]!
      out++
    }
    return { length, toIndex, typeSet }
  }

  const associationPositions = (from: string, to: string, id: string): AssociationPositions => {
    const fromLayout = layoutOf(from)
    const toLayout = layoutOf(to)
    if (fromLayout === undefined || toLayout === undefined) return noPositions
    const at = locate(fromLayout, from, id)
    if (at === -1) return noPositions
    const toHoles = holesOf(toLayout)
    const poolSize = base.poolSize(from, to)
    if (at < -1) {
      const rng = mulberry32(hashString(seed, `added\u0000${from}\u0000${to}\u0000${id}`))
      return base.drawPositions(rng, toHoles.size, poolSize)
    }
    const was = base.associationPositions(from, to, id)
    const toIndex = new Int32Array(was.length)
    const typeSet = new Int32Array(was.length)
    let length = 0
    for (let k = 0; k < was.length; k++) {
      const index = was.toIndex[k]!
      if (fateOf(toLayout, index) < archivedBelow) continue
      toIndex[length] = positionOf(toLayout, toHoles, index)
      typeSet[length] = was.typeSet[k]!
      length++
    }
    const had = { length, toIndex: toIndex.subarray(0, length), typeSet: typeSet.subarray(0, length) }
    if (fateOf(fromLayout, at) >= silentBelow) return length === 0 ? noPositions : had
    const rng = mulberry32(hashString(seed, `edited\u0000${from}\u0000${to}\u0000${id}`))
    const target = { size: toHoles.size, addedFrom: toHoles.liveOrdinary, added: toLayout.added }
    return edit(rng, had, target, poolSize)
  }

  const touchedAt = (type: string, id: string): number =>
    windowStart + (hashString(seed, `touched\u0000${type}\u0000${id}`) % hour)

  const addedCreatedAt = (type: string, id: string): number =>
    windowStart + (hashString(seed, `added created\u0000${type}\u0000${id}`) % hour)

  const lastModified = (type: string, id: string): number => {
    const layout = layoutOf(type)
    if (layout === undefined) return base.lastModified(type, id)
    const at = locate(layout, type, id)
    if (at < -1) {
      const created = addedCreatedAt(type, id)
      return created + (hashString(seed, `added modified\u0000${type}\u0000${id}`) % (changedAt - created))
    }
    return at >= 0 && fateOf(layout, at) >= archivedBelow && fateOf(layout, at) < visibleBelow
      ? touchedAt(type, id)
      : base.lastModified(type, id)
  }

  const createdAt = (type: string, id: string): number => {
    const layout = layoutOf(type)
    if (layout === undefined) return base.createdAt(type, id)
    const at = locate(layout, type, id)
    if (at < -1) return addedCreatedAt(type, id)
    // A window before version 0's times (a test's clock at 1970) must not put the creation after the change.
    return Math.min(base.createdAt(type, id), lastModified(type, id))
  }

  const changeOf = (type: string, id: string): Change | undefined => {
    const layout = layoutOf(type)
    if (layout === undefined) return undefined
    const index = base.indexOf(type, id)
    if (index === undefined) return base.addedIndexOf(type, id, layout.added) === undefined ? undefined : "added"
    const fate = fateOf(layout, index)
    return fate < archivedBelow
      ? "archived"
      : fate < visibleBelow
      ? "changedVisibly"
      : fate < silentBelow
      ? "changedSilently"
      : undefined
  }

  const changesCache = new Map<string, Changes>()
  const changes = (type: string): Changes => {
    const cached = changesCache.get(type)
    if (cached !== undefined) return cached
    const layout = layoutOf(type)
    const archived: Array<string> = []
    const changedVisibly: Array<string> = []
    const changedSilently: Array<string> = []
    const added: Array<string> = []
    if (layout !== undefined) {
      for (let i = 0; i < layout.size0; i++) {
        const fate = fateOf(layout, i)
        if (fate < archivedBelow) archived.push(base.idAt(type, i))
        else if (fate < visibleBelow) changedVisibly.push(base.idAt(type, i))
        else if (fate < silentBelow) changedSilently.push(base.idAt(type, i))
      }
      for (let m = 0; m < layout.added; m++) added.push(base.addedIdAt(type, m))
    }
    const result: Changes = { archived, added, changedVisibly, changedSilently }
    changesCache.set(type, result)
    return result
  }

  return {
    ids,
    size: (type) => {
      const layout = layoutOf(type)
      return layout === undefined ? 0 : holesOf(layout).size
    },
    idAt: (type, index) => {
      const layout = layoutOf(type)
      if (layout === undefined || !Number.isInteger(index) || index < 0) return undefined
      const holes = holesOf(layout)
      return index < holes.size ? idAtPosition(type, layout, holes, index) : undefined
    },
    has: (type, id) => {
      const layout = layoutOf(type)
      return layout !== undefined && locate(layout, type, id) !== -1
    },
    associationPositions,
    lastModified,
    createdAt,
    changeOf,
    changes
  }
}
