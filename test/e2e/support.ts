/**
 * Running the built CLI as a child process, the way a user or cron does.
 */
import { Checkpoint } from "@assoc-etl/core"
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { assert } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { readNdjson, type Row, rowKey } from "../support/DuckDb.js"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
/** What `assoc-etl` runs: the bundle of the compiled CLI (`pnpm build`). */
export const bin = path.join(root, "packages/cli/dist/assoc-etl.mjs")

export interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>
  readonly stdin?: string
  /** Called once the child started: to kill it, say. */
  readonly onSpawn?: (child: ChildProcess) => void
}

/** Runs `assoc-etl <args>` to its end; never fails (the exit code is the result). */
export const cli = (args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<Ran> =>
  run(process.execPath, [bin, ...args], options)

/** Runs a command to its end without blocking this process (the simulator may be serving in it). */
export const run = (command: string, args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<Ran> =>
  Effect.async<Ran>((resume) => {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v
    const child = spawn(command, args, { cwd: root, env, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => stdout += d)
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d)
    child.stdin.on("error", () => undefined)
    child.stdin.end(options.stdin ?? "")
    child.on("close", (code, signal) => resume(Effect.succeed({ code, signal, stdout, stderr })))
    options.onSpawn?.(child)
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Every file under `dir`, recursively, with its text. */
export const filesOf = (dir: string): ReadonlyArray<{ readonly file: string; readonly text: string }> =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const file = path.join(d.parentPath, d.name)
      return { file, text: fs.readFileSync(file).toString("latin1") }
    })

export const writeIds = (dir: string, ids: ReadonlyArray<string>, name = "ids.txt"): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, ids.map((id) => `${id}\n`).join(""))
  return file
}

export interface ExportHarnessOptions {
  /** The simulator's token, which the tests look for in every output. */
  readonly token: string
  /** The simulator's rolling window: this many requests a second. */
  readonly serverPerSecond: number
  /** The CLI's `--rate-limit`, as the flag spells it. */
  readonly rateLimit: string
}

/**
 * What an e2e test of `export` starts from: a small simulator (400 contacts, 50 associations a page) with the
 * test's token, `export --from contacts --to companies` against it, and the environment with that token.
 */
export const exportHarness = (options: ExportHarnessOptions) => ({
  env: { HUBSPOT_ACCESS_TOKEN: options.token, HUBSPOT_BASE_URL: undefined },
  simulator: (more: Simulator.SimulatorOptions = {}) =>
    Simulator.make({
      objects: 400,
      pageSize: 50,
      token: options.token,
      rateLimit: { max: options.serverPerSecond, windowMillis: 1000 },
      ...more
    }),
  exportArgs: (baseUrl: string, out: string, ...more: ReadonlyArray<string>): ReadonlyArray<string> => [
    "export",
    "--from",
    "contacts",
    "--to",
    "companies",
    "--out",
    out,
    "--base-url",
    baseUrl,
    "--rate-limit",
    options.rateLimit,
    ...more
  ]
})

/** Rows as sorted keys, to compare exports as multisets. */
export const sortedKeys = (rows: Iterable<Row>): ReadonlyArray<string> => [...rows].map(rowKey).sort()

/** Fails unless the NDJSON parts in `out` hold exactly the portal's contacts → companies rows of `ids` (all ids). */
export const assertExact = (out: string, portal: SimulatedPortal.SimulatedPortal, ids?: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const rows = yield* readNdjson(path.join(out, "*.ndjson"))
    const truth = SimulatedPortal.groundTruth(portal, "contacts", "companies", ids)
    assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows))
  })

/** What a checkpoint says is committed, as ids: those done, and those half done with the cursor to go on from. */
export interface CommittedWork {
  readonly done: ReadonlySet<string>
  readonly pending: ReadonlyMap<string, string>
}

/**
 * What a checkpoint file's text (`.checkpoint.json`; none: no checkpoint yet) says is committed, as ids: those
 * done (each first occurrence of an id in `ids`, whose ordinal is the key) and those half done, with the cursor.
 */
export const committedWork = (text: string | undefined, ids: ReadonlyArray<string>): CommittedWork => {
  const done = new Set<string>()
  const pending = new Map<string, string>()
  if (text === undefined) return { done, pending }
  const checkpoint = Schema.decodeUnknownSync(Checkpoint.Checkpoint)(JSON.parse(text).payload)
  const firstKey = new Map<string, number>()
  ids.forEach((id, key) => firstKey.has(id) || firstKey.set(id, key))
  for (const [lo, hi] of checkpoint.done) {
    for (let key = lo; key < hi; key++) if (firstKey.get(ids[key]!) === key) done.add(ids[key]!)
  }
  for (const p of checkpoint.pending) {
    assert.strictEqual(p.id, ids[p.key], "a pending key is the ordinal of its id")
    pending.set(p.id, p.after)
  }
  return { done, pending }
}

/**
 * Fails if work committed before a kill was asked for again: an id done asked at all, or an id half done asked
 * other than from the cursor its checkpoint holds. `asked` are the requests with the run they belong to (the
 * attempt that ended first after each arrived). Gives how many done ids were checked.
 */
export const assertCommittedNotAskedAgain = (
  committed: ReadonlyArray<CommittedWork & { readonly run: number }>,
  asked: ReadonlyArray<{ readonly id: string; readonly after: string | undefined; readonly run: number }>
): number => {
  let checked = 0
  for (const c of committed) {
    const later = asked.filter((a) => a.run > c.run)
    for (const a of later) {
      assert.isFalse(c.done.has(a.id), `run ${a.run} asked ${a.id} again, done before the kill of run ${c.run}`)
      if (c.pending.has(a.id)) assert.isDefined(a.after, `run ${a.run} asked ${a.id} from its start again`)
    }
    for (const [id, after] of c.pending) {
      const first = later.find((a) => a.id === id)
      if (first !== undefined) assert.strictEqual(first.after, after, `run ${first.run} resumed ${id} elsewhere`)
    }
    checked += c.done.size
  }
  return checked
}
