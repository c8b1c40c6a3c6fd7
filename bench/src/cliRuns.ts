/**
 * What the benches that drive the built CLI share: `assoc-etl export` as a child process (wall time, peak RSS,
 * stderr), the simulator in its own process with the same seeded portal here, the ground truth's counts, a
 * finished dataset's rows, temporary directories, and a table of figures against goals.
 */
import { Manifest } from "@assoc-etl/core"
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as PeakRss from "./peakRss.js"
import * as SimulatorProcess from "./simulatorProcess.js"

const here = path.dirname(fileURLToPath(import.meta.url))
export const cli = path.resolve(here, "../../packages/cli/dist/assoc-etl.mjs")

/** The simulator's seed and latency the CLI benches use (as `versus`). */
export const seed = 1
export const latency = "100-300"
/** A CLI run that takes longer is killed and counted as failed, so that the bench ends. */
const runTimeoutMillis = 600_000

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A details line of a scenario: its parts, joined and indented. */
export const say = (...parts: ReadonlyArray<string>) => console.log(`    ${parts.join("")}`)

// ---------------------------------------------------------------------------------------------------------------
// The CLI as a child process

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly wallMillis: number
  readonly peakRssKiB: number
  readonly timedOut: boolean
  /** The CLI's stderr: its log lines and summary. */
  readonly stderr: string
}

export interface CliRun {
  /** Epoch millis of the spawn, on the clock of the simulator's arrival log (one machine). */
  readonly spawnedAt: number
  readonly kill: () => void
  readonly exited: Promise<Exit>
  /** Set once the child has exited. */
  readonly exit: () => Exit | undefined
}

/**
 * `assoc-etl ...args` with the simulator's token (and `env`, say a bucket's AWS_* variables); peak RSS is the
 * child's VmHWM from /proc, polled.
 */
export const startCli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): CliRun => {
  const t0 = performance.now()
  const spawnedAt = Date.now()
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, HUBSPOT_ACCESS_TOKEN: "sim-token", ...env },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  let timedOut = false
  let done: Exit | undefined
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
  const rss = PeakRss.watch(child.pid)
  const timer = setTimeout(() => {
    timedOut = true
    child.kill("SIGKILL")
  }, runTimeoutMillis)
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once("error", reject)
    child.once("exit", (code, signal) => {
      rss.stop()
      clearTimeout(timer)
      done = { code, signal, wallMillis: performance.now() - t0, peakRssKiB: rss.peakKiB(), timedOut, stderr }
      resolve(done)
    })
  })
  return { spawnedAt, kill: () => child.kill("SIGKILL"), exited, exit: () => done }
}

/** How a run ended, for the details lines; prints the end of stderr when it did not exit 0. */
export const ended = (exit: Exit): string => {
  if (exit.code !== 0 && exit.signal === null) say(`CLI stderr (end): ${exit.stderr.slice(-600).trim()}`)
  return exit.timedOut ? "timed out" : exit.signal !== null ? `killed (${exit.signal})` : `exit ${exit.code}`
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator, the ground truth, the dataset

export interface Sim {
  readonly baseUrl: string
  readonly portal: SimulatedPortal.SimulatedPortal
}

/**
 * The simulator in its own process with `flags` (and seed, objects, latency, shape), and the same portal here
 * (`portal` says which version and change window, when the flags set them).
 */
export const withSimulator = <A>(
  options: {
    readonly objects: number
    readonly shape?: SimulatedPortal.PortalShape
    readonly flags: ReadonlyArray<string>
    readonly version?: { readonly version: number; readonly changedAt: number }
  },
  body: (sim: Sim) => Promise<A>
): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const shape = options.shape ?? "typical"
    const version = options.version
    const { baseUrl } = yield* SimulatorProcess.start([
      "--seed", String(seed), "--objects", String(options.objects), "--latency", latency, "--shape", shape,
      ...(version === undefined
        ? []
        : ["--dataset-version", String(version.version), "--changed-at", String(version.changedAt)]),
      ...options.flags
    ])
    const portal = SimulatedPortal.make({
      seed,
      objects: options.objects,
      types: Simulator.defaultTypes,
      shape,
      ...(version === undefined ? {} : version)
    })
    return yield* Effect.promise(() => body({ baseUrl, portal }))
  })))

