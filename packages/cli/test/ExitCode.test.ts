import { assert, describe, it } from "@effect/vitest"
import { Exit, FiberId } from "effect"
import { ExitCode, Export } from "../src/index.js"

const exportError = (reason: Export.ExportError["reason"]) =>
  new Export.ExportError({ reason, directory: "/out", detail: "detail" })

describe("ExitCode", () => {
  it("an ExportError is bad input only when the arguments differ from the export in --out", () => {
    assert.strictEqual(ExitCode.forFailure(exportError("ArgumentsDiffer")), ExitCode.ExitCode.BadInput)
    assert.strictEqual(ExitCode.forFailure(exportError("BadCheckpoint")), ExitCode.ExitCode.Failed)
    // Too many objects modified in one millisecond for the search API is HubSpot's data, not the user's input.
    assert.strictEqual(ExitCode.forFailure(exportError("SearchTooDense")), ExitCode.ExitCode.Failed)
    assert.strictEqual(ExitCode.forExit(Exit.fail(exportError("SearchTooDense"))), ExitCode.ExitCode.Failed)
  })

  it("refusals, interruption and success", () => {
    assert.strictEqual(ExitCode.forFailure(new ExitCode.DoneWithRefusals({ refused: 2 })), ExitCode.ExitCode.DoneWithRefusals)
    assert.strictEqual(ExitCode.forExit(Exit.void), ExitCode.ExitCode.Done)
    assert.strictEqual(ExitCode.forExit(Exit.interrupt(FiberId.none)), ExitCode.ExitCode.Interrupted)
  })
})
