/**
 * The simulator as a child process (packages/simulator/dist/bin.js), for
 * benchmarks: its event loop and heap are not the benchmark's, so neither a
 * client in the same process nor the benchmark's own bookkeeping (sets of
 * millions of row keys, and their garbage collections) delays its answers.
 * Its counters are read and reset over HTTP.
 */
import type { Simulator } from "@assoc-etl/simulator"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const simulatorBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/simulator/dist/bin.js")

/** Starts the simulator with `bin.js` arguments; stopped when the scope closes. */
export const start = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly baseUrl: string; readonly stop: () => void }, Error>((resume) => {
      const child = spawn(process.execPath, [simulatorBin, ...args], { stdio: ["ignore", "pipe", "inherit"] })
      let out = ""
      child.once("error", (e) => resume(Effect.fail(e)))
      child.once("exit", (code) => resume(Effect.fail(new Error(`the simulator exited ${code} before it served`))))
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8")
        const end = out.indexOf("\n")
        if (end >= 0) resume(Effect.succeed({ baseUrl: out.slice(0, end), stop: () => child.kill("SIGTERM") }))
      })
    }),
    (sim) => Effect.sync(sim.stop)
  )

/** The simulator's `GET /__sim/counters`. */
export const counters = (baseUrl: string) =>
  Effect.promise(() =>
    fetch(`${baseUrl}/__sim/counters`).then((r) => r.json() as Promise<Simulator.CountersWithArrivals>)
  )

/** The simulator's `POST /__sim/counters/reset`. */
export const resetCounters = (baseUrl: string) =>
  Effect.promise(() => fetch(`${baseUrl}/__sim/counters/reset`, { method: "POST" }).then((r) => r.arrayBuffer()))
