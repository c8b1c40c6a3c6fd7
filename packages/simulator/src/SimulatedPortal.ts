/**
 * The simulated portal: object ids per type and the associations between
 * them, all derived from a seed. Nothing is stored per object: the ids of a
 * type follow a formula (so membership is O(1) without a table), and the
 * associations of one object are drawn on demand from a PRNG keyed by
 * (seed, from type, to type, id). A portal of 1,000,000 objects a type costs
 * nothing until asked; `ids(type)` materializes (and caches) one type's ids.
 *
 * A portal is of one version of its data (`version`, for snapshot diffs and chained runs). Version 0 is the draw
 * above. Version 1 is version 0 edited, deterministically from the seed (`internal/versions.ts`): about 1% of
 * each type's objects archived (and the associations to them gone), about 1% added, about 2% with their
 * associations edited, half of those with a `lastModified` moved into the change window `[changedAt - 1 hour,
 * changedAt)`, half silently; every other object and association is version 0's. `changes` and `changeOf` tell
 * which objects are which.
 */
import type { AssociationRow, ObjectId } from "@assoc-etl/core"
import type { AssociationsApi } from "@assoc-etl/hubspot"
import * as IndexSet from "./internal/indexSet.js"
import { hash2, hashString, mulberry32 } from "./internal/prng.js"
import * as Versions from "./internal/versions.js"

export type AssociatedObject = AssociationsApi.AssociatedObject
export type AssociationType = AssociationsApi.AssociationType

/**
 * The associations of one object as positions. The k-th associated object is `ids(to)[toIndex[k]]` (ascending
 * in k). Its association types are `typeSet[k]`, packed: the count (1 to 3) in the low byte, then the position
 * of each in `associationTypes(from, to)`, a byte each (see `typeCount`, `typeAt`). Equal sets, equal numbers.
 */
export interface AssociationPositions {
  readonly length: number
  readonly toIndex: Int32Array
  readonly typeSet: Int32Array
}

/** The number of association types in a packed `typeSet` entry. */
export const typeCount = (typeSet: number): number => typeSet & 0xff

/** The position in `associationTypes(from, to)` of the t-th association type (t < `typeCount`) of a packed entry. */
export const typeAt = (typeSet: number, t: number): number => (typeSet >>> (8 * (t + 1))) & 0xff

const noPositions: AssociationPositions = { length: 0, toIndex: new Int32Array(0), typeSet: new Int32Array(0) }

const noChanges: Changes = { archived: [], added: [], changedVisibly: [], changedSilently: [] }

/** Sorts ascending: by insertion while short (most objects have a few associations), else the built-in sort. */
const sortIndices = (a: Int32Array): void => {
  if (a.length > 32) {
    a.sort()
    return
  }
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!
    let j = i - 1
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!
      j--
    }
    a[j + 1] = x
  }
}

/**
 * How many associations an object has, for each pair:
 * - `"typical"`: about 15% none, most 1-5, a few hundreds, about 0.5% over 1000 (up to 2500).
 * - `"heavyTail"`: 2% of objects have 1000 to 3000 (uniform), the others are drawn as `"typical"`.
 * - `"heavy"`: every object has 480 to 600 (uniform), as the companies of a big B2B account have contacts: an
 *   answer of 1000 ids is ~500,000 associations (~750,000 rows, ~70 MB), and most ids have a short second page.
 *
 * A count is capped at the number of objects of the `to` type.
 */
export type PortalShape = "typical" | "heavyTail" | "heavy"

export interface SimulatedPortalOptions {
  readonly seed: number
  readonly objects: number
  readonly types: ReadonlyArray<string>
  /** Default "typical". */
  readonly shape?: PortalShape
  /**
   * Some association types of every pair in category `WORK`, which HubSpot's spec allows: the USER_DEFINED labels
   * at odd places of `associationTypes`. Only their category changes: every association is the same. Default false.
   */
  readonly workCategory?: boolean
  /** The version of the data: 0 (the default) or 1, version 0 edited (see the header). Any other is a defect. */
  readonly version?: number
  /**
   * Epoch millis: version 1's changes are dated in `[changedAt - 1 hour, changedAt)`. Default: when `make` is
   * called (the simulator passes its `Clock`'s time). Version 0 ignores it.
   */
  readonly changedAt?: number
}

