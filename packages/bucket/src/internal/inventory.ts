/**
 * What a prefix holds, read from its listing: the datasets (a key prefix
 * holding `.checkpoint.json`; "" for the root itself), which of them are
 * finished (`_SUCCESS` beside it), the segments of each log, the keys a
 * restore deletes (uncommitted-looking leftovers of this tool), and the keys
 * that are another's.
 *
 * Without a checkpoint a prefix may hold only what a run of this tool leaves
 * before its first remote checkpoint: the lease, logs, id journals
 * (`.listed-*`), and parts beside a `.staged` marker. Anything else is
 * another's, and the prefix is refused before anything is written to it.
 */
import { Dataset } from "@assoc-etl/core"
import type { ObjectInfo } from "../Bucket.js"
import { isIdJournal, isPartName, leaseName, logsDirectory, parseSegment, stagedName } from "./layout.js"

export interface Segment {
  readonly offset: number
  readonly size: number
  readonly key: string
}

export interface Inventory {
  /** Relative paths of the datasets with a checkpoint. */
  readonly datasets: ReadonlySet<string>
  /** Those of them with `_SUCCESS`. */
  readonly finished: ReadonlySet<string>
  /** Every key, relative to the root's prefix, with its size. */
  readonly objects: ReadonlyMap<string, number>
  /** The segments of each log, by offset. */
  readonly logs: ReadonlyMap<string, ReadonlyArray<Segment>>
  /** Committed-looking part keys of each dataset (relative to the dataset), checkpointed or staged. */
  readonly parts: ReadonlyMap<string, ReadonlyArray<string>>
  /** Keys a restore deletes whatever the checkpoints say: `.staged` markers, their datasets' parts, stray log keys. */
  readonly leftovers: ReadonlyArray<string>
  /** Id journals uploaded whole (`.listed-*` outside `.logs/`), relative to the root. */
  readonly idJournals: ReadonlyArray<string>
  /** Keys that are not this tool's, relative to the root. */
  readonly foreign: ReadonlyArray<string>
}

const dirname = (name: string) => name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : ""
const basename = (name: string) => name.slice(name.lastIndexOf("/") + 1)

/** The dataset among `owners` whose prefix holds `relative` most closely; undefined when none does. */
export const ownerOf = (owners: Iterable<string>, relative: string): string | undefined => {
  let best: string | undefined
  for (const rel of owners) {
    if (rel === "" || relative.startsWith(`${rel}/`)) {
      if (best === undefined || rel.length > best.length) best = rel
    }
  }
  return best
}

/** Within dataset `rel`: the key's name relative to the dataset. */
export const nameIn = (rel: string, relative: string) => rel === "" ? relative : relative.slice(rel.length + 1)

export const make = (prefix: string, listing: ReadonlyArray<ObjectInfo>): Inventory => {
  const objects = new Map<string, number>()
  for (const o of listing) if (o.key.startsWith(prefix)) objects.set(o.key.slice(prefix.length), o.size)
  const datasets = new Set<string>()
  const staged = new Set<string>()
  for (const k of objects.keys()) {
    if (k.startsWith(logsDirectory)) continue
    if (basename(k) === Dataset.checkpointName) datasets.add(dirname(k))
    if (basename(k) === stagedName) staged.add(dirname(k))
  }
  const finished = new Set(
    [...datasets].filter((rel) => objects.has(rel === "" ? Dataset.successName : `${rel}/${Dataset.successName}`))
  )
  const owners = new Set([...datasets, ...staged])
  const logs = new Map<string, Array<Segment>>()
  const parts = new Map<string, Array<string>>()
  const leftovers: Array<string> = []
  const idJournals: Array<string> = []
  const foreign: Array<string> = []
  for (const [k, size] of objects) {
    if (k === leaseName) continue
    if (k.startsWith(logsDirectory)) {
      const segment = parseSegment(k)
      if (segment === undefined) {
        leftovers.push(k)
        continue
      }
      const list = logs.get(segment.name) ?? []
      list.push({ offset: segment.offset, size, key: `${prefix}${k}` })
      logs.set(segment.name, list)
      continue
    }
    const owner = ownerOf(owners, k)
    const name = owner === undefined ? k : nameIn(owner, k)
    if (owner !== undefined && isPartName(name)) {
      parts.set(owner, [...(parts.get(owner) ?? []), name])
      if (!datasets.has(owner)) leftovers.push(k)
      continue
    }
    if (owner !== undefined && name === stagedName) {
      leftovers.push(k)
      continue
    }
    if (isIdJournal(k)) {
      idJournals.push(k)
      continue
    }
    if (owner !== undefined && datasets.has(owner)) continue
    foreign.push(k)
  }
  for (const list of logs.values()) list.sort((a, b) => a.offset - b.offset)
  return { datasets, finished, objects, logs, parts, leftovers, idJournals, foreign: foreign.sort() }
}

/** The keys of `foreign` as the `NotEmpty` refusal names them: three, and how many more. */
export const describeForeign = (foreign: ReadonlyArray<string>): string => {
  const more = foreign.length > 3 ? ` and ${foreign.length - 3} more` : ""
  return foreign.slice(0, 3).join(", ") + more
}
