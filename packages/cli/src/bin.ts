#!/usr/bin/env node
/**
 * The `assoc-etl` executable: wiring only. Exit codes are decided in
 * ExitCode.ts; errors are printed by their own messages, which never hold the
 * token.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Exit, Option } from "effect"
import { ValidationError } from "@effect/cli"
import * as Cli from "./Cli.js"
import { DoneWithRefusals } from "./CliError.js"
import * as ExitCode from "./ExitCode.js"

const program = Effect.suspend(() => Cli.run(process.argv)).pipe(
  // A finalizer, so it runs when Ctrl-C or SIGTERM interrupts the program too.
  Effect.onExit((exit) => {
    if (Exit.isSuccess(exit)) return Effect.void
    const cause = exit.cause
    if (Cause.isInterruptedOnly(cause)) {
      return Console.error("\nstopped: what was committed is kept; run the same command again to resume.")
    }
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      // @effect/cli has printed its own help for bad flags; refusals were in the summary.
      if (ValidationError.isValidationError(error) || error instanceof DoneWithRefusals) return Effect.void
      const resumable = ExitCode.resumable(error)
      return Console.error(
        `error: ${error instanceof Error ? error.message : String(error)}${
          resumable ? "\nNothing committed is lost: run the same command again to resume." : ""
        }`
      )
    }
    return Console.error(`unexpected failure (a bug): ${Cause.pretty(cause)}`)
  }),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(ExitCode.forExit(exit))
})

