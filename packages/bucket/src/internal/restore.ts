/**
 * Rebuilds a staging directory from the bucket, after the lease is taken,
 * and makes the bucket agree with its checkpoints again:
 *
 * - a finished dataset: its checkpoint, manifest.json and `_SUCCESS` come
 *   down (the core sink then reports it finished); its leftover logs go;
 * - a dataset with a checkpoint: the checkpoint comes down, with the open
 *   part's journal cut to the committed length and errors.ndjson cut to its
 *   committed length (and the committed parts with `keepParts`); the logs of
 *   other parts, bytes of a log past what is restored, and part keys the
 *   checkpoint does not list are deleted;
 * - id journals: their whole chain, cut at the last newline (a torn line
 *   never went on); one uploaded whole (after a finish) and no longer logged
 *   comes down as it is;
 * - logs of parts and errors of a dataset without a checkpoint are deleted.
 *
 * A log is read as a chain: segments from offset 0, each starting where the
 * one before ended; a segment off the chain is deleted. When the cut falls
 * inside a segment, that segment is written again, cut, so that after a
 * restore every log's segments form exactly one chain `[0, restored)` and
 * later commits only extend it. Every step can be repeated: a crash during a
 * restore is restored again by the next run.
 */
import { Dataset } from "@assoc-etl/core"
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Schema } from "effect"
import type { Service } from "../Bucket.js"
import { BucketError } from "../BucketError.js"
import { type BucketUrl, formatKey } from "../BucketUrl.js"
import * as Inventory from "./inventory.js"
import { datasetPrefix, inDataset, logKind } from "./layout.js"
import type { LogState } from "./mirror.js"

export interface RestoredDataset {
  readonly checkpoint: Dataset.CheckpointFile
  readonly finished: boolean
}

export interface Restored {
  readonly datasets: ReadonlyMap<string, RestoredDataset>
  readonly logs: ReadonlyMap<string, LogState>
}

const decodeCheckpoint = Schema.decodeUnknown(Schema.parseJson(Dataset.CheckpointFile))

export interface RestoreOptions {
  readonly bucket: Service
  readonly url: BucketUrl
  /** The staging root, empty. */
  readonly root: string
  readonly keepParts: boolean
}

/** A local file operation of the staging failed. */
export const localFailure = (url: string, file: string) => (e: PlatformError) =>
  new BucketError({ reason: "Io", url, detail: `the staging file ${file} failed: ${e.message}` })

/** Refuses a prefix that holds another's objects, before anything (the lease included) is written to it. */
export const refuseForeign = (inventory: Inventory.Inventory, url: string) =>
  inventory.foreign.length === 0
    ? Effect.void
    : Effect.fail(new BucketError({ reason: "NotEmpty", url, detail: Inventory.describeForeign(inventory.foreign) }))

/** Bytes read at a time from the end of a journal, looking for its last newline. */
const tailChunk = 64 * 1024

/** Where the last whole line of the first `size` bytes of `file` ends (0 when none does), reading from the end. */
const lineEnd = (file: string, size: number) =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(file, { flag: "r" })
    const buffer = new Uint8Array(tailChunk)
    let end = size
    while (end > 0) {
      const start = Math.max(0, end - tailChunk)
      const chunk = buffer.subarray(0, end - start)
      yield* handle.seek(start, "start")
      let filled = 0
      while (filled < chunk.length) {
        const n = Number(yield* handle.read(chunk.subarray(filled)))
        if (n === 0) return 0
        filled += n
      }
      const newline = chunk.lastIndexOf(0x0a)
      if (newline >= 0) return start + newline + 1
      end = start
    }
    return 0
  }))

