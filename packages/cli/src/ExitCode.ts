/**
 * The exit status of the command line, decided in this one place by the
 * class of what ended the program (DESIGN.md "Command line").
 */
// Deep: the package's index would load the AWS SDK at every start (see Storage.ts).
import * as BucketError from "@assoc-etl/bucket/BucketError"
import { Dataset, Export, IdSource } from "@assoc-etl/core"
import { HubSpotError, HubSpotIdSource } from "@assoc-etl/hubspot"
import { ValidationError } from "@effect/cli"
import { Cause, ConfigError, Exit, Option } from "effect"
import { DoneWithRefusals, InvalidArgument, Stopped } from "./CliError.js"
import { FleetError } from "./fleet/FleetError.js"

export const ExitCode = {
  /** Everything done. */
  Done: 0,
  /** Failed; nothing committed is lost, and a rerun resumes. */
  Failed: 1,
  /** Bad arguments or input: nothing was sent. */
  BadInput: 2,
  /** Done, but the API refused some inputs: see errors.ndjson. */
  DoneWithRefusals: 3,
  /** Stopped by Ctrl-C (SIGINT): what was done is committed, and a rerun resumes. */
  Interrupted: 130,
  /** Stopped by SIGTERM (a scheduler's stop): what was done is committed, and a rerun resumes. */
  Terminated: 143
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const forFailure = (error: unknown): ExitCode => {
  if (error instanceof DoneWithRefusals) return ExitCode.DoneWithRefusals
  if (error instanceof Stopped) return error.signal === "SIGTERM" ? ExitCode.Terminated : ExitCode.Interrupted
  if (error instanceof InvalidArgument || error instanceof Export.ExportError) return ExitCode.BadInput
  if (error instanceof HubSpotError.BaseUrlError) return ExitCode.BadInput
  if (ValidationError.isValidationError(error) || ConfigError.isConfigError(error)) return ExitCode.BadInput
  // A bad line of the user's file is bad input; a file that cannot be read, or a journal, is not.
  // (A missing --ids file is refused by the command line before the source opens.)
  if (error instanceof IdSource.IdSourceError) return error.reason === "BadLine" ? ExitCode.BadInput : ExitCode.Failed
  if (error instanceof Dataset.DatasetError) {
    return error.reason === "NotEmpty" || error.reason === "Mismatch" || error.reason === "NotFinished"
      ? ExitCode.BadInput
      : ExitCode.Failed
  }
  // A bucket that refused before anything was written (its URL, its existence, the credentials, another run's lease,
  // objects of another kind under the prefix) is the user's to fix; a failed request or upload is resumed by a rerun.
  if (error instanceof BucketError.BucketError) {
    return error.reason === "Io" || error.reason === "Corrupt" ? ExitCode.Failed : ExitCode.BadInput
  }
  // Too many objects modified in one millisecond is HubSpot's data, not the user's input: a rerun may pass.
  if (error instanceof HubSpotIdSource.HubSpotIdSourceError) {
    return error.reason === "Since" ? ExitCode.BadInput : ExitCode.Failed
  }
  return ExitCode.Failed
}

/**
 * Whether running the same command again goes on from what is committed: a failure of exit 1, but not a
 * dataset whose checkpoint cannot be read or is not what its files hold (a rerun cannot repair that), nor a fleet
 * job that ended failed (the same job id gives the same result: its message says what to do).
 */
export const resumable = (error: unknown): boolean =>
  forFailure(error) === ExitCode.Failed
  && !(error instanceof Dataset.DatasetError && (error.reason === "Corrupt" || error.reason === "Finished"))
  && !(error instanceof FleetError && error.reason === "JobFailed")
  && !(error instanceof BucketError.BucketError && error.reason === "Corrupt")

/** The exit status of the whole program; `signal` is the one that interrupted it, if any. */
export const forExit = (exit: Exit.Exit<unknown, unknown>, signal?: "SIGINT" | "SIGTERM"): ExitCode => {
  if (Exit.isSuccess(exit)) return ExitCode.Done
  if (Cause.isInterruptedOnly(exit.cause)) return signal === "SIGTERM" ? ExitCode.Terminated : ExitCode.Interrupted
  return Option.match(Cause.failureOption(exit.cause), { onNone: () => ExitCode.Failed, onSome: forFailure })
}
