#!/usr/bin/env node
/**
 * The `assoc-etl` executable: wiring only. Exit codes are decided in
 * ExitCode.ts, signals in Shutdown.ts; errors are printed by their own
 * messages, which never hold the token.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Exit, Option } from "effect"
import * as Cli from "./Cli.js"
import { DoneWithRefusals, Stopped } from "./CliError.js"
import * as ExitCode from "./ExitCode.js"
import * as Shutdown from "./Shutdown.js"

const shutdown = Shutdown.make()
let signal: Shutdown.Signal | undefined

const program = Effect.suspend(() => Cli.run(process.argv)).pipe(
  // A finalizer, so it runs when a second Ctrl-C or SIGTERM interrupts the program too.
  Effect.onExit((exit) =>
    Effect.gen(function*() {
      signal = Option.getOrUndefined(yield* shutdown.service.received)
      if (Exit.isSuccess(exit)) return
      const cause = exit.cause
      if (Cause.isInterruptedOnly(cause)) {
        return yield* Console.error(
          `\nstopped by ${signal ?? "an interruption"}: what was committed is kept; run the same command again to resume.`
        )
      }
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        // @effect/cli has printed its own message for bad flags; refusals were in the summary.
        if (ValidationError.isValidationError(error) || error instanceof DoneWithRefusals) return
        if (error instanceof Stopped) {
          return yield* Console.error(`${error.message}; run the same command again to resume.`)
        }
        const resumable = ExitCode.resumable(error)
        return yield* Console.error(
          `error: ${error instanceof Error ? error.message : String(error)}${
            resumable ? "\nNothing committed is lost: run the same command again to resume." : ""
          }`
        )
      }
      return yield* Console.error(`unexpected failure (a bug): ${Cause.pretty(cause)}`)
    })
  ),
  Effect.provide(NodeContext.layer),
  Effect.provideService(Shutdown.Shutdown, shutdown.service)
)

shutdown.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(ExitCode.forExit(exit, signal))
})