/**
 * What version 1 did to an object of a type, against version 0:
 * - `"archived"`: gone (not in `ids`, `has` false), and the associations to it too;
 * - `"added"`: new, created and modified in the change window, with associations of its own;
 * - `"changedVisibly"`: its associations edited in every pair from its type (some added, some removed, some
 *   relabelled: the same object, other association types), `lastModified` in the change window;
 * - `"changedSilently"`: the same edits, `lastModified` as in version 0 (a modified-since export misses them).
 * An object that only lost associations to archived objects is none of these.
 */
export type Change = "archived" | "added" | "changedVisibly" | "changedSilently"

/** The ids of a type by `Change`, each ascending; all empty at version 0. */
export interface Changes {
  readonly archived: ReadonlyArray<string>
  readonly added: ReadonlyArray<string>
  readonly changedVisibly: ReadonlyArray<string>
  readonly changedSilently: ReadonlyArray<string>
}

export interface SimulatedPortal {
  readonly seed: number
  readonly shape: PortalShape
  readonly types: ReadonlyArray<string>
  /** The version of the data (0 or 1). */
  readonly version: number
  /** The end of the change window of version 1 (epoch millis); undefined at version 0. */
  readonly changedAt: number | undefined
  /** The object ids of a type, ascending as BigInt (empty for an unknown type). Cached after the first call. */
  readonly ids: (type: string) => ReadonlyArray<string>
  /** The number of objects of a type (0 for an unknown type), without materializing the ids. */
  readonly size: (type: string) => number
  /** The id at a position of `ids(type)` (0-based), without materializing the ids; undefined out of range. */
  readonly idAt: (type: string, index: number) => string | undefined
  /** True when `id` is an object of `type`. O(1). */
  readonly has: (type: string, id: string) => boolean
  /** The associated objects of `id`, in page order (ascending to-object id); empty for an unknown id or type. */
  readonly associations: (from: string, to: string, id: string) => ReadonlyArray<AssociatedObject>
  /**
   * The same associations as `associations`, as positions, without an object or a string per association: for
   * a writer of many answers (the simulator's batch read).
   */
  readonly associationPositions: (from: string, to: string, id: string) => AssociationPositions
  /** The association types of a pair, the same objects every call; `AssociationPositions.typeSet` points into it. */
  readonly associationTypes: (from: string, to: string) => ReadonlyArray<AssociationType>
  /**
   * Every association type defined for a pair, as its labels catalogue lists them: `associationTypes`, then
   * types that no association uses (a USER_DEFINED "Former employee", an INTEGRATOR_DEFINED "Synced partner"),
   * with typeIds of their own. Empty for an unknown type.
   */
  readonly definedTypes: (from: string, to: string) => ReadonlyArray<AssociationType>
  /** Epoch millis of the object's last modification (whole hours of 2025), for search. */
  readonly lastModified: (type: string, id: string) => number
  /** Epoch millis of the object's creation, before `lastModified`. */
  readonly createdAt: (type: string, id: string) => number
  /** What this version did to an object (an id of version 0, or an added one), against version 0. O(1). */
  readonly changeOf: (type: string, id: string) => Change | undefined
  /** The ids of a type that this version archived, added or edited, against version 0. Cached. */
  readonly changes: (type: string) => Changes
}

/** Ordinary ids of one type are `base + i * stride + jitter(i)` with `jitter < stride`: ascending, invertible. */
const stride = 97
/** About one id in a hundred is beyond 2^53: `2^60 + typeIndex * 2^40 + j * 1000 + jitter(j)`. */
const bigBase = 2n ** 60n
const bigTypeStep = 2n ** 40n
const bigStride = 1000
const typeBaseStep = 100_000_000

const yearStart = Date.UTC(2025, 0, 1)
const hour = 3_600_000
const hoursInYear = 365 * 24

/**
 * Labels chosen to break naive writers: quotes, commas, newlines, tabs,
 * backslashes, accents, CJK and an emoji beyond the BMP.
 */
const userLabels: ReadonlyArray<string> = [
  "Decision maker",
  "Billing, \"main\" contact",
  "Line one\nLine two",
  "Café ☕ – 日本語 👍",
  "Tab\there \\ backslash",
  "Reseller"
]

/**
 * Labels defined for every pair that no association uses: apart from `associationTypes`, whose size the draws of
 * the associations read, so that defining them changes no association.
 */
