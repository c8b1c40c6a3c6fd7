/**
 * The append-only files of a staging directory, mirrored into the bucket as
 * segments (`layout.ts`): each extension uploads the bytes written since the
 * last one as a new segment keyed by its offset, so a log is never rewritten,
 * only extended, and its segments always form one chain from 0.
 *
 * The writer's logs (the open part's journal, errors.ndjson) are extended to
 * the lengths a checkpoint commits (`extend`). An id journal is followed to
 * its size (`follow`), and it may be started afresh under the mirror's feet:
 * an id source opened by a run that resumes nothing removes its journal and
 * lists again. So the mirror holds each followed journal open: a file at its
 * path that is not the one held (another inode; the held one cannot be
 * reused while open), or one shorter than what was uploaded, is a new
 * journal, and its old segments are deleted before the new one is mirrored
 * from 0. Without that, a new listing's bytes would extend an old one's chain.
 *
 * One mirror per staging root, its state under a lock: the sinks of several
 * pairs follow the root's id journals, each at its own commits.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, ExecutionStrategy, Exit, Option, Scope } from "effect"
import * as path from "node:path"
import type { Service } from "../Bucket.js"
import { BucketError } from "../BucketError.js"
import { formatKey } from "../BucketUrl.js"
import { isIdJournal, segmentKey } from "./layout.js"

/** A log as mirrored: its bytes in the bucket (`[0, uploaded)`), and the offsets of its segments. */
export interface LogState {
  readonly uploaded: number
  readonly offsets: ReadonlyArray<number>
}

export interface Mirror {
  /** Uploads bytes `[uploaded, length)` of the log `name` (a path relative to the staging root), if any. */
  readonly extend: (name: string, length: number) => Effect.Effect<void, BucketError>
  /** Uploads what the id journal `name` holds past what was uploaded; a journal started afresh is mirrored anew. */
  readonly follow: (name: string) => Effect.Effect<void, BucketError>
  /** Deletes every segment of the logs `which` picks, and forgets them. */
  readonly drop: (which: (name: string) => boolean) => Effect.Effect<void, BucketError>
}

export interface MirrorOptions {
  readonly bucket: Service
  readonly bucketName: string
  readonly prefix: string
  readonly root: string
  /** The logs as the restore left them: their files are in the staging, as long as `uploaded`. */
  readonly initial: ReadonlyMap<string, LogState>
}

interface Held {
  readonly file: FileSystem.File
  readonly scope: Scope.CloseableScope
}

export const make = (options: MirrorOptions): Effect.Effect<Mirror, BucketError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const outer = yield* Effect.scope
    const lock = yield* Effect.makeSemaphore(1)
    const { bucket, bucketName, prefix } = options
    const logs = new Map(options.initial)
    const held = new Map<string, Held>()
    const fileOf = (name: string) => path.join(options.root, ...name.split("/"))
    const io = (name: string) => (e: PlatformError) =>
      new BucketError({
        reason: "Io",
        url: formatKey(bucketName, `${prefix}${name}`),
        detail: `the staging file ${fileOf(name)} failed: ${e.message}`
      })

    /** Holds the file now at `name`'s path open, and gives its identity. */
    const hold = (name: string) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
        const file = yield* fs.open(fileOf(name), { flag: "r" }).pipe(
          Effect.mapError(io(name)),
          Scope.extend(scope),
          Effect.onError(() => Scope.close(scope, Exit.void))
        )
        held.set(name, { file, scope })
      })
    const release = (name: string) => {
      const h = held.get(name)
      held.delete(name)
      return h === undefined ? Effect.void : Scope.close(h.scope, Exit.void)
    }

    const extendUnlocked = (name: string, length: number) =>
      Effect.suspend(() => {
        const state = logs.get(name) ?? { uploaded: 0, offsets: [] }
        if (length <= state.uploaded) return Effect.void
        const key = segmentKey(prefix, name, state.uploaded)
        return bucket.upload(bucketName, key, fileOf(name), { start: state.uploaded, end: length }).pipe(
          Effect.zipRight(Effect.sync(() => {
            logs.set(name, { uploaded: length, offsets: [...state.offsets, state.uploaded] })
          }))
        )
      })

    const dropUnlocked = (which: (name: string) => boolean) =>
      Effect.suspend(() => {
        const names = [...logs.keys()].filter(which)
        const keys = names.flatMap((name) => logs.get(name)!.offsets.map((offset) => segmentKey(prefix, name, offset)))
        return bucket.remove(bucketName, keys).pipe(
          Effect.zipRight(Effect.sync(() => {
            for (const name of names) logs.delete(name)
          }))
        )
      })

    const follow = (name: string) =>
      Effect.gen(function*() {
        const onDisk = yield* fs.stat(fileOf(name)).pipe(Effect.option)
        const current = held.get(name)
        const uploaded = logs.get(name)?.uploaded ?? 0
        let same = current !== undefined
        if (current !== undefined && Option.isSome(onDisk)) {
          const info = yield* current.file.stat.pipe(Effect.mapError(io(name)))
          const inode = (i: FileSystem.File.Info) => Option.getOrUndefined(i.ino)
          same = inode(info) === inode(onDisk.value) && Number(onDisk.value.size) >= uploaded
        }
        if (!same || Option.isNone(onDisk)) {
          // Started afresh (or removed): the old journal's segments are not this one's.
          yield* release(name)
          if (logs.has(name)) yield* dropUnlocked((n) => n === name)
          if (Option.isNone(onDisk)) return
          yield* hold(name)
        }
        const size = Number((yield* held.get(name)!.file.stat.pipe(Effect.mapError(io(name)))).size)
        yield* extendUnlocked(name, size)
      })

    // The restored journals are held before anything else can start them afresh.
    for (const name of logs.keys()) if (isIdJournal(name)) yield* hold(name)

    return {
      extend: (name, length) => lock.withPermits(1)(extendUnlocked(name, length)),
      follow: (name) => lock.withPermits(1)(follow(name)),
      drop: (which) => lock.withPermits(1)(dropUnlocked(which))
    } satisfies Mirror
  })
