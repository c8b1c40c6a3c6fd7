import { assert, describe, it } from "@effect/vitest"
import { Exit } from "effect"
import { ExitCode } from "../../src/index.js"
import { FleetError } from "../../src/fleet/FleetError.js"

describe("FleetError", () => {
  it("exit 1; a failed job is not resumed by the same command (its id gives the same result)", () => {
    const failed = new FleetError({ reason: "JobFailed", detail: "job j: 1 of 2 portals failed" })
    const database = new FleetError({ reason: "Database", detail: "cannot reach PostgreSQL at 127.0.0.1:5432/x" })
    for (const error of [failed, database]) {
      assert.strictEqual(ExitCode.forExit(Exit.fail(error)), ExitCode.ExitCode.Failed)
    }
    assert.isFalse(ExitCode.resumable(failed))
    assert.isTrue(ExitCode.resumable(database))
    assert.strictEqual(failed.message, "job j: 1 of 2 portals failed")
  })
})
