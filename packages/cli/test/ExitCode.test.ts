import { BucketError } from "@assoc-etl/bucket"
import { Dataset, Export, IdSource } from "@assoc-etl/core"
import { HubSpotError, HubSpotIdSource } from "@assoc-etl/hubspot"
import { assert, describe, it } from "@effect/vitest"
import { Exit, FiberId } from "effect"
import { CliError, ExitCode } from "../src/index.js"

const { BadInput, Done, DoneWithRefusals, Failed, Interrupted, Terminated } = ExitCode.ExitCode

describe("ExitCode", () => {
  it("what the user gave is wrong: 2; what a rerun can get past: 1", () => {
    const cases: ReadonlyArray<readonly [unknown, ExitCode.ExitCode]> = [
      [new Export.ExportError({ reason: "ArgumentsDiffer", detail: "d" }), BadInput],
      [new CliError.InvalidArgument({ flag: "--since", detail: "d" }), BadInput],
      [new HubSpotError.BaseUrlError({ reason: "Insecure", baseUrl: "http://x" }), BadInput],
      [new IdSource.IdSourceError({ reason: "BadLine", path: "ids.txt", line: 3, detail: "d" }), BadInput],
      [new IdSource.IdSourceError({ reason: "Io", path: "ids.txt", detail: "d" }), Failed],
      [new IdSource.IdSourceError({ reason: "Journal", path: ".listed-ids", detail: "d" }), Failed],
      [new Dataset.DatasetError({ reason: "NotEmpty", path: "/out", detail: "d" }), BadInput],
      [new Dataset.DatasetError({ reason: "Mismatch", path: "/out", detail: "d" }), BadInput],
      [new Dataset.DatasetError({ reason: "NotFinished", path: "/since", detail: "d" }), BadInput],
      [new Dataset.DatasetError({ reason: "NoSpace", path: "/out", detail: "d" }), Failed],
      [new Dataset.DatasetError({ reason: "Corrupt", path: "/out", detail: "d" }), Failed],
      [new HubSpotIdSource.HubSpotIdSourceError({ reason: "Since", detail: "d" }), BadInput],
      // Too many objects modified in one millisecond is HubSpot's data, not the user's input.
      [new HubSpotIdSource.HubSpotIdSourceError({ reason: "SearchTooDense", detail: "d" }), Failed],
      [new HubSpotError.HubSpotError({ reason: "Server", method: "POST", path: "/p", status: 503 }), Failed],
      // A bucket refused before anything was sent: the user's to fix. A request that failed: a rerun resumes.
      ...(["BadUrl", "NoSuchBucket", "AccessDenied", "Locked", "NotEmpty", "NotFinished"] as const).map((reason) =>
        [new BucketError.BucketError({ reason, url: "s3://b/p", detail: "d" }), BadInput] as const
      ),
      [new BucketError.BucketError({ reason: "Io", url: "s3://b/p/part-00000.ndjson", detail: "d" }), Failed],
      [new BucketError.BucketError({ reason: "Corrupt", url: "s3://b/p", detail: "d" }), Failed],
      [new Error("a bug"), Failed]
    ]
    for (const [error, code] of cases) {
      assert.strictEqual(ExitCode.forFailure(error), code, String(error))
      assert.strictEqual(ExitCode.forExit(Exit.fail(error)), code, String(error))
    }
  })

  it("a rerun is advised where it goes on from what is committed, not where it cannot repair the directory", () => {
    assert.isTrue(ExitCode.resumable(new HubSpotError.HubSpotError({ reason: "Server", method: "POST", path: "/p" })))
    assert.isTrue(ExitCode.resumable(new Dataset.DatasetError({ reason: "NoSpace", path: "/out", detail: "d" })))
    assert.isFalse(ExitCode.resumable(new Dataset.DatasetError({ reason: "Corrupt", path: "/out", detail: "d" })))
    assert.isFalse(ExitCode.resumable(new Export.ExportError({ reason: "ArgumentsDiffer", detail: "d" })))
    assert.isTrue(ExitCode.resumable(new BucketError.BucketError({ reason: "Io", url: "s3://b/p", detail: "d" })))
    assert.isFalse(ExitCode.resumable(new BucketError.BucketError({ reason: "Corrupt", url: "s3://b/p", detail: "d" })))
    assert.isFalse(ExitCode.resumable(new BucketError.BucketError({ reason: "Locked", url: "s3://b/p", detail: "d" })))
  })

  it("refusals, signals and success", () => {
    assert.strictEqual(ExitCode.forFailure(new CliError.DoneWithRefusals({ refused: 2 })), DoneWithRefusals)
    assert.strictEqual(ExitCode.forExit(Exit.void), Done)
    // A signal that stopped an export after its commit, and one that interrupted the program.
    assert.strictEqual(ExitCode.forFailure(new CliError.Stopped({ signal: "SIGINT" })), Interrupted)
    assert.strictEqual(ExitCode.forFailure(new CliError.Stopped({ signal: "SIGTERM" })), Terminated)
    assert.strictEqual(ExitCode.forExit(Exit.interrupt(FiberId.none)), Interrupted)
    assert.strictEqual(ExitCode.forExit(Exit.interrupt(FiberId.none), "SIGTERM"), Terminated)
    assert.isFalse(ExitCode.resumable(new CliError.Stopped({ signal: "SIGINT" })), "it says so itself")
  })
})