export type Counters = Simulator.CountersWithArrivals
export const counters = (baseUrl: string): Promise<Counters> => Effect.runPromise(SimulatorProcess.counters(baseUrl))
export const reset = (baseUrl: string): Promise<void> =>
  Effect.runPromise(Effect.asVoid(SimulatorProcess.resetCounters(baseUrl)))

export interface Truth {
  /** `SimulatedPortal.groundTruth(portal, from, to, ids).rows.length`, counted without building the rows. */
  readonly rows: number
  /** Inputs with a cursor that the ids' pages ask for: Σ (pages of an id − 1). */
  readonly continuations: number
  /** Σ pages (an id without associations is one page) = ids + continuations. */
  readonly pages: number
  /** The most pages of one id: ceil(its associations ÷ page size). */
  readonly longestChain: number
  readonly maxAssociations: number
}

export const truthOf = (
  portal: SimulatedPortal.SimulatedPortal,
  pair: { readonly from: string; readonly to: string },
  ids: ReadonlyArray<string>,
  pageSize: number
): Truth => {
  let rows = 0
  let continuations = 0
  let longestChain = 0
  let maxAssociations = 0
  for (const id of ids) {
    const associations = portal.associations(pair.from, pair.to, id)
    for (const a of associations) rows += a.associationTypes.length
    const pages = Math.max(1, Math.ceil(associations.length / pageSize))
    continuations += pages - 1
    longestChain = Math.max(longestChain, pages)
    maxAssociations = Math.max(maxAssociations, associations.length)
  }
  return { rows, continuations, pages: ids.length + continuations, longestChain, maxAssociations }
}

let tempRoot = ""
let tempCount = 0

/** Runs `body` with a temporary root for `tempDir`, removed after. */
export const withTempRoot = async <A>(name: string, body: () => Promise<A>): Promise<A> => {
  tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`))
  try {
    return await body()
  } finally {
    fs.rmSync(tempRoot, { recursive: true, force: true })
  }
}

export const tempDir = (name: string): string => fs.mkdtempSync(path.join(tempRoot, `${name}-${++tempCount}-`))

export const writeIds = (ids: ReadonlyArray<string>): string => {
  const file = path.join(tempDir("ids"), "ids.txt")
  fs.writeFileSync(file, ids.join("\n") + "\n")
  return file
}

/** `manifest.json`'s `totals.rows`, or undefined while the dataset is not finished (or cannot be read). */
export const manifestRows = async (out: string): Promise<number | undefined> => {
  const file = path.join(out, "manifest.json")
  if (!fs.existsSync(file)) return undefined
  const manifest = await Effect.runPromise(Effect.option(Manifest.decodeJson(fs.readFileSync(file, "utf8"))))
  return manifest._tag === "Some" ? manifest.value.totals.rows : undefined
}

// ---------------------------------------------------------------------------------------------------------------
// Rows of the tables

export interface Row {
  readonly scenario: string
  readonly figure: string
  readonly goal: string
  readonly met: boolean
}

export const table = (rows: ReadonlyArray<Row>): string => {
  const head: Row = { scenario: "scenario", figure: "figure measured", goal: "goal", met: true }
  const width = (f: (r: Row) => string) => Math.max(...[head, ...rows].map((r) => f(r).length))
  const ws = [width((r) => r.scenario), width((r) => r.figure), width((r) => r.goal)] as const
  const line = (r: Row, met: string) =>
    `${r.scenario.padEnd(ws[0])} | ${r.figure.padEnd(ws[1])} | ${r.goal.padEnd(ws[2])} | ${met}`
  return [line(head, "met"), ...rows.map((r) => line(r, r.met ? "yes" : "NO"))].join("\n")
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits)
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
export const rowsCheck = (rows: number | undefined, truth: number) =>
  rows === truth ? `rows ${rows} = ground truth` : `rows ${rows ?? "none (no manifest)"} vs ground truth ${truth}`
