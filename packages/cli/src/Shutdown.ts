/**
 * Ctrl-C and SIGTERM as a request to stop. While a part of the program waits on `requested` (an export does),
 * the first signal is given to it: the export commits what it has and ends, stopped (exit 130 for SIGINT,
 * 143 for SIGTERM), and the same command resumes. With nobody waiting, or at a second signal, the program is
 * interrupted at once; what was committed is kept then too, and the answers not yet committed are asked again.
 */
import { Runtime } from "@effect/platform"
import { Context, Deferred, Effect, Exit, FiberId, Option } from "effect"

export type Signal = "SIGINT" | "SIGTERM"

export class Shutdown extends Context.Tag("@assoc-etl/cli/Shutdown")<Shutdown, {
  /** Completes with the first signal, if it comes while this is awaited. */
  readonly requested: Effect.Effect<Signal>
  /** The first signal received, if any. */
  readonly received: Effect.Effect<Option.Option<Signal>>
}>() {}

export interface Controller {
  readonly service: Shutdown["Type"]
  /** Runs the program as Node's main with this signal policy (in place of NodeRuntime.runMain's). */
  readonly runMain: Runtime.RunMain
}

export const make = (): Controller => {
  const stop = Deferred.unsafeMake<Signal>(FiberId.none)
  let waiting = 0
  let received: Signal | undefined
  const service: Shutdown["Type"] = {
    requested: Effect.acquireUseRelease(
      Effect.sync(() => waiting++),
      () => Deferred.await(stop),
      () => Effect.sync(() => waiting--)
    ),
    received: Effect.sync(() => Option.fromNullable(received))
  }
  const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
    const onSignal = (signal: Signal) => {
      const first = received === undefined
      received ??= signal
      if (first && waiting > 0) Deferred.unsafeDone(stop, Exit.succeed(signal))
      else fiber.unsafeInterruptAsFork(fiber.id())
    }
    const onInt = () => onSignal("SIGINT")
    const onTerm = () => onSignal("SIGTERM")
    process.on("SIGINT", onInt)
    process.on("SIGTERM", onTerm)
    fiber.addObserver((exit) => {
      process.removeListener("SIGINT", onInt)
      process.removeListener("SIGTERM", onTerm)
      clearInterval(keepAlive)
      teardown(exit, (code) => {
        if (code !== 0) process.exit(code)
      })
    })
  })
  return { service, runMain }
}