const unusedLabels: ReadonlyArray<Omit<AssociationType, "typeId"> & { readonly typeIdOffset: number }> = [
  { category: "USER_DEFINED", typeIdOffset: 1000 + userLabels.length, label: "Former employee" },
  { category: "INTEGRATOR_DEFINED", typeIdOffset: 2000, label: "Synced partner" }
]

interface TypeSpace {
  readonly name: string
  readonly index: number
  readonly size: number
  readonly ordinary: number
  readonly big: number
  readonly base: number
  readonly salt: number
}

const compareIds = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)

/** Compares two ids of digits (no leading zeros) as numbers. */
export const compareObjectIds = compareIds

export const make = (options: SimulatedPortalOptions): SimulatedPortal => {
  const seed = options.seed | 0
  const objects = Math.max(0, Math.floor(options.objects))
  const spaces = new Map<string, TypeSpace>()
  options.types.forEach((name, index) => {
    const big = objects === 0 ? 0 : Math.min(objects, Math.max(1, Math.floor(objects / 100)))
    spaces.set(name, {
      name,
      index,
      size: objects,
      ordinary: objects - big,
      big,
      base: 1000 + index * typeBaseStep,
      salt: hashString(seed, `ids\u0000${name}`)
    })
  })

  const ordinaryAt = (s: TypeSpace, i: number): number => s.base + i * stride + (hash2(s.salt, i) % stride)
  const bigAt = (s: TypeSpace, j: number): bigint =>
    bigBase + BigInt(s.index) * bigTypeStep + BigInt(j * bigStride + (hash2(s.salt ^ 0x5bd1e995, j) % bigStride))
  const idAt = (s: TypeSpace, i: number): string =>
    i < s.ordinary ? String(ordinaryAt(s, i)) : bigAt(s, i - s.ordinary).toString()
  // The objects a version adds take the slots after the ordinary ones, with a jitter of their own: above every
  // ordinary id of version 0, below the big ones, unknown to version 0.
  const addedAt = (s: TypeSpace, m: number): number =>
    s.base + (s.ordinary + m) * stride + (hash2(s.salt ^ 0x27d4eb2f, m) % stride)

  const digits = /^[0-9]{1,32}$/
  const indexOf = (s: TypeSpace, id: string): number | undefined => {
    if (!digits.test(id) || (id.length > 1 && id.charCodeAt(0) === 48)) return undefined
    if (id.length <= 15) {
      const n = Number(id)
      const i = Math.floor((n - s.base) / stride)
      return i >= 0 && i < s.ordinary && ordinaryAt(s, i) === n ? i : undefined
    }
    const b = BigInt(id)
    const offset = b - bigBase - BigInt(s.index) * bigTypeStep
    if (offset < 0n) return undefined
    const j = Number(offset / BigInt(bigStride))
    return j < s.big && bigAt(s, j) === b ? s.ordinary + j : undefined
  }

  const idCache = new Map<string, ReadonlyArray<string>>()
  const ids = (type: string): ReadonlyArray<string> => {
    const cached = idCache.get(type)
    if (cached !== undefined) return cached
    const s = spaces.get(type)
    if (s === undefined) return []
    const out = new Array<string>(s.size)
    for (let i = 0; i < s.size; i++) out[i] = idAt(s, i)
    idCache.set(type, out)
    return out
  }

  // The association types of a pair: a default HUBSPOT_DEFINED type without a label, HubSpot's "Primary",
  // and USER_DEFINED labels (or WORK ones, with `workCategory`). Distinct typeIds; the objects are shared by every
  // association of the pair.
  const work = options.workCategory === true
  const typeBaseOf = (key: string): number => 1 + (hashString(seed, `pool\u0000${key}`) % 400) * 2
  const poolCache = new Map<string, ReadonlyArray<AssociationType>>()
  const poolOf = (from: string, to: string): ReadonlyArray<AssociationType> => {
    const key = `${from}\u0000${to}`
    const cached = poolCache.get(key)
    if (cached !== undefined) return cached
    const base = typeBaseOf(key)
    const pool: Array<AssociationType> = [
      { category: "HUBSPOT_DEFINED", typeId: base, label: null },
      { category: "HUBSPOT_DEFINED", typeId: base + 1, label: "Primary" },
      ...userLabels.map((label, k) => ({
        category: work && k % 2 === 1 ? "WORK" : "USER_DEFINED",
        typeId: 1000 + base + k,
        label
      }))
    ]
    poolCache.set(key, pool)
    return pool
  }

  const definedCache = new Map<string, ReadonlyArray<AssociationType>>()
  const definedOf = (from: string, to: string): ReadonlyArray<AssociationType> => {
    const key = `${from}\u0000${to}`
    const cached = definedCache.get(key)
    if (cached !== undefined) return cached
    const base = typeBaseOf(key)
    const defined = [
      ...poolOf(from, to),
      ...unusedLabels.map((u) => ({ category: u.category, typeId: base + u.typeIdOffset, label: u.label }))
    ]
    definedCache.set(key, defined)
    return defined
  }

  /** `"typical"`: ~15% none, most 1-5, a few hundreds, about 0.5% over 1000. Pinned: see the tests. */
  const drawTypical = (rng: () => number): number => {
    const r = rng()
    if (r < 0.15) return 0
    if (r < 0.85) return 1 + Math.floor(rng() * 5)
    if (r < 0.96) return 6 + Math.floor(rng() * 45)
    if (r < 0.99) return 51 + Math.floor(rng() * 450)
    if (r < 0.995) return 501 + Math.floor(rng() * 499)
    return 1001 + Math.floor(rng() * 1500)
  }

  /** `"heavyTail"`: 2% draw 1000-3000, the others `drawTypical` (its first draw is a fresh one). */
  const drawHeavyTail = (rng: () => number): number =>
    rng() < 0.02 ? 1000 + Math.floor(rng() * 2001) : drawTypical(rng)

  /** `"heavy"`: 480-600, uniform. */
  const drawHeavy = (rng: () => number): number => 480 + Math.floor(rng() * 121)

  const shape: PortalShape = options.shape ?? "typical"
  const drawCount = shape === "heavyTail" ? drawHeavyTail : shape === "heavy" ? drawHeavy : drawTypical

  /** The association types of one association, packed (see `AssociationPositions`): 1 to 3 of a pool. */
  const drawTypeSet = (rng: () => number, poolSize: number): number => {
    const r = rng()
    const n = r < 0.6 ? 1 : r < 0.9 ? 2 : 3
    const first = rng() < 0.85 ? 0 : 1 + Math.floor(rng() * (poolSize - 1))
    let second = -1
    let set = n | (first << 8)
    for (let picked = 1; picked < n;) {
      const c = 1 + Math.floor(rng() * (poolSize - 1))
      if (c !== first && c !== second) {
        set |= c << (8 * ++picked)
        second = c
      }
    }
    return set
  }

  /** The associations of one object, drawn from `rng`: a count, that many distinct positions below `toSize`, types. */
  const drawPositions = (rng: () => number, toSize: number, poolSize: number): AssociationPositions => {
    const count = Math.min(drawCount(rng), toSize)
    if (count === 0) return noPositions
    // Floyd's algorithm: `count` distinct indices of the `to` type in O(count).
    const toIndex = new Int32Array(count)
    const chosen = IndexSet.make(count)
    for (let j = toSize - count, k = 0; j < toSize; j++, k++) {
      const t = Math.floor(rng() * (j + 1))
      const c = chosen.has(t) ? j : t
      chosen.add(c)
      toIndex[k] = c
    }
    sortIndices(toIndex)
    const typeSet = new Int32Array(count)
    for (let k = 0; k < count; k++) typeSet[k] = drawTypeSet(rng, poolSize)
    return { length: count, toIndex, typeSet }
  }

  const associationPositions = (from: string, to: string, id: string): AssociationPositions => {
    const fromSpace = spaces.get(from)
    const toSpace = spaces.get(to)
    if (fromSpace === undefined || toSpace === undefined || indexOf(fromSpace, id) === undefined) return noPositions
    const rng = mulberry32(hashString(seed, `assoc\u0000${from}\u0000${to}\u0000${id}`))
    return drawPositions(rng, toSpace.size, poolOf(from, to).length)
  }

  const lastModified = (type: string, id: string): number =>
    yearStart + (hashString(seed, `modified\u0000${type}\u0000${id}`) % hoursInYear) * hour

  const createdAt = (type: string, id: string): number =>
    lastModified(type, id) - (hashString(seed, `created\u0000${type}\u0000${id}`) % (400 * 24)) * hour

  const version = options.version ?? 0
  if (version !== 0 && version !== 1) throw new RangeError(`SimulatedPortal: no version ${version}, only 0 and 1`)
  const original: Versions.Version = {
    ids,
    size: (type) => spaces.get(type)?.size ?? 0,
    idAt: (type, index) => {
      const s = spaces.get(type)
      return s === undefined || !Number.isInteger(index) || index < 0 || index >= s.size ? undefined : idAt(s, index)
    },
    has: (type, id) => {
      const s = spaces.get(type)
      return s !== undefined && indexOf(s, id) !== undefined
    },
    associationPositions,
    lastModified,
    createdAt,
    changeOf: () => undefined,
    changes: () => noChanges
  }
  const base: Versions.Base = {
    seed,
    space: (type) => spaces.get(type),
    indexOf: (type, id) => {
      const s = spaces.get(type)
      return s === undefined ? undefined : indexOf(s, id)
    },
    idAt: (type, index) => idAt(spaces.get(type)!, index),
    addedIdAt: (type, m) => String(addedAt(spaces.get(type)!, m)),
    addedIndexOf: (type, id, count) => {
      const s = spaces.get(type)
      if (s === undefined || !digits.test(id) || id.length > 15 || (id.length > 1 && id.charCodeAt(0) === 48)) {
        return undefined
      }
      const n = Number(id)
      const m = Math.floor((n - s.base) / stride) - s.ordinary
      return m >= 0 && m < count && addedAt(s, m) === n ? m : undefined
    },
    associationPositions,
    drawPositions,
    drawTypeSet,
    poolSize: (from, to) => poolOf(from, to).length,
    lastModified,
    createdAt
  }
  const changedAt = version === 0 ? undefined : options.changedAt ?? Date.now()
  const current = changedAt === undefined ? original : Versions.make(base, changedAt)

  const associations = (from: string, to: string, id: string): ReadonlyArray<AssociatedObject> => {
    const positions = current.associationPositions(from, to, id)
    if (positions.length === 0) return []
    const pool = poolOf(from, to)
    const toSpace = spaces.get(to)!
    const idOf = current === original ? (i: number) => idAt(toSpace, i) : (i: number) => current.idAt(to, i)!
    const out = new Array<AssociatedObject>(positions.length)
    for (let k = 0; k < positions.length; k++) {
      const set = positions.typeSet[k]!
      const associationTypes = new Array<AssociationType>(typeCount(set))
      for (let t = 0; t < associationTypes.length; t++) associationTypes[t] = pool[typeAt(set, t)]!
      out[k] = { toObjectId: idOf(positions.toIndex[k]!) as ObjectId.ObjectId, associationTypes }
    }
    return out
  }

  return {
    seed,
    shape,
    types: [...options.types],
    version,
    changedAt,
    ids: current.ids,
    size: current.size,
    idAt: current.idAt,
    has: current.has,
    associations,
    associationPositions: current.associationPositions,
    associationTypes: (from, to) => (spaces.has(from) && spaces.has(to) ? poolOf(from, to) : []),
    definedTypes: (from, to) => (spaces.has(from) && spaces.has(to) ? definedOf(from, to) : []),
    lastModified: current.lastModified,
    createdAt: current.createdAt,
    changeOf: current.changeOf,
    changes: current.changes
  }
}

export interface GroundTruth {
  readonly rows: ReadonlyArray<AssociationRow.AssociationRow>
  readonly unknownIds: ReadonlyArray<string>
}

/**
 * The exact rows an export of `ids` (default: every id of `from`) from the portal's version must hold,
 * in canonical order (input order without repeats, then page order, then
 * association type order), and the ids the API refuses as unknown.
 */
export const groundTruth = (portal: SimulatedPortal, from: string, to: string, ids?: ReadonlyArray<string>): GroundTruth => {
  const rows: Array<AssociationRow.AssociationRow> = []
  const unknownIds: Array<string> = []
  const seen = new Set<string>()
  for (const id of ids ?? portal.ids(from)) {
    if (seen.has(id)) continue
    seen.add(id)
    if (!portal.has(from, id)) {
      unknownIds.push(id)
      continue
    }
    for (const assoc of portal.associations(from, to, id)) {
      for (const t of assoc.associationTypes) {
        rows.push({
          from_object_type: from,
          from_object_id: id,
          to_object_type: to,
          to_object_id: assoc.toObjectId,
          association_category: t.category,
          association_type_id: t.typeId,
          association_label: t.label
        })
      }
    }
  }
  return { rows, unknownIds }
}
