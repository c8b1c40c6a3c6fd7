/**
 * Temporary directories of a run (a bucket's staging, a bucket dataset's replica, ids spooled from a stream):
 * removed when the run's scope closes, and, when the process was killed before it could remove them (`kill -9`,
 * the OOM killer, a power cut), by a later run on the machine. Each is named for its process,
 * `assoc-etl-KIND-PID-XXXXXX` in the system's temporary directory, and `make` first removes those of its kind
 * whose process is gone and that nothing has changed for `abandonedAfter` (the time guards a directory shared by
 * machines or containers whose pids this process cannot see). A nightly job killed on a schedule thus leaves at
 * most one staging behind, not one a night.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Duration, Effect, Option, type Scope } from "effect"
import { tmpdir } from "node:os"

/** How long an abandoned directory (its process gone) is left untouched before a later run removes it. */
export const abandonedAfter = Duration.minutes(10)

/** Whether process `pid` of this machine is alive (a process of another user counts as alive). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const kindPattern = /^[a-z]+$/

/** The directories of `kind` (any process), by name: the pid each names. */
const pidOf = (kind: string, name: string): number | undefined => {
  const m = new RegExp(`^assoc-etl-${kind}-(\\d+)-[A-Za-z0-9]{6}$`).exec(name)
  return m === null ? undefined : Number(m[1])
}

/**
 * Removes the directories of `kind` under `directory` (default the system's temporary directory) whose process
 * is gone and in which nothing changed for `abandonedAfter` (the directory and its entries); the paths removed.
 * Best effort: one that cannot be read or removed is left as it is.
 */
export const sweep = (
  kind: string,
  directory: string = tmpdir()
): Effect.Effect<ReadonlyArray<string>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const now = yield* Clock.currentTimeMillis
    const names = yield* fs.readDirectory(directory).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
    const removed: Array<string> = []
    for (const name of names) {
      const pid = pidOf(kind, name)
      if (pid === undefined || pid === process.pid || processAlive(pid)) continue
      const abandoned = path.join(directory, name)
      const changed = yield* lastChange(abandoned)
      if (Option.isNone(changed) || now - changed.value < Duration.toMillis(abandonedAfter)) continue
      const done = yield* fs.remove(abandoned, { recursive: true }).pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
      if (done) removed.push(abandoned)
    }
    if (removed.length > 0) {
      const what = removed.length === 1 ? "a temporary directory" : `${removed.length} temporary directories`
      yield* Effect.logInfo(`removed ${what} of runs killed before they could`).pipe(
        Effect.annotateLogs({ directories: removed.join(" ") })
      )
    }
    return removed
  })

/** When the directory or one of its entries last changed (none when it cannot be read). */
const lastChange = (
  directory: string
): Effect.Effect<Option.Option<number>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const names = yield* fs.readDirectory(directory)
    let last = Option.getOrElse(Option.map((yield* fs.stat(directory)).mtime, (d) => d.getTime()), () => 0)
    for (const name of names) {
      const info = yield* fs.stat(path.join(directory, name))
      if (Option.isSome(info.mtime)) last = Math.max(last, info.mtime.value.getTime())
    }
    return Option.some(last)
  }).pipe(Effect.orElseSucceed(() => Option.none()))

/**
 * A new empty directory of `kind` (lowercase letters: `staging`, `replica`, `ids`) in the system's temporary
 * directory, removed with the scope; abandoned ones of the same kind are swept first (`sweep`).
 */
export const make = (
  kind: string
): Effect.Effect<string, PlatformError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    if (!kindPattern.test(kind)) return yield* Effect.dieMessage(`ScratchDirectory.make: "${kind}" is not a kind`)
    const fs = yield* FileSystem.FileSystem
    const directory = tmpdir()
    yield* sweep(kind, directory)
    return yield* fs.makeTempDirectoryScoped({ directory, prefix: `assoc-etl-${kind}-${process.pid}-` })
  })
