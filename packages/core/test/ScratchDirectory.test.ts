import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ScratchDirectory } from "../src/index.js"
import { tempDir } from "../../../test/support/Parts.js"

/** The pid of a process that has ended. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ["-e", ""])
  assert.isFalse(ScratchDirectory.processAlive(child.pid!))
  return child.pid!
}

/** A directory `name` under `parent` holding one file, nothing in it changed for `age`. */
const plant = (parent: string, name: string, age: Duration.DurationInput): string => {
  const directory = path.join(parent, name)
  fs.mkdirSync(directory)
  fs.writeFileSync(path.join(directory, ".checkpoint.json"), "{}")
  const then = new Date(Date.now() - Duration.toMillis(age))
  fs.utimesSync(path.join(directory, ".checkpoint.json"), then, then)
  fs.utimesSync(directory, then, then)
  return directory
}

const longAgo = Duration.sum(ScratchDirectory.abandonedAfter, Duration.minutes(1))

describe("ScratchDirectory", () => {
  it.scopedLive("sweeps the directories of a kind whose process is gone and unchanged for abandonedAfter", () =>
    Effect.gen(function*() {
      const parent = yield* tempDir
      const dead = deadPid()
      const abandoned = plant(parent, `assoc-etl-staging-${dead}-AbC123`, longAgo)
      const recent = plant(parent, `assoc-etl-staging-${dead}-XyZ789`, Duration.minutes(1))
      // One entry changed lately: its run may have written it a moment before it died, or be another
      // container's, whose pids this process does not see.
      const touched = plant(parent, `assoc-etl-staging-${dead}-Touch1`, longAgo)
      fs.writeFileSync(path.join(touched, "part-00000.ndjson"), "")
      const alive = plant(parent, `assoc-etl-staging-${process.ppid}-Alive1`, longAgo)
      const other = plant(parent, `assoc-etl-replica-${dead}-Other1`, longAgo)
      const foreign = plant(parent, `assoc-etl-staging-mine`, longAgo)
      const removed = yield* ScratchDirectory.sweep("staging", parent)
      assert.deepStrictEqual(removed, [abandoned])
      assert.isFalse(fs.existsSync(abandoned))
      for (const kept of [recent, touched, alive, other, foreign]) assert.isTrue(fs.existsSync(kept), kept)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.live("makes a directory named for this process, removed with the scope, sweeping abandoned ones first", () =>
    Effect.gen(function*() {
      const abandoned = plant(os.tmpdir(), `assoc-etl-ids-${deadPid()}-Killed`, longAgo)
      const made = yield* Effect.scoped(Effect.gen(function*() {
        const directory = yield* ScratchDirectory.make("ids")
        assert.strictEqual(path.dirname(directory), os.tmpdir())
        assert.match(path.basename(directory), new RegExp(`^assoc-etl-ids-${process.pid}-[A-Za-z0-9]{6}$`))
        assert.isTrue(fs.statSync(directory).isDirectory())
        fs.writeFileSync(path.join(directory, "ids"), "1\n")
        return directory
      }))
      assert.isFalse(fs.existsSync(made), "removed with its scope")
      assert.isFalse(fs.existsSync(abandoned), "the killed run's directory swept")
      // Not a kind: a programming error, said so.
      const exit = yield* Effect.exit(Effect.scoped(ScratchDirectory.make("../x")))
      assert.isTrue(exit._tag === "Failure")
    }).pipe(Effect.provide(NodeContext.layer)))
})
