import { Cause, Data, Exit, Option } from "effect"

/**
 * The exit status of the command line, decided in this one place
 * (DESIGN.md "Command line").
 */
export const ExitCode = {
  /** Everything done. */
  Done: 0,
  /** Failed; nothing committed is lost, and a rerun resumes. */
  Failed: 1,
  /** Bad arguments or input: nothing was sent. */
  BadInput: 2,
  /** Done, but the API refused some inputs: see errors.ndjson. */
  DoneWithRefusals: 3,
  /** Stopped by Ctrl-C or SIGTERM; a rerun resumes. */
  Interrupted: 130
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** Not an error: the export finished, but the API refused some inputs (exit 3). */
export class DoneWithRefusals extends Data.TaggedError("DoneWithRefusals")<{ readonly refused: number }> {}

/** The tags of errors that mean the user's arguments or input are wrong. */
const badInputTags = new Set(["IdSourceError", "ExportError", "ValidationError", "InvalidArgument", "MissingToken"])

export interface Failure {
  readonly _tag?: string
  readonly reason?: string
}

export const forFailure = (error: Failure): ExitCode => {
  if (error._tag === "DoneWithRefusals") return ExitCode.DoneWithRefusals
  if (error._tag === "DatasetError" && error.reason === "NotEmpty") return ExitCode.BadInput
  if (error._tag === "HubSpotError" && error.reason === "BaseUrl") return ExitCode.BadInput
  if (error._tag === "IdSourceError" && error.reason === "Io") return ExitCode.Failed
  if (error._tag === "ExportError" && error.reason === "BadCheckpoint") return ExitCode.Failed
  // HubSpot's data, not the user's input: a rerun may pass once the objects' modification times spread.
  if (error._tag === "ExportError" && error.reason === "SearchTooDense") return ExitCode.Failed
  return error._tag !== undefined && badInputTags.has(error._tag) ? ExitCode.BadInput : ExitCode.Failed
}

/** The exit status of the whole program. */
export const forExit = (exit: Exit.Exit<unknown, unknown>): ExitCode => {
  if (Exit.isSuccess(exit)) return ExitCode.Done
  if (Cause.isInterruptedOnly(exit.cause)) return ExitCode.Interrupted
  return Option.match(Cause.failureOption(exit.cause), {
    onNone: () => ExitCode.Failed,
    onSome: (e) => forFailure(typeof e === "object" && e !== null ? e as Failure : {})
  })
}