export const restore = (
  options: RestoreOptions
): Effect.Effect<Restored, BucketError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { bucket, url, root } = options
    const bucketName = url.bucket
    const prefix = url.prefix
    const endpoint = bucket.endpoint === undefined ? {} : { endpoint: bucket.endpoint }
    const keyUrl = (relative: string) => formatKey(bucketName, `${prefix}${relative}`)
    const corrupt = (relative: string, detail: string) =>
      new BucketError({ reason: "Corrupt", url: keyUrl(relative), detail, ...endpoint })
    const localFile = (relative: string) => path.join(root, ...relative.split("/"))
    const local = <A>(relative: string, effect: Effect.Effect<A, PlatformError, FileSystem.FileSystem>) =>
      Effect.mapError(effect, localFailure(keyUrl(relative), localFile(relative)))
    const makeParent = (relative: string) =>
      local(relative, fs.makeDirectory(path.dirname(localFile(relative)), { recursive: true }))
    const downloadWhole = (relative: string) =>
      Effect.zipRight(makeParent(relative), bucket.download(bucketName, `${prefix}${relative}`, localFile(relative)))

    const inventory = Inventory.make(prefix, yield* bucket.list(bucketName, prefix))
    yield* refuseForeign(inventory, keyUrl(""))
    const deletions: Array<string> = inventory.leftovers.map((k) => `${prefix}${k}`)

    // The datasets: checkpoint first, then what a finished one shows, then (`keepParts`) the committed parts.
    const datasets = new Map<string, RestoredDataset>()
    for (const rel of inventory.datasets) {
      const at = (name: string) => inDataset(rel, name)
      const checkpointKey = at(Dataset.checkpointName)
      yield* downloadWhole(checkpointKey)
      const text = yield* local(checkpointKey, fs.readFileString(localFile(checkpointKey)))
      const checkpoint = yield* decodeCheckpoint(text).pipe(
        Effect.mapError((e) =>
          corrupt(checkpointKey, `the checkpoint cannot be read (${e.message}): remove the prefix to start over`)
        )
      )
      const finished = inventory.finished.has(rel)
      if (finished) {
        if (!inventory.objects.has(at(Dataset.manifestName))) {
          return yield* corrupt(at(Dataset.manifestName), "a finished export (_SUCCESS) without its manifest.json")
        }
        yield* downloadWhole(at(Dataset.manifestName))
        yield* downloadWhole(at(Dataset.successName))
      }
      const committed = new Set(checkpoint.dataset.parts.map((p) => p.name))
      for (const name of inventory.parts.get(rel) ?? []) {
        if (!committed.has(name)) deletions.push(`${prefix}${at(name)}`)
      }
      if (options.keepParts) {
        for (const p of checkpoint.dataset.parts) {
          const size = inventory.objects.get(at(p.name))
          if (size !== p.bytes) {
            return yield* corrupt(
              at(p.name),
              `the committed part ${p.name} (${p.rows} rows, ${p.bytes} bytes) is ${
                size === undefined ? "missing" : `${size} bytes`
              }: remove the prefix to export again`
            )
          }
          yield* downloadWhole(at(p.name))
        }
      }
      datasets.set(rel, { checkpoint, finished })
    }

    /** Restores the chain of `name` up to `length` (or, for `"line"`, up to its last newline); gives its state. */
    const restoreLog = (name: string, segments: ReadonlyArray<Inventory.Segment>, length: number | "line") =>
      Effect.gen(function*() {
        const chain: Array<Inventory.Segment> = []
        let end = 0
        for (const s of segments) {
          if (s.offset === end && s.size > 0) {
            chain.push(s)
            end += s.size
          } else {
            deletions.push(s.key)
          }
        }
        const wanted = length === "line" ? end : length
        if (end < wanted) {
          return yield* corrupt(
            `.logs/${name}`,
            `the bucket holds ${end} bytes of ${name}, fewer than the ${wanted} its checkpoint committed: the prefix `
              + "was changed by another; remove it to start over"
          )
        }
        const file = localFile(name)
        yield* makeParent(name)
        yield* local(name, fs.writeFile(file, new Uint8Array()))
        for (const s of chain) {
          if (s.offset >= wanted) break
          const bytes = Math.min(s.size, wanted - s.offset)
          yield* bucket.download(bucketName, s.key, file, { append: true, ...(bytes < s.size ? { bytes } : {}) })
        }
        let cut = wanted
        if (length === "line" && wanted > 0) {
          cut = yield* local(name, lineEnd(file, wanted))
          if (cut < wanted) yield* local(name, fs.truncate(file, cut))
        }
        const kept: Array<number> = []
        for (const s of chain) {
          if (s.offset >= cut) {
            deletions.push(s.key)
          } else {
            kept.push(s.offset)
            if (s.offset + s.size > cut) yield* bucket.upload(bucketName, s.key, file, { start: s.offset, end: cut })
          }
        }
        return { uploaded: cut, offsets: kept } satisfies LogState
      })

    const logs = new Map<string, LogState>()
    for (const [name, segments] of inventory.logs) {
      const kind = logKind(name)
      const dataset = kind.kind === "errors" || kind.kind === "journal" ? datasets.get(kind.rel) : undefined
      const live = dataset !== undefined && !dataset.finished ? dataset.checkpoint.dataset : undefined
      let length: number | "line" | undefined
      if (kind.kind === "ids") length = "line"
      else if (kind.kind === "errors" && live !== undefined) length = live.errors.bytes
      else if (kind.kind === "journal" && live !== undefined && kind.index === live.open.index) {
        length = live.open.journalBytes
      }
      if (length === undefined) {
        for (const s of segments) deletions.push(s.key)
        continue
      }
      logs.set(name, yield* restoreLog(name, segments, length))
    }

    // A committed length with no log behind it: the bucket lost what a checkpoint counts on.
    for (const [rel, dataset] of datasets) {
      if (dataset.finished) continue
      const state = dataset.checkpoint.dataset
      if (state.errors.bytes > 0 && !logs.has(inDataset(rel, Dataset.errorsName))) {
        return yield* corrupt(
          `.logs/${inDataset(rel, Dataset.errorsName)}`,
          `errors.ndjson is missing but the checkpoint committed ${state.errors.bytes} bytes of it: remove the prefix `
            + "to start over"
        )
      }
      if (state.open.journalBytes > 0) {
        const journal = [...logs.keys()].find((name) => {
          const kind = logKind(name)
          return kind.kind === "journal" && kind.rel === rel && kind.index === state.open.index
        })
        if (journal === undefined) {
          return yield* corrupt(
            `.logs/${datasetPrefix("", rel)}`,
            `the journal of the open part ${state.open.index} is missing but the checkpoint committed `
              + `${state.open.journalBytes} bytes of it: remove the prefix to start over`
          )
        }
      }
    }

    // Id journals uploaded whole by a finish and no longer logged.
    for (const name of inventory.idJournals) {
      if (logs.has(name)) continue
      yield* downloadWhole(name)
    }

    yield* bucket.remove(bucketName, deletions)
    return { datasets, logs } satisfies Restored
  }).pipe(
    Effect.withSpan("Staging.restore", { attributes: { url: formatKey(options.url.bucket, options.url.prefix) } })
  )

